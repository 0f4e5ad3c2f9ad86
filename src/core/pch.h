// Precompiled header for the library, CLI and tests: <torch/torch.h> alone costs ~20 s per file.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <memory>
