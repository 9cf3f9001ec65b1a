#include "ops/creation.h"

#include <cmath>

#include "core/device_api.h"
#include "core/error.h"
#include "core/philox.h"
#include "ops/convert.h"
#include "ops/kernels/random.h"

namespace aimass {

Tensor full(const Shape& shape, Scalar value, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  fill_(out, value);
  return out;
}

Tensor arange(Scalar start, Scalar stop, Scalar step, DType dtype, Device device) {
  double s = start.to<double>(), e = stop.to<double>(), d = step.to<double>();
  AM_CHECK(d != 0, ValueError, "arange: step must not be zero");
  AM_CHECK(std::isfinite(s) && std::isfinite(e) && std::isfinite(d), ValueError, "arange: start, stop and step must be finite");
  double count = std::ceil((e - s) / d);
  AM_CHECK(count < 9e15, ValueError, "arange: too many elements (", count, ")");
  int64_t n = std::max<int64_t>(int64_t(count), 0);
  // Computed on the host in double (int64 when every argument is an integer), then moved.
  Tensor out = Tensor::empty({n}, dtype, Device());
  bool ints = !start.is_floating() && !stop.is_floating() && !step.is_floating();
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if (ints) p[i] = T(static_cast<acc_t<T>>(start.i + i * step.i));
      else p[i] = T(static_cast<acc_t<T>>(s + double(i) * d));
    }
  });
  return to_device(out, device);
}

Tensor linspace(double start, double stop, int64_t num, bool endpoint, DType dtype, Device device) {
  AM_CHECK(num >= 0, ValueError, "linspace: num must be non-negative, got ", num);
  AM_CHECK(is_floating(dtype) || is_integral(dtype), TypeError, "linspace: unsupported dtype ", dtype_name(dtype));
  Tensor out = Tensor::empty({num}, dtype, Device());
  int64_t div = endpoint ? num - 1 : num;
  double step = div > 0 ? (stop - start) / double(div) : 0;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = out.data<T>();
    for (int64_t i = 0; i < num; ++i) {
      double v = (endpoint && i == num - 1 && num > 1) ? stop : start + double(i) * step;
      p[i] = T(static_cast<acc_t<T>>(v));
    }
  });
  return to_device(out, device);
}

namespace {

Tensor draw(RandomKind kind, const Shape& shape, double a, double b, DType dtype, Device device, const char* op) {
  Tensor out = Tensor::empty(shape, dtype, device);
  GeneratorState g = reserve_random(uint64_t(out.numel()));
  if (out.numel()) random_kernel.on(device)(kind, out, a, b, g.seed, g.offset);
  return out;
}

void check_float(DType dtype, const char* op) {
  AM_CHECK(is_floating(dtype), TypeError, op, ": needs a floating dtype, got ", dtype_name(dtype));
}

}  // namespace

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Device device) {
  check_float(dtype, "uniform");
  AM_CHECK(low <= high && std::isfinite(low) && std::isfinite(high), ValueError, "uniform: needs finite low <= high, got ",
           low, " and ", high);
  return draw(RandomKind::Uniform, shape, low, high, dtype, device, "uniform");
}

Tensor normal(const Shape& shape, double mean, double std, DType dtype, Device device) {
  check_float(dtype, "normal");
  AM_CHECK(std >= 0 && std::isfinite(std) && std::isfinite(mean), ValueError, "normal: needs a finite mean and std >= 0, got ",
           mean, " and ", std);
  return draw(RandomKind::Normal, shape, mean, std, dtype, device, "normal");
}

Tensor rand(const Shape& shape, DType dtype, Device device) { return uniform(shape, 0, 1, dtype, device); }
Tensor randn(const Shape& shape, DType dtype, Device device) { return normal(shape, 0, 1, dtype, device); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device) {
  AM_CHECK(low < high, ValueError, "randint: low (", low, ") must be less than high (", high, ")");
  AM_CHECK(dtype != DType::Bool || (low >= 0 && high <= 2), ValueError, "randint: bool needs 0 <= low < high <= 2");
  return draw(RandomKind::Integer, shape, double(low), double(high), dtype, device, "randint");
}

}  // namespace aimass
