#include "bnrecal/dist/step_queue.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {
// Store keys. The store lives as long as rank 0, so one run's keys never meet another's.
const std::string kPending = "study/pending";
const std::string kNext = "study/next";
const std::string kSubmitted = "study/submitted";
const std::string kAbort = "study/abort";
std::string record_key(int64_t n) { return "study/record/" + std::to_string(n); }
std::string alive_key(int rank) { return "study/alive/" + std::to_string(rank); }
std::string finished_key(int rank) { return "study/finished/" + std::to_string(rank); }
constexpr auto kBeat = std::chrono::seconds(1);
}  // namespace

StepQueue::StepQueue(ProcessGroup& group, const std::vector<std::pair<std::string, nlohmann::json>>& pending)
    : group_(group) {
  if (group.rank() == 0) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [id, spec] : pending) list.push_back({{"step", id}, {"spec", spec}});
    group.store_set(kPending, list.dump());
    pending_ = pending;
  } else {
    const std::optional<std::string> list = group.store_get(kPending, group.options().timeout);
    require(list.has_value(), group.options().describe() + ": rank 0 did not publish the study's steps in time");
    for (const auto& entry : nlohmann::json::parse(*list)) {
      pending_.emplace_back(entry.at("step").get<std::string>(), entry.at("spec"));
    }
  }
  watchdog_ = std::thread([this] { watch(); });
}

StepQueue::~StepQueue() {
  stopping_ = true;
  if (watchdog_.joinable()) watchdog_.join();
}

std::optional<size_t> StepQueue::claim() {
  const int64_t k = group_.store_add(kNext, 1) - 1;
  if (k >= static_cast<int64_t>(pending_.size())) return std::nullopt;
  return static_cast<size_t>(k);
}

void StepQueue::submit(size_t index, const nlohmann::json& record) {
  const int64_t n = group_.store_add(kSubmitted, 1) - 1;
  group_.store_set(record_key(n), nlohmann::json{{"index", index}, {"rank", group_.rank()}, {"record", record}}.dump());
}

void StepQueue::finish() {
  // A rank other than 0 goes quiet first: once rank 0 sees it finished, it may end the job and
  // its store with it, and a heartbeat after that would look like a lost store.
  if (group_.rank() != 0) {
    stopping_ = true;
    if (watchdog_.joinable()) watchdog_.join();
  }
  group_.store_set(finished_key(group_.rank()), "1");
}

void StepQueue::abort(const std::string& message) {
  try {
    group_.store_set(kAbort, "rank " + std::to_string(group_.rank()) + ": " + message);
  } catch (const InputError&) {
    // The store is gone too; the other ranks find that out themselves.
  }
}

std::vector<std::pair<size_t, nlohmann::json>> StepQueue::collect(bool wait_for_all) {
  std::vector<std::pair<size_t, nlohmann::json>> out;
  const int64_t total = static_cast<int64_t>(pending_.size());
  while (collected_ < total) {
    // A submission counts before its record is stored: wait for that record, however briefly.
    const int64_t submitted = group_.store_add(kSubmitted, 0);
    if (collected_ >= submitted && !wait_for_all) break;
    const std::optional<std::string> text = group_.store_get(record_key(collected_), kBeat);
    if (!text) continue;  // the watchdog ends the wait if a rank has died
    const nlohmann::json entry = nlohmann::json::parse(*text);
    nlohmann::json record = entry.at("record");
    record["rank"] = entry.at("rank");
    out.emplace_back(entry.at("index").get<size_t>(), std::move(record));
    ++collected_;
  }
  if (wait_for_all) {  // the store must outlive every rank's last use of it
    for (int r = 1; r < group_.size(); ++r) {
      while (!group_.store_get(finished_key(r), kBeat)) {
      }
    }
  }
  return out;
}

void StepQueue::stop(const std::string& message) {
  std::fprintf(stderr, "bnrecal: error: %s: %s\n", group_.options().describe().c_str(), message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void StepQueue::watch() {
  const int me = group_.rank();
  std::map<int, std::pair<int64_t, std::chrono::steady_clock::time_point>> last_beat;  // rank 0: others' beats
  const auto timeout = group_.options().timeout;
  while (!stopping_) {
    try {
      group_.store_add(alive_key(me), 1);
      if (auto reason = group_.store_get(kAbort, std::chrono::milliseconds(0))) stop("the job was stopped by " + *reason);
      if (me == 0) {
        const auto now = std::chrono::steady_clock::now();
        for (int r = 1; r < group_.size(); ++r) {
          if (group_.store_get(finished_key(r), std::chrono::milliseconds(0))) continue;
          const int64_t beats = group_.store_add(alive_key(r), 0);
          auto it = last_beat.find(r);
          if (it == last_beat.end() || it->second.first != beats) {
            last_beat[r] = {beats, now};
          } else if (now - it->second.second > timeout) {
            const std::string message = "rank " + std::to_string(r) + " has not answered for " +
                                        std::to_string(timeout.count() / 1000) +
                                        " s (it died, or its machine did); finished steps are in the journal, "
                                        "rerun with --resume";
            abort(message);
            stop(message);
          }
        }
      }
    } catch (const InputError& e) {
      stop(std::string("lost the store (rank 0 stopped?): ") + e.what());
    }
    for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(kBeat / 10);
  }
}

}  // namespace bnrecal
