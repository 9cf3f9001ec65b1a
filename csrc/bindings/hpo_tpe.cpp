// aimass._core.hpo: TPE, random, grid and QMC samplers (hpo/tpe.h, parzen_estimator.h, sobol.h).
#include "bindings/bindings.h"
#include "core/error.h"
#include "hpo/parzen_estimator.h"
#include "hpo/random_sampler.h"
#include "hpo/rng.h"
#include "hpo/sobol.h"
#include "hpo/tpe.h"
#include "hpo/truncnorm.h"

namespace aimass::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
struct Space {  // bound as ParzenSpace: built once per search space, passed to every call
  std::vector<hpo::ParzenParam> params;
};

// obs [n, d] -> (pointer, n); an empty array of any shape is n = 0
std::pair<const double*, int64_t> rows_of(const Array& a, int64_t d, const char* what) {
  if (a.size() == 0) return {nullptr, 0};
  AM_CHECK(a.ndim() == 2 && a.shape(1) == d, ValueError, what, " must be [n, ", d, "] (one column per parameter)");
  return {a.data(), a.shape(0)};
}

const double* weights_of(const std::optional<Array>& w, int64_t n, const char* what) {
  if (!w) return nullptr;
  AM_CHECK(w->ndim() == 1 && w->shape(0) == n, ValueError, what, " must have one weight per observation (", n, ")");
  return w->data();
}

hpo::ParzenOptions options_of(double prior_weight, bool magic_clip, bool endpoints) {
  return {prior_weight, magic_clip, endpoints};
}

uint64_t seed_of(const py::object& seed) {
  return seed.is_none() ? std::random_device{}() : py::cast<uint64_t>(seed.attr("__and__")(py::int_(~0ull)));
}

}  // namespace

