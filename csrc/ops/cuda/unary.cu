// out = op(in), elementwise. in and out: same shape, any strides; out is in's dtype, or bool
// for LogicalNot. Arithmetic in acc_t<T> (float for float16 / bfloat16).
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/elementwise.h"

namespace aimass::gpu {
namespace {

template <UnaryOp op, typename T, typename Out>
struct UnaryFunctor {
  const T* in;
  Out* out;
  __device__ void operator()(const int64_t (&off)[2]) const {
    using A = acc_t<T>;
    out[off[0]] = convert<Out>(unary_scalar<op, A>(A(in[off[1]])));
  }
};

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(unary)(UnaryOp op, const Tensor& in, const Tensor& out) {
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    scalar_ops::visit_unary_op(op, [&](auto op_tag) {
      constexpr UnaryOp o = decltype(op_tag)::value;
      using Out = std::conditional_t<o == UnaryOp::LogicalNot, bool, T>;
      gpu::launch_elementwise<2>("unary", {&out, &in}, gpu::UnaryFunctor<o, T, Out>{in.data<T>(), out.data<Out>()});
    });
  });
}

}  // namespace aimass
