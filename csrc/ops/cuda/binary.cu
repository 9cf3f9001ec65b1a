// out = a op b, elementwise. a, b: one dtype, already broadcast to out's shape (stride-0 views),
// any strides; out has that dtype, or bool for comparisons and logical ops.
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/elementwise.h"

namespace aimass::gpu {
namespace {

template <BinaryOp op, typename T, typename Out>
struct BinaryFunctor {
  const T* a;
  const T* b;
  Out* out;
  __device__ void operator()(const int64_t (&off)[3]) const {
    using A = acc_t<T>;
    out[off[0]] = convert<Out>(binary_scalar<op, A>(A(a[off[1]]), A(b[off[2]])));
  }
};

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(binary)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    scalar_ops::visit_binary_op(op, [&](auto op_tag) {
      constexpr BinaryOp o = decltype(op_tag)::value;
      using Out = std::conditional_t<is_comparison(o), bool, T>;
      gpu::launch_elementwise<3>("binary", {&out, &a, &b},
                                 gpu::BinaryFunctor<o, T, Out>{a.data<T>(), b.data<T>(), out.data<Out>()});
    });
  });
}

}  // namespace aimass
