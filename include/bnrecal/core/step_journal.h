// An append-only JSON-lines journal of finished steps, so a long study can be killed at any moment
// and resumed without losing or repeating a step.
//
//   bnrecal::StepJournal journal("out/journal.jsonl", {{"config", config}}, JournalMode::kResume);
//   for (const Step& s : steps) {
//     if (journal.done(s.id)) continue;
//     journal.append(s.id, run(s));   // one complete line, flushed to disk before it returns
//   }
//
// Line 1 is the header (what the steps belong to, e.g. the study's configuration); every further
// line is {"step": ID, ...record}. A record is written with a single write() of the whole line and
// fsync'ed, so a kill leaves at most one torn last line; opening the journal drops such a line
// (it belonged to a step that never finished) and truncates the file to its complete lines.
// A writing journal holds an exclusive lock on its folder for its lifetime, so two runs can never
// append to one journal (the second is refused at once, not interleaved).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

enum class JournalMode {
  kCreate,  // a new journal; InputError when the file exists (nothing is overwritten)
  kResume,  // reopen an existing one (or create it), dropping a torn last line
  kRead,    // look only: no lock, no truncation, a torn last line is skipped but left in place
};

class StepJournal {
 public:
  // InputError when the header differs from `header` (it belongs to another configuration), when
  // a complete line is not a record, or when another process is writing to the folder.
  StepJournal(std::string path, const nlohmann::json& header, JournalMode mode);

  bool done(const std::string& step) const;
  // Finished records in the order they were appended.
  const std::vector<nlohmann::json>& records() const { return records_; }
  // Appends {"step": step} merged with record (an object, or null for none); InputError when step
  // is already recorded.
  void append(const std::string& step, nlohmann::json record);
  const std::string& path() const { return path_; }
  // The lines a torn write left behind and opening dropped (0 or 1).
  int dropped_lines() const { return dropped_; }

 private:
  void lock_folder();
  // Reads the records; returns the length in bytes of the complete lines.
  size_t load(const nlohmann::json& header);
  void write_line(const std::string& line);
  std::string path_;
  // The locked folder's descriptor; a member with its own destructor, so that a constructor that
  // throws after locking still releases the lock.
  struct OwnedFd {
    int fd = -1;
    OwnedFd() = default;
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    ~OwnedFd();
  } folder_lock_;
  std::vector<nlohmann::json> records_;
  int dropped_ = 0;
};

}  // namespace bnrecal
