// Loads libaimass_cuda.so from the folder libaimass_core.so lives in, the first time a CUDA
// device is asked for, and binds the CUDA column of the dispatch table to the kernels it lists.
#include <dlfcn.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "core/device_api.h"
#include "core/dispatch.h"

#ifndef AIMASS_CUDA_BUILT
#define AIMASS_CUDA_BUILT 0
#endif

namespace aimass {

namespace {

struct CudaBackend {
  DeviceApi* api = nullptr;
  std::string error;  // why api is null
};

std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_directory), &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
  }
  return ".";
}

CudaBackend load_backend() {
  CudaBackend b;
  if (!AIMASS_CUDA_BUILT) {
    b.error = "aimass was built without CUDA support (AIMASS_CUDA=OFF, or no CUDA compiler at build time)";
    return b;
  }
  std::string path = own_directory() + "/libaimass_cuda.so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    b.error = "could not load the CUDA backend " + path + ": " + (why ? why : "unknown error");
    return b;
  }
  using EntryFn = DeviceApi* (*)(std::string*);
  auto entry = reinterpret_cast<EntryFn>(dlsym(handle, "aimass_cuda_backend"));
  if (!entry) {
    b.error = path + " has no aimass_cuda_backend entry point";
    return b;
  }
  std::string why;
  DeviceApi* api = entry(&why);  // null with a reason: no driver, no device, ...
  if (!api) {
    b.error = "CUDA is not usable: " + why;
    return b;
  }
  // The library's list of its kernels (cuda/kernel_table.cpp), each bound by name after its
  // contract is checked against this build's.
  using ListFn = const CudaKernelEntry* (*)(size_t*);
  auto list = reinterpret_cast<ListFn>(dlsym(handle, "aimass_cuda_kernels"));
  if (!list) {
    b.error = path + " has no aimass_cuda_kernels list";
    return b;
  }
  size_t count = 0;
  const CudaKernelEntry* entries = list(&count);
  std::unordered_map<std::string, const CudaKernelEntry*> by_name;
  for (size_t i = 0; i < count; ++i) by_name.emplace(entries[i].name, &entries[i]);
  try {
    for (KernelBase* k : kernel_registry()) {
      auto it = by_name.find(k->name);
      if (it != by_name.end()) k->bind_cuda(*it->second);
    }
  } catch (const Error& e) {
    b.error = e.what();
    return b;
  }
  b.api = api;
  return b;
}

CudaBackend& backend() {
  static CudaBackend b = load_backend();  // thread-safe one-time load
  return b;
}

}  // namespace

DeviceApi& cuda_api() {
  CudaBackend& b = backend();
  AM_CHECK(b.api != nullptr, RuntimeError, b.error);
  return *b.api;
}

bool cuda_is_available() noexcept {
  try {
    return backend().api != nullptr && backend().api->device_count() > 0;
  } catch (...) {
    return false;
  }
}

std::string cuda_unavailable_reason() { return backend().api ? "" : backend().error; }

void check_device(Device device) {
  if (device.is_cpu()) return;
  int count = cuda_api().device_count();
  AM_CHECK(device.index < count, RuntimeError, "CUDA device ", device.index, " requested but only ", count,
           " CUDA device(s) are present");
}

void ensure_device_ready(Device device) { check_device(device); }

}  // namespace aimass
