// Built by the Layering.upward_include test against the nn area: eval is above nn, so its header
// is not on the include path and this must fail to compile (the test expects exactly that error).
#include "bnrecal/eval/nbsmt_sweep.h"

int layering_upward_include_probe() { return 0; }
