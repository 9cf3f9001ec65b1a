// Differentiable ops: each calls the op of csrc/ops and, when an input requires grad and
// grad mode is on, records a Node whose backward is written in terms of the same ops.
// The bindings call these, so everything reachable from Python is differentiable.
#pragma once
// One header and source per family, mirroring csrc/ops; each source holds the forward functions
// beside their backward Nodes. What they share: autograd/function_util.h (internal).
#include "autograd/activation.h"
#include "autograd/conv.h"
#include "autograd/convert.h"
#include "autograd/dropout.h"
#include "autograd/elementwise.h"
#include "autograd/fake_quant.h"
#include "autograd/index.h"
#include "autograd/linalg.h"
#include "autograd/linear.h"
#include "autograd/loss.h"
#include "autograd/nn.h"
#include "autograd/norm.h"
#include "autograd/pool.h"
#include "autograd/reduce.h"
#include "autograd/shape.h"
