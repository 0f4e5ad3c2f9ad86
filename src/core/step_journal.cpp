#include "bnrecal/core/step_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/json_config.h"

namespace bnrecal {

StepJournal::StepJournal(std::string path, const nlohmann::json& header, JournalMode mode) : path_(std::move(path)) {
  if (mode == JournalMode::kRead) {
    load(header);
    return;
  }
  lock_folder();
  if (file_exists(path_)) {
    require(mode == JournalMode::kResume,
            "'" + path_ + "' already exists: pass --resume to continue that run, or choose another output");
    const size_t complete = load(header);
    if (dropped_ && ::truncate(path_.c_str(), static_cast<off_t>(complete)) != 0) {
      throw InputError("cannot truncate '" + path_ + "': " + std::strerror(errno));
    }
    return;
  }
  // Header first, into a temporary file renamed into place: a journal always has its header.
  write_file_atomic(path_, header.dump() + "\n");
}

StepJournal::OwnedFd::~OwnedFd() {
  if (fd >= 0) ::close(fd);  // releases the lock
}

void StepJournal::lock_folder() {
  std::filesystem::path folder = std::filesystem::path(path_).parent_path();
  if (folder.empty()) folder = ".";
  std::filesystem::create_directories(folder);
  folder_lock_.fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder_lock_.fd < 0) throw InputError("cannot open folder '" + folder.string() + "': " + std::strerror(errno));
  if (::flock(folder_lock_.fd, LOCK_EX | LOCK_NB) != 0) {
    throw InputError("'" + folder.string() + "' is in use by another run (it holds the lock on the folder); wait "
                     "for it or choose another output");
  }
}

size_t StepJournal::load(const nlohmann::json& header) {
  const std::string text = read_file(path_);
  size_t start = 0, complete = 0;  // complete: bytes of whole lines
  int line_no = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // torn: the process died inside the write
      dropped_ = 1;
      break;
    }
    const std::string where = path_ + ":" + std::to_string(++line_no);
    nlohmann::json j = parse_json(std::string_view(text).substr(start, end - start), where);
    if (line_no == 1) {
      require(j == header, "'" + path_ + "' was written for another configuration; resume it with that "
                           "configuration, or choose another output");
    } else {
      require(j.is_object() && j.contains("step") && j["step"].is_string(), where + ": a record without \"step\"");
      require(!done(j["step"]), where + ": step '" + j["step"].get<std::string>() + "' recorded twice");
      records_.push_back(std::move(j));
    }
    start = complete = end + 1;
  }
  require(line_no >= 1, "'" + path_ + "' has no header line; remove it to start again");
  return complete;
}

bool StepJournal::done(const std::string& step) const {
  for (const auto& r : records_) {
    if (r["step"] == step) return true;
  }
  return false;
}

void StepJournal::append(const std::string& step, nlohmann::json record) {
  require(!done(step), "step '" + step + "' is already in '" + path_ + "'");
  nlohmann::json line = {{"step", step}};
  if (!record.is_null()) line.update(record);
  write_line(line.dump() + "\n");
  records_.push_back(std::move(line));
}

void StepJournal::write_line(const std::string& line) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw InputError("cannot open '" + path_ + "' for appending: " + std::strerror(errno));
  // One write() of the whole line: with O_APPEND a kill leaves either nothing or a prefix of it.
  const ssize_t n = ::write(fd, line.data(), line.size());
  const bool ok = n == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) throw InputError("cannot append to '" + path_ + "': " + std::strerror(saved));
}

}  // namespace bnrecal
