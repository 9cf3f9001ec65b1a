// Emulation: __half is the core's Half (IEEE binary16, round to nearest even).
#pragma once
#include "core/dtype.h"
using __half = aimass::Half;
inline __half __float2half_rn(float f) { return aimass::Half(f); }
inline float __half2float(__half h) { return float(h); }
