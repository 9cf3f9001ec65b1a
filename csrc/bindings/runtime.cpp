// Threads, devices, the CUDA runtime and build information.
#include "bindings/bindings.h"
#include "autograd/functions.h"
#include "core/cpu_isa.h"
#include "core/device_api.h"
#include "core/dispatch.h"
#include "core/info.h"
#include "core/parallel.h"
#include "ops/convert.h"
#include "ops/cpu/weight_pack_cache.h"

namespace aimass::bindings {

void bind_runtime(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Threads for CPU kernels and the BLAS; n <= 0 restores the default (AIMASS_NUM_THREADS, else all cores).");
  m.def("get_num_threads", &num_threads);
  m.def("version", &version);
  // Test hooks of the CPU linear kernel's packed-weight cache (ops/cpu/weight_pack_cache.h).
  m.def("_weight_pack_count", &cpu::weight_pack_count);
  m.def("_weight_pack_cache_entries", &cpu::weight_pack_cache_entries);
  m.def("_clear_weight_pack_cache", &cpu::clear_weight_pack_cache);
  m.def("cuda_built", &cuda_built);
  m.def("cuda_toolkit_version", &cuda_toolkit_version);
  m.def("blas_config", &blas_config);
  m.def("cpu_simd_level", &cpu_simd_level);
  m.def("kernel_names", &kernel_names, "the registered kernels (ops/kernels/*.h), in declaration order");
  m.def("get_cpu_isa", &cpu_simd_level, "The CPU kernels' instruction set: 'baseline', 'avx2' or 'avx512'.");
  m.def("cpu_isa_limit", []() { return cpu_isa_name(cpu_isa_limit()); },
        "The highest level set_cpu_isa accepts: the CPU's, lowered by AIMASS_CPU_ISA.");
  m.def("set_cpu_isa", [](const std::string& level) { set_cpu_simd_level(level.c_str()); }, py::arg("level"),
        "Switches the CPU kernels to 'baseline', 'avx2' or 'avx512' (ValueError above cpu_isa_limit()).");
  m.def("set_isa_dispatch_counting", &set_isa_dispatch_counting, py::arg("on"));  // the tests' hook
  m.def("isa_dispatch_count", [](const std::string& site, const std::string& level) {
    return isa_dispatch_count(site.c_str(), cpu_isa_from_name(level.c_str()));
  }, py::arg("site"), py::arg("level"));

  m.def("to", [](const Tensor& x, const py::object& device, const py::object& dtype, bool copy) {
    Tensor t = dtype.is_none() ? x : autograd::to_dtype(x, to_dtype_arg(dtype), copy);
    bool copied = !t.is_same(x);
    return device.is_none() ? t : autograd::to_device(t, to_device_arg(device), copy && !copied);
  }, py::arg("x"), py::arg("device") = py::none(), py::arg("dtype") = py::none(), py::arg("copy") = false);

  py::module_ cuda = m.def_submodule("cuda", "The CUDA backend, loaded on first use.");
  cuda.def("is_available", &cuda_is_available);
  cuda.def("unavailable_reason", &cuda_unavailable_reason);
  cuda.def("device_count", []() { return cuda_is_available() ? cuda_api().device_count() : 0; });
  cuda.def("device_name", [](int i) { check_device(Device(DeviceType::CUDA, i)); return cuda_api().device_name(i); },
           py::arg("device") = 0);
  cuda.def("synchronize", [](int i) {
    check_device(Device(DeviceType::CUDA, i));
    py::gil_scoped_release release;
    cuda_api().synchronize(i);
  }, py::arg("device") = 0);
  cuda.def("memory_allocated", [](int i) { return cuda_is_available() ? cuda_api().memory_allocated(i) : 0; },
           py::arg("device") = 0);
  cuda.def("memory_reserved", [](int i) { return cuda_is_available() ? cuda_api().memory_reserved(i) : 0; },
           py::arg("device") = 0);
  cuda.def("empty_cache", []() { if (cuda_is_available()) cuda_api().empty_cache(); });
  cuda.def("versions", []() {
    DeviceApi& api = cuda_api();
    py::dict d;
    d["runtime"] = api.runtime_version();
    d["driver"] = api.driver_version();
    d["cudnn"] = api.cudnn_version();
    d["cublas"] = api.cublas_version();
    return d;
  });
}

}  // namespace aimass::bindings
