// The kernel layer: one signature per op family, implemented once for CPU (ops/cpu/<family>.cpp)
// and once for CUDA (ops/cuda/<family>.cu). Each kernel is declared once, with its contract, by
// an AIMASS_KERNEL line in its family's header under ops/kernels/ (core/dispatch.h says what the
// line declares); this header includes them all, for the table (ops/kernels.cpp) and for code
// that reaches into many families. Include the family's own header where one is enough.
//
// Kernels trust their arguments: the op layer (ops/*.cpp) has already checked shapes, dtypes and
// devices, broadcast the inputs, and allocated the output. All tensors handed to one kernel call
// live on the same device.
#pragma once
#include "ops/kernels/elementwise.h"
#include "ops/kernels/reduce.h"
#include "ops/kernels/linalg.h"
#include "ops/kernels/index.h"
#include "ops/kernels/random.h"
#include "ops/kernels/softmax.h"
#include "ops/kernels/conv.h"
#include "ops/kernels/pool.h"
#include "ops/kernels/norm.h"
#include "ops/kernels/activation.h"
#include "ops/kernels/loss.h"
#include "ops/kernels/linear.h"
#include "ops/kernels/augment.h"
#include "ops/kernels/optim.h"
#include "ops/kernels/knn.h"
#include "ops/kernels/quant.h"
