// How the ops report errors to Python. A bnrecal InputError (bad input: an unknown policy, an
// uncalibrated layer, a wrong tensor) crosses into Python as a RuntimeError whose message starts
// with kInputErrorTag; the package (bnrecal/_ops.py) turns it into bnrecal.InputError carrying the
// CLI's message unchanged. Anything else is a bug and stays a plain RuntimeError.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>

#include "bnrecal/core/error.h"

namespace bnrecal::python {

constexpr const char* kInputErrorTag = "[bnrecal.InputError] ";

template <class F>
auto reporting_input_errors(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const InputError& e) {
    throw std::runtime_error(std::string(kInputErrorTag) + e.what());
  }
}

}  // namespace bnrecal::python
