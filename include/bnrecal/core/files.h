// File helpers: whole-file reads and atomic writes.
//
//   bnrecal::write_file_atomic("out.json", text);  // out.json is either old or new, never partial
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

bool file_exists(const std::string& path);
// The size in bytes of a file; InputError naming the path when it cannot be read.
int64_t file_size(const std::string& path);

}  // namespace bnrecal
