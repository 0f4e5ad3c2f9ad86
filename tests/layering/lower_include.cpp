// Built by the Layering.lower_include test against the nn area: a lower area's header (core) is
// visible, so this compiles.
#include "bnrecal/core/name_match.h"

bool layering_lower_include_probe() { return bnrecal::name_matches("a*", "ab"); }
