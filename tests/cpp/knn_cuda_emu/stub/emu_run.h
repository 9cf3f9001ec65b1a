// Emulation of emu_run, the stand-in transform.py writes for each <<<grid, block, smem>>> launch.
#pragma once
#include "cuda_runtime.h"
template <class F>
void emu_run(F fn, dim3 grid, dim3 block, size_t smem = 0) { emu_launch(grid, block, smem, fn); }
