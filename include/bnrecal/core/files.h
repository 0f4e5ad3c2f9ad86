// File helpers: whole-file reads and atomic writes.
//
//   bnrecal::write_file_atomic("out.json", text);  // out.json is either old or new, never partial
#pragma once
#include <string>

namespace bnrecal {

// Reads a whole file; throws InputError naming the path if it cannot be read.
std::string read_file(const std::string& path);

// Writes to "<path>.tmp.<pid>" then renames over path, so readers never see a partial file
// and an interrupted run leaves the previous file intact. Throws InputError on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

bool file_exists(const std::string& path);

}  // namespace bnrecal
