// Shared declarations of the binding files. Bindings convert between Python and C++ and
// hold no logic: every rule lives in csrc/core and csrc/ops.
#pragma once
#include <optional>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/scalar.h"
#include "core/tensor.h"

namespace aimass::bindings {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_tensor(py::module_& m);
void bind_ops(py::module_& m);
void bind_creation(py::module_& m);
void bind_interop(py::module_& m);
void bind_runtime(py::module_& m);
void bind_autograd(py::module_& m);
// aimass._core.functional: the neural-network ops behind am.nn.functional, one file per family.
void bind_functional_conv(py::module_& f);  // conv, pooling
void bind_functional_norm(py::module_& f);  // normalisation, dropout, activations
void bind_functional_loss(py::module_& f);  // losses, linear
void bind_nn(py::module_& m);               // aimass._core.nn: Module and the native layers
void bind_optim(py::module_& m);            // aimass._core.optim: optimizers, schedules, clipping
void bind_metrics(py::module_& m);          // aimass._core.metrics
void bind_data(py::module_& m);             // aimass._core.data: batching, shuffling, prefetch, augmentation
void bind_training(py::module_& nn);        // aimass._core.nn: the native fit / evaluate / predict loop
void bind_knn(py::module_& m);              // aimass._core.knn: k-nearest-neighbour indexes
void bind_serve(py::module_& m);            // aimass._core.serve: the dynamic batcher
// aimass._core.quant: quantisation ops and observers; the quantised layers in aimass._core.nn
void bind_quant(py::module_& quant, py::module_& nn);
void bind_qat(py::module_& quant, py::module_& nn);  // fake quantisation ops; the QAT layers in aimass._core.nn
void bind_prune(py::module_& quant);        // aimass._core.quant: pruning masks
void bind_distill(py::module_& quant);      // aimass._core.quant: distillation pair, loss, metrics
// aimass._core.hpo: the native halves of am.hpo's samplers and pruners (hpo/*.h)
void bind_hpo(py::module_& hpo);           // Pareto ranks and hypervolume
void bind_hpo_tpe(py::module_& hpo);       // TPE, random, grid and QMC samplers
void bind_hpo_evolution(py::module_& hpo); // CMA-ES, NSGA-II and the Gaussian-process sampler
void bind_hpo_pruners(py::module_& hpo);   // pruners and parameter importances

// Python value -> C++ value conversions used across the binding files.
DType to_dtype_arg(const py::object& dtype);                 // am.float32, "float32", np.float32, np.dtype
Device to_device_arg(const py::object& device);              // "cuda:0", am.Device, None -> cpu
// A Python integer (or object with __index__) as int64; nullopt when it does not fit (2**70).
std::optional<int64_t> to_int64(const py::handle& v);
Shape to_shape_arg(const py::object& shape);                 // int or sequence of ints
bool is_python_scalar(const py::handle& obj);                // bool, int or float (NumPy scalars included)
Scalar to_scalar(const py::handle& obj);
Tensor from_numpy(py::array array);                          // zero-copy where the layout allows
Tensor to_tensor(const py::handle& obj, const Tensor* like); // Tensor, scalar, array or nested list
py::object to_numpy(const Tensor& x);                        // zero-copy view of a CPU tensor
py::object scalar_to_python(const Scalar& s);

// Runs f with the GIL released: kernels take long enough that other Python threads should run.
template <typename F>
auto without_gil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

}  // namespace aimass::bindings
