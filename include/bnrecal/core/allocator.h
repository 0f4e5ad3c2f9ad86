// Allocator tuning every program that runs libtorch inference should apply first.
//
//   int main() { bnrecal::tune_allocator(); ... }
#pragma once

namespace bnrecal {

// glibc returns large freed blocks to the OS on every free, so libtorch's CPU inference spends
// most of its time in page faults on fresh activations. Keeps them instead (measured 4-6x on
// this project's evaluations). Call before the first large allocation.
void tune_allocator();

}  // namespace bnrecal
