#include "bnrecal/core/files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

#include "bnrecal/core/error.h"

namespace bnrecal {

std::string read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw InputError("'" + path + "' is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

// Removes "<path>.tmp.<pid>" files that a killed writer left behind (see files.h).
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    const bool dead = pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
    struct stat st {};
    const bool old = ::stat(entry.path().c_str(), &st) == 0 && std::time(nullptr) - st.st_mtime > 600;
    if (dead && old) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, {std::string_view(bytes)});
}

void write_file_atomic(const std::string& path, std::initializer_list<std::string_view> pieces) {
  AtomicFileWriter out(path);
  for (std::string_view piece : pieces) out.append(piece);
  out.commit();
}

AtomicFileWriter::AtomicFileWriter(std::string path, bool sync)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())), sync_(sync) {
  remove_stale_temporaries(path_);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError("cannot write '" + tmp_ + "': " + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ < 0) return;  // committed, or failed and cleaned up
  ::close(fd_);
  std::remove(tmp_.c_str());
}

void AtomicFileWriter::append(std::string_view bytes) {
  if (fd_ < 0) throw std::logic_error("AtomicFileWriter: append after commit or failure");
  const int64_t start = offset_;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = n < 0 ? std::strerror(errno) : "no progress";
      ::close(fd_);
      fd_ = -1;
      std::remove(tmp_.c_str());
      throw InputError("failed writing '" + tmp_ + "' (disk full?): " + reason);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset_ += n;
  }
#ifdef __linux__
  // Start the disk on these bytes now (asynchronously); commit's fsync then waits for less.
  if (sync_ && offset_ > start) ::sync_file_range(fd_, start, offset_ - start, SYNC_FILE_RANGE_WRITE);
#endif
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw std::logic_error("AtomicFileWriter: commit twice or after a failure");
  // fsync before rename so a crash cannot leave a renamed but empty file.
  const bool flushed = !sync_ || ::fsync(fd_) == 0;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!flushed || !closed) {
    std::remove(tmp_.c_str());
    throw InputError("failed writing '" + tmp_ + "' (disk full?)");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp_.c_str());
    throw InputError("cannot rename '" + tmp_ + "' to '" + path_ + "': " + reason);
  }
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError("cannot read '" + path + "': " + std::strerror(errno));
  return static_cast<int64_t>(st.st_size);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace bnrecal
