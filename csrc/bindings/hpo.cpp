// aimass._core.hpo: Pareto ranks, fronts and hypervolume (hpo/pareto.h) for am.hpo.
#include "bindings/bindings.h"
#include "core/error.h"
#include "hpo/pareto.h"

namespace aimass::bindings {
namespace {

using Matrix = py::array_t<double, py::array::c_style | py::array::forcecast>;

// values [n, m] -> (pointer, n, m); a 1-d array is n points of one objective.
std::tuple<const double*, int64_t, int64_t> points_of(const Matrix& values, const char* what) {
  AM_CHECK(values.ndim() == 1 || values.ndim() == 2, ValueError, what, " must be [n, m] (n points of m objectives), got ",
           values.ndim(), " dimensions");
  int64_t n = values.shape(0), m = values.ndim() == 2 ? values.shape(1) : 1;
  return {values.data(), n, m};
}

template <typename T>
py::array_t<T> array_of(const std::vector<T>& v) { return py::array_t<T>(py::ssize_t(v.size()), v.data()); }

}  // namespace

void bind_hpo(py::module_& hpo) {
  hpo.def("pareto_ranks", [](const Matrix& values, int64_t n_below) {
    auto [p, n, m] = points_of(values, "values");
    return array_of(hpo::pareto_ranks(p, n, m, n_below));
  }, py::arg("values"), py::arg("n_below") = -1,
     "int32 rank of each point (0 = non-dominated), all objectives minimised; ranking stops once n_below are ranked");
  hpo.def("pareto_front", [](const Matrix& values) {
    auto [p, n, m] = points_of(values, "values");
    return array_of(hpo::pareto_front(p, n, m));
  }, py::arg("values"), "indices of the non-dominated points, ascending (all objectives minimised)");
  hpo.def("hypervolume", [](const Matrix& points, const Matrix& reference) {
    auto [p, n, m] = points_of(points, "points");
    AM_CHECK(reference.ndim() == 1 && reference.shape(0) == m, ValueError, "reference must have one value per objective (",
             m, "), got shape ", reference.ndim() == 1 ? reference.shape(0) : -1);
    return hpo::hypervolume(p, n, m, reference.data());
  }, py::arg("points"), py::arg("reference"), "volume dominated by points [n, m] and bounded by reference [m] (minimised)");
  hpo.def("hypervolume_subset", [](const Matrix& points, int64_t k, const Matrix& reference) {
    auto [p, n, m] = points_of(points, "points");
    AM_CHECK(reference.ndim() == 1 && reference.shape(0) == m, ValueError, "reference must have one value per objective (",
             m, ")");
    return array_of(hpo::hypervolume_subset(p, n, m, k, reference.data()));
  }, py::arg("points"), py::arg("k"), py::arg("reference"), "greedy subset of k points of largest hypervolume");
}

}  // namespace aimass::bindings
