// Error types shared by the whole library.
//
//   if (!file) throw bnrecal::InputError("cannot open '" + path + "'");
//
// InputError: the user's input or configuration is wrong (CLI exit code 1).
// UsageError: the command line itself is malformed (CLI exit code 2).
// Broken internal invariants use TORCH_CHECK / std::logic_error and are bugs.
#pragma once
#include <stdexcept>
#include <string>

namespace bnrecal {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InputError(message) when condition is false.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw InputError(message);
}

// Runs read() and turns a parser's exception E (e.g. nlohmann::json::exception for a JSON value of
// the wrong type) into an InputError prefixed with context: bad input, not an internal error.
template <class E, class F>
auto with_input_errors(const std::string& context, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const E& e) {
    throw InputError(context + e.what());
  }
}

}  // namespace bnrecal