void bind_hpo_tpe(py::module_& hpo) {
  py::class_<hpo::Rng>(hpo, "Rng", "seedable xoshiro256** generator of a sampler (hpo/rng.h)")
      .def(py::init([](const py::object& seed) {
        return seed.is_none() ? hpo::Rng() : hpo::Rng(seed_of(seed));
      }), py::arg("seed") = py::none())
      .def("reseed", [](hpo::Rng& r, const py::object& seed) {
        if (seed.is_none()) r.reseed_random();
        else r.reseed(seed_of(seed));
      }, py::arg("seed") = py::none())
      .def("uniform", [](hpo::Rng& r) { return r.uniform(); }, "a float in [0, 1)")
      .def("below", [](hpo::Rng& r, uint64_t n) {
        AM_CHECK(n >= 1, ValueError, "below(n) needs n >= 1, got ", n);
        return r.below(n);
      }, py::arg("n"), "an integer in [0, n)")
      .def("next_u64", &hpo::Rng::next)
      .def("sample_numerical", [](hpo::Rng& r, double low, double high, double step, bool log) {
        return hpo::sample_uniform({false, 0, low, high, step, log}, r);
      }, py::arg("low"), py::arg("high"), py::arg("step"), py::arg("log"),
         "RandomSampler's draw of a float/int parameter (step 0: continuous)");
  hpo.def("from_unit", [](double u, double low, double high, double step, bool log) {
    hpo::ParzenParam p{false, 0, low, high, step, log};
    double lo, hi;
    hpo::transformed_bounds(p, lo, hi);
    return hpo::from_transformed(p, lo + u * (hi - lo));
  }, py::arg("u"), py::arg("low"), py::arg("high"), py::arg("step"), py::arg("log"),
     "a point u of [0, 1] onto a float/int parameter, as Optuna's _SearchSpaceTransform(transform_0_1=True)");

  py::class_<Space>(hpo, "ParzenSpace", "the parameters of a TPE search space, in order")
      .def(py::init([](const std::vector<bool>& categorical, const std::vector<int64_t>& n_choices,
                       const std::vector<double>& low, const std::vector<double>& high,
                       const std::vector<double>& step, const std::vector<bool>& log) {
        size_t d = categorical.size();
        AM_CHECK(n_choices.size() == d && low.size() == d && high.size() == d && step.size() == d && log.size() == d,
                 ValueError, "ParzenSpace needs one entry per parameter in every list");
        Space sp{std::vector<hpo::ParzenParam>(d)};
        auto& s = sp.params;
        for (size_t j = 0; j < d; ++j) {
          s[j] = {bool(categorical[j]), n_choices[j], low[j], high[j], step[j], bool(log[j])};
          AM_CHECK(s[j].categorical ? s[j].n_choices >= 1 : s[j].low <= s[j].high, ValueError, "parameter ", j,
                   s[j].categorical ? " needs at least one choice" : " needs low <= high");
          AM_CHECK(s[j].categorical || !s[j].log || s[j].low > 0, ValueError, "parameter ", j,
                   " is log-scaled and needs low > 0, got ", s[j].low);
        }
        return sp;
      }), py::arg("categorical"), py::arg("n_choices"), py::arg("low"), py::arg("high"), py::arg("step"),
         py::arg("log"))
      .def("__len__", [](const Space& s) { return s.params.size(); })
      .def("sample_uniform", [](const Space& s, hpo::Rng& rng, int64_t j) {
        AM_CHECK(j >= 0 && j < int64_t(s.params.size()), IndexError, "parameter ", j, " of ", s.params.size());
        return hpo::sample_uniform(s.params[j], rng);
      }, py::arg("rng"), py::arg("index"), "RandomSampler's draw of parameter index (internal repr)");

  py::class_<hpo::ParzenEstimator>(hpo, "ParzenEstimator", "TPE's mixture of truncated kernels (hpo/parzen_estimator.h)")
      .def(py::init([](const Space& space, const Array& obs, const std::optional<Array>& weights, double prior_weight,
                       bool magic_clip, bool endpoints) {
        auto [p, n] = rows_of(obs, int64_t(space.params.size()), "observations");
        return hpo::ParzenEstimator(space.params, p, n, weights_of(weights, n, "weights"),
                                    options_of(prior_weight, magic_clip, endpoints));
      }), py::arg("space"), py::arg("observations"), py::arg("weights") = py::none(), py::arg("prior_weight") = 1.0,
         py::arg("consider_magic_clip") = true, py::arg("consider_endpoints") = false)
      .def_property_readonly("n_kernels", &hpo::ParzenEstimator::n_kernels)
      .def("sample", [](const hpo::ParzenEstimator& e, hpo::Rng& rng, int64_t size) {
        AM_CHECK(size >= 0, ValueError, "sample size must be >= 0, got ", size);
        py::array_t<double> out({py::ssize_t(size), py::ssize_t(e.dim())});
        e.sample(rng, size, out.mutable_data());
        return out;
      }, py::arg("rng"), py::arg("size"), "[size, d] draws (internal repr)")
      .def("log_pdf", [](const hpo::ParzenEstimator& e, const Array& x) {
        auto [p, m] = rows_of(x, e.dim(), "x");
        auto out = py::array_t<double>(py::ssize_t(m));
        e.log_pdf(p, m, out.mutable_data());
        return out;
      }, py::arg("x"), "log density [m] at x [m, d] (transformed space)");

  hpo.def("tpe_propose", [](const Space& space, const Array& below, const std::optional<Array>& wb,
                            const Array& above, const std::optional<Array>& wa, double prior_weight, bool magic_clip,
                            bool endpoints, int64_t n_candidates, hpo::Rng& rng) {
    int64_t d = int64_t(space.params.size());
    auto [pb, nb] = rows_of(below, d, "below");
    auto [pa, na] = rows_of(above, d, "above");
    auto best = py::array_t<double>(py::ssize_t(d));
    const double *w_below = weights_of(wb, nb, "below weights"), *w_above = weights_of(wa, na, "above weights");
    double* out = best.mutable_data();
    double acq;
    {
      py::gil_scoped_release release;  // n_jobs threads propose at once (each sampler holds its own lock)
      acq = hpo::tpe_propose(space.params, pb, nb, w_below, pa, na, w_above,
                             options_of(prior_weight, magic_clip, endpoints), n_candidates, rng, out);
    }
    return py::make_tuple(best, acq);
  }, py::arg("space"), py::arg("below"), py::arg("below_weights"), py::arg("above"), py::arg("above_weights"),
     py::arg("prior_weight"), py::arg("consider_magic_clip"), py::arg("consider_endpoints"), py::arg("n_candidates"),
     py::arg("rng"), "TPE proposal: (best candidate [d] in internal repr, its log l - log g)");

  hpo.def("default_weights", [](int64_t n) {
    AM_CHECK(n >= 0, ValueError, "n must be >= 0, got ", n);
    auto w = py::array_t<double>(py::ssize_t(n));
    hpo::default_weights(n, w.mutable_data());
    return w;
  }, py::arg("n"));
  hpo.def("log_gauss_mass", &hpo::log_gauss_mass, py::arg("a"), py::arg("b"), "log(Phi(b) - Phi(a))");
  hpo.def("truncnorm_ppf", &hpo::truncnorm_ppf, py::arg("q"), py::arg("a"), py::arg("b"));

  py::class_<hpo::Sobol>(hpo, "Sobol", "Sobol sequence, Joe-Kuo direction numbers (hpo/sobol.h)")
      .def(py::init([](int64_t dim, bool scramble, const py::object& seed) {
        return hpo::Sobol(dim, scramble, scramble ? seed_of(seed) : 0);
      }), py::arg("dim"), py::arg("scramble") = false, py::arg("seed") = py::none())
      .def("points", [](const hpo::Sobol& s, uint64_t start, int64_t count) {
        AM_CHECK(count >= 0, ValueError, "count must be >= 0, got ", count);
        py::array_t<double> out({py::ssize_t(count), py::ssize_t(s.dim())});
        for (int64_t i = 0; i < count; ++i) s.point(start + uint64_t(i), out.mutable_data() + i * s.dim());
        return out;
      }, py::arg("start"), py::arg("count"), "[count, dim] points start, start + 1, ...");
  py::class_<hpo::Halton>(hpo, "Halton", "Halton sequence (hpo/sobol.h)")
      .def(py::init([](int64_t dim, bool scramble, const py::object& seed) {
        return hpo::Halton(dim, scramble, scramble ? seed_of(seed) : 0);
      }), py::arg("dim"), py::arg("scramble") = false, py::arg("seed") = py::none())
      .def("points", [](const hpo::Halton& h, uint64_t start, int64_t count) {
        AM_CHECK(count >= 0, ValueError, "count must be >= 0, got ", count);
        py::array_t<double> out({py::ssize_t(count), py::ssize_t(h.dim())});
        for (int64_t i = 0; i < count; ++i) h.point(start + uint64_t(i), out.mutable_data() + i * h.dim());
        return out;
      }, py::arg("start"), py::arg("count"), "[count, dim] points start, start + 1, ...");
}

}  // namespace aimass::bindings
