#include "bnrecal/dist/process_group.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int64_t environment_integer(const char* name, const std::string& text) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text.size() && !text.empty(), std::string(name) + " must be an integer, got '" + text + "'");
  return value;
}

// The first of the names that is set.
std::optional<std::pair<const char*, std::string>> first_set(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto value = environment(name)) return std::make_pair(name, *value);
  }
  return std::nullopt;
}

// Gloo binds its sockets to one address: the interface GLOO_SOCKET_IFNAME names (as in PyTorch),
// loopback for a job on 127.0.0.1, else the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistOptions& options) {
  if (auto interface = environment("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(*interface);
  }
  if (options.master_addr == "127.0.0.1" || options.master_addr == "localhost") {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// c10d reports a lost peer or a timeout as c10::Error with a long backtrace; keep its first line.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string DistOptions::describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (store " + master_addr + ":" +
         std::to_string(master_port) + ")";
}

DistOptions dist_options_from_environment() {
  DistOptions o;
  const auto rank = first_set({"RANK", "SLURM_PROCID"});
  const auto world = first_set({"WORLD_SIZE", "SLURM_NTASKS"});
  if (!rank && !world) return o;
  require(rank && world, std::string(rank ? rank->first : world->first) + " is set but " +
                             (rank ? "WORLD_SIZE" : "RANK") + " is not: set both (or neither, for one process)");
  const int64_t r = environment_integer(rank->first, rank->second);
  const int64_t w = environment_integer(world->first, world->second);
  require(w >= 1 && w <= 4096, std::string(world->first) + " must be in 1..4096, got " + world->second);
  require(r >= 0 && r < w, std::string(rank->first) + " must be in 0.." + std::to_string(w - 1) + ", got " + rank->second);
  o.rank = static_cast<int>(r);
  o.world_size = static_cast<int>(w);
  if (auto addr = environment("MASTER_ADDR")) o.master_addr = *addr;
  if (auto port = environment("MASTER_PORT")) {
    const int64_t p = environment_integer("MASTER_PORT", *port);
    require(p >= 1 && p <= 65535, "MASTER_PORT must be in 1..65535, got " + *port);
    o.master_port = static_cast<int>(p);
  }
  if (auto timeout = environment("BNRECAL_DIST_TIMEOUT")) {
    const int64_t s = environment_integer("BNRECAL_DIST_TIMEOUT", *timeout);
    require(s >= 1, "BNRECAL_DIST_TIMEOUT must be at least 1 (seconds), got " + *timeout);
    o.timeout = std::chrono::seconds(s);
  }
  return o;
}

struct ProcessGroup::State {
  DistOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

ProcessGroup::ProcessGroup(std::unique_ptr<State> state) : state_(std::move(state)) {}
ProcessGroup::~ProcessGroup() = default;
int ProcessGroup::rank() const { return state_->options.rank; }
int ProcessGroup::size() const { return state_->options.world_size; }
const DistOptions& ProcessGroup::options() const { return state_->options; }

std::unique_ptr<ProcessGroup> join_process_group(const DistOptions& options) {
  auto state = std::make_unique<ProcessGroup::State>();
  state->options = options;
  const std::string where = options.describe();
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    state->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
  } catch (const std::exception& e) {
    throw InputError(where + ": cannot " + (options.rank == 0 ? "serve" : "reach") + " the store within " +
                     std::to_string(options.timeout.count() / 1000) + " s: " + first_line(e.what()));
  }
  try {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(gloo_device(options));
    gloo_options->threads = 2;
    state->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(state->store, options.rank, options.world_size,
                                                              gloo_options);
  } catch (const std::exception& e) {
    throw InputError(where + ": the process group did not form: " + first_line(e.what()));
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(state)));
}

std::vector<std::string> ProcessGroup::all_gather(const std::string& local) {
  const int n = size();
  try {
    // Gloo gathers equal-sized tensors: the sizes first, then every buffer padded to the largest.
    std::vector<at::Tensor> size_in{at::full({1}, static_cast<int64_t>(local.size()), at::kLong)};
    std::vector<std::vector<at::Tensor>> size_out(1);
    for (int r = 0; r < n; ++r) size_out[0].push_back(at::empty({1}, at::kLong));
    state_->gloo->allgather(size_out, size_in)->wait();
    int64_t largest = 1;
    for (const auto& t : size_out[0]) largest = std::max(largest, t.item<int64_t>());
    at::Tensor buffer = at::zeros({largest}, at::kByte);
    std::memcpy(buffer.data_ptr<uint8_t>(), local.data(), local.size());
    std::vector<at::Tensor> data_in{buffer};
    std::vector<std::vector<at::Tensor>> data_out(1);
    for (int r = 0; r < n; ++r) data_out[0].push_back(at::empty({largest}, at::kByte));
    state_->gloo->allgather(data_out, data_in)->wait();
    std::vector<std::string> all;
    for (int r = 0; r < n; ++r) {
      const auto* bytes = reinterpret_cast<const char*>(data_out[0][static_cast<size_t>(r)].data_ptr<uint8_t>());
      all.emplace_back(bytes, static_cast<size_t>(size_out[0][static_cast<size_t>(r)].item<int64_t>()));
    }
    return all;
  } catch (const std::exception& e) {  // c10::Error, or gloo::IoException for a closed connection
    throw InputError(options().describe() + ": lost the other ranks (a rank stopped, or did not answer within " +
                     std::to_string(options().timeout.count() / 1000) + " s): " + first_line(e.what()));
  }
}

void ProcessGroup::barrier() { all_gather(std::string()); }

void ProcessGroup::store_set(const std::string& key, const std::string& value) {
  const std::lock_guard<std::mutex> lock(store_mutex_);
  try {
    state_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    throw InputError(options().describe() + ": lost the store: " + first_line(e.what()));
  }
}

std::optional<std::string> ProcessGroup::store_get(const std::string& key, std::chrono::milliseconds wait) {
  // Polls rather than blocking in the store, so that other threads keep their turn on the connection.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    {
      const std::lock_guard<std::mutex> lock(store_mutex_);
      try {
        if (state_->store->check({key})) {
          const std::vector<uint8_t> value = state_->store->get(key);
          return std::string(value.begin(), value.end());
        }
      } catch (const std::exception& e) {
        throw InputError(options().describe() + ": lost the store: " + first_line(e.what()));
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int64_t ProcessGroup::store_add(const std::string& key, int64_t delta) {
  const std::lock_guard<std::mutex> lock(store_mutex_);
  try {
    return state_->store->add(key, delta);
  } catch (const std::exception& e) {
    throw InputError(options().describe() + ": lost the store: " + first_line(e.what()));
  }
}

}  // namespace bnrecal
