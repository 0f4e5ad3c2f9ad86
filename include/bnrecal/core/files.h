// File helpers: whole-file reads and atomic writes.
//
//   bnrecal::write_file_atomic("out.json", text);  // out.json is either old or new, never partial
//
//   bnrecal::AtomicFileWriter out("y.bin");        // or a file written while it is produced
//   for (...) out.append(block);                   // the disk starts writing each block now
//   out.commit();                                  // fsync, rename; no commit: nothing appears
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace bnrecal {

// Reads a whole file; throws InputError naming the path if it cannot be read.
std::string read_file(const std::string& path);

// Writes to "<path>.tmp.<pid>" then renames over path, so readers never see a partial file
// and an interrupted run leaves the previous file intact. Throws InputError on failure.
// A killed writer's "<path>.tmp.<pid>" is removed by the next write of path (its pid is gone
// and it has not changed for 10 minutes: on a shared folder the pid may belong to another host).
void write_file_atomic(const std::string& path, const std::string& bytes);
// The same for a file made of several pieces written one after the other (no joined copy).
void write_file_atomic(const std::string& path, std::initializer_list<std::string_view> pieces);

// The streaming form of write_file_atomic: pieces are written to "<path>.tmp.<pid>" as they are
// appended, and on Linux the disk's writeback of each piece is started at once (sync_file_range),
// so the fsync in commit() finds most of the file already on disk; a producer that appends while it
// computes hides most of the disk's time. commit() syncs (unless `sync` is false: the rename is
// still atomic for readers, but after a power failure the file may be empty) and renames over
// path; a writer destroyed without commit() removes its temporary. InputError on failure.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path, bool sync = true);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void append(std::string_view bytes);
  void commit();
  int64_t bytes_written() const { return offset_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  int64_t offset_ = 0;
  bool sync_;
};

bool file_exists(const std::string& path);
// The size in bytes of a file; InputError naming the path when it cannot be read.
int64_t file_size(const std::string& path);

}  // namespace bnrecal
