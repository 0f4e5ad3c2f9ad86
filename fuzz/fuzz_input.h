// Shared by the fuzz targets: the input as a file (most readers take a path), and the rule every
// target checks: a reader may refuse its input only with InputError (or libtorch's c10::Error,
// which the CLI also reports as bad input, exit 1). Any other exception is a finding: it would
// reach the user as "internal error".
#pragma once
#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bnrecal/core/error.h"

namespace bnrecal::fuzz {

// A file in $TMPDIR (or /tmp) holding the input, rewritten on every call; `name` keeps the
// extension or file name a reader may look at.
// The per-process temporary path for `name` (a file or a folder).
inline std::string temp_path(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/bnrecal-fuzz-" + std::to_string(::getpid()) + "-" + name;
}

inline std::string as_file(const uint8_t* data, size_t size, const std::string& name = "input") {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  return path;
}

template <class F>
void expect_clean_refusal(F&& read) {
  try {
    read();
  } catch (const InputError&) {
  } catch (const c10::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: a reader threw %s, not InputError: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

}  // namespace bnrecal::fuzz
