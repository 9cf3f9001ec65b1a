// aimass._core.hpo: CMA-ES, NSGA-II and the Gaussian-process sampler (hpo/cmaes.h, nsga2.h, gp.h).
#include <cstring>

#include "bindings/bindings.h"
#include "core/error.h"
#include "hpo/cmaes.h"
#include "hpo/gp.h"
#include "hpo/nsga2.h"

namespace aimass::bindings {
namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

template <typename T>
py::array_t<T> array_of(const std::vector<T>& v) { return py::array_t<T>(py::ssize_t(v.size()), v.data()); }

// [n, d] (a 1-d array is one row) -> (pointer, n, d)
std::tuple<const double*, int64_t, int64_t> rows_of(const Array& a, const char* what) {
  AM_CHECK(a.ndim() == 1 || a.ndim() == 2, ValueError, what, " must be 1-d or 2-d, got ", a.ndim(), " dimensions");
  return {a.data(), a.ndim() == 2 ? a.shape(0) : 1, a.ndim() == 2 ? a.shape(1) : a.shape(0)};
}

const double* vector_of(const Array& a, int64_t n, const char* what) {
  AM_CHECK(a.ndim() == 1 && a.shape(0) == n, ValueError, what, " must have ", n, " values, got shape ",
           a.ndim() == 1 ? a.shape(0) : -1);
  return a.data();
}

std::vector<uint8_t> flags_of(const py::array_t<bool, py::array::c_style | py::array::forcecast>& a) {
  return std::vector<uint8_t>(a.data(), a.data() + a.size());
}

hpo::GaussianProcess make_gp(const Array& X, const py::array_t<bool, py::array::c_style | py::array::forcecast>& cat,
                             const Array& y, const Array& isl, double scale, double noise) {
  auto [x, n, d] = rows_of(X, "X");
  auto flags = flags_of(cat);
  AM_CHECK(int64_t(flags.size()) == d, ValueError, "is_categorical must have one flag per column of X (", d, ")");
  hpo::GpKernelParams p{std::vector<double>(vector_of(isl, d, "inverse_squared_lengthscales"),
                                            vector_of(isl, d, "inverse_squared_lengthscales") + d), scale, noise};
  return hpo::GaussianProcess(x, n, d, flags.data(), vector_of(y, n, "y"), p);
}

}  // namespace

void bind_hpo_evolution(py::module_& hpo) {
  py::class_<hpo::CmaEs>(hpo, "CmaEs", "CMA-ES state in a box (hpo/cmaes.h)")
      .def(py::init([](const Array& mean, double sigma, const Array& lower, const Array& upper, int64_t popsize,
                       bool separable, bool lr_adapt, int64_t n_max_resampling, std::optional<Array> cov) {
             int64_t d = mean.ndim() == 1 ? mean.shape(0) : -1;
             AM_CHECK(d >= 1, ValueError, "mean must be a 1-d array of at least one value");
             hpo::CmaEsOptions o{popsize, separable, lr_adapt, n_max_resampling, {}};
             if (cov) o.cov.assign(cov->data(), cov->data() + cov->size());
             return hpo::CmaEs(mean.data(), d, sigma, vector_of(lower, d, "lower"), vector_of(upper, d, "upper"), o);
           }),
           py::arg("mean"), py::arg("sigma"), py::arg("lower"), py::arg("upper"), py::arg("popsize") = 0,
           py::arg("separable") = false, py::arg("lr_adapt") = false, py::arg("n_max_resampling") = -1,
           py::arg("cov") = py::none())
      .def("ask", [](hpo::CmaEs& c, uint64_t seed) { return array_of(c.ask(seed)); }, py::arg("seed"))
      .def("tell", [](hpo::CmaEs& c, const Array& x, const Array& values) {
             auto [p, n, d] = rows_of(x, "x");
             AM_CHECK(d == c.dim(), ValueError, "x must have ", c.dim(), " columns, got ", d);
             c.tell(p, vector_of(values, n, "values"), n);
           }, py::arg("x"), py::arg("values"))
      .def("should_stop", &hpo::CmaEs::should_stop)
      .def("state", [](const hpo::CmaEs& c) {
             auto s = c.state();
             return py::bytes(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(double));
           })
      .def_static("from_state", [](const py::bytes& b) {
             std::string s = b;
             AM_CHECK(s.size() % sizeof(double) == 0, ValueError, "a saved CMA-ES state is a whole number of doubles");
             std::vector<double> v(s.size() / sizeof(double));
             std::memcpy(v.data(), s.data(), s.size());
             return hpo::CmaEs::from_state(v.data(), int64_t(v.size()));
           }, py::arg("state"))
      .def_property_readonly("dim", &hpo::CmaEs::dim)
      .def_property_readonly("popsize", &hpo::CmaEs::popsize)
      .def_property_readonly("generation", &hpo::CmaEs::generation)
      .def_property_readonly("sigma", &hpo::CmaEs::sigma)
      .def_property_readonly("separable", &hpo::CmaEs::separable)
      .def_property_readonly("mean", [](const hpo::CmaEs& c) { return array_of(c.mean()); })
      .def_property_readonly("cov", [](const hpo::CmaEs& c) {
        auto a = array_of(c.cov());
        if (!c.separable()) a.resize({c.dim(), c.dim()});
        return a;
      });

  hpo.def("cma_warm_start", [](const Array& x, const Array& values, double gamma, double alpha) {
    auto [p, n, d] = rows_of(x, "x");
    std::vector<double> mean, cov;
    double sigma = 0;
    hpo::cma_warm_start(p, vector_of(values, n, "values"), n, d, gamma, alpha, mean, sigma, cov);
    auto c = array_of(cov);
    c.resize({d, d});
    return py::make_tuple(array_of(mean), sigma, c);
  }, py::arg("x"), py::arg("values"), py::arg("gamma") = 0.1, py::arg("alpha") = 0.1,
     "(mean, sigma, cov) of WS-CMA-ES from source solutions x [n, d] and their minimised values");

  hpo.def("crowding_distance", [](const Array& values) {
    auto [p, n, m] = rows_of(values, "values");
    return array_of(hpo::crowding_distance(p, n, m));
  }, py::arg("values"), "Optuna's crowding distance of each point of values [n, m]");
  hpo.def("constrained_ranks", [](const Array& values, std::optional<Array> penalty) {
    auto [p, n, m] = rows_of(values, "values");
    return array_of(hpo::constrained_ranks(p, n, m, penalty ? vector_of(*penalty, n, "penalty") : nullptr));
  }, py::arg("values"), py::arg("penalty") = py::none(), "ranks under Deb's constrained domination (minimised)");
  hpo.def("nsga2_select", [](const Array& values, std::optional<Array> penalty, int64_t k) {
    auto [p, n, m] = rows_of(values, "values");
    return array_of(hpo::nsga2_select(p, n, m, penalty ? vector_of(*penalty, n, "penalty") : nullptr, k));
  }, py::arg("values"), py::arg("penalty"), py::arg("k"), "indices of the k NSGA-II elites");

  auto parents_of = [](const Array& parents, int64_t need, const char* name) {
    auto [p, n, d] = rows_of(parents, "parents");
    AM_CHECK(n == need, ValueError, name, " needs ", need, " parents, got ", n);
    return std::pair{p, d};
  };
  hpo.def("crossover_uniform", [=](const Array& parents, double swapping_prob, uint64_t seed) {
    auto [p, d] = parents_of(parents, 2, "uniform crossover");
    return array_of(hpo::crossover_uniform(p, d, swapping_prob, seed));
  }, py::arg("parents"), py::arg("swapping_prob"), py::arg("seed"));
  hpo.def("crossover_sbx", [=](const Array& parents, const Array& lower, const Array& upper, double eta,
                               double use_child_gene_prob, double uniform_crossover_prob, uint64_t seed) {
    auto [p, d] = parents_of(parents, 2, "SBX crossover");
    return array_of(hpo::crossover_sbx(p, d, vector_of(lower, d, "lower"), vector_of(upper, d, "upper"), eta,
                                       use_child_gene_prob, uniform_crossover_prob, seed));
  }, py::arg("parents"), py::arg("lower"), py::arg("upper"), py::arg("eta"), py::arg("use_child_gene_prob"),
     py::arg("uniform_crossover_prob"), py::arg("seed"));
  hpo.def("crossover_vsbx", [=](const Array& parents, double eta, double use_child_gene_prob,
                                double uniform_crossover_prob, uint64_t seed) {
    auto [p, d] = parents_of(parents, 2, "VSBX crossover");
    return array_of(hpo::crossover_vsbx(p, d, eta, use_child_gene_prob, uniform_crossover_prob, seed));
  }, py::arg("parents"), py::arg("eta"), py::arg("use_child_gene_prob"), py::arg("uniform_crossover_prob"),
     py::arg("seed"));
  hpo.def("crossover_blx_alpha", [=](const Array& parents, double alpha, uint64_t seed) {
    auto [p, d] = parents_of(parents, 2, "BLX-alpha crossover");
    return array_of(hpo::crossover_blx_alpha(p, d, alpha, seed));
  }, py::arg("parents"), py::arg("alpha"), py::arg("seed"));
  hpo.def("crossover_spx", [=](const Array& parents, double epsilon, uint64_t seed) {
    auto [p, n, d] = rows_of(parents, "parents");
    return array_of(hpo::crossover_spx(p, n, d, epsilon, seed));
  }, py::arg("parents"), py::arg("epsilon"), py::arg("seed"));
  hpo.def("crossover_undx", [=](const Array& parents, double sigma_xi, double sigma_eta, uint64_t seed) {
    auto [p, d] = parents_of(parents, 3, "UNDX crossover");
    return array_of(hpo::crossover_undx(p, d, sigma_xi, sigma_eta, seed));
  }, py::arg("parents"), py::arg("sigma_xi"), py::arg("sigma_eta"), py::arg("seed"));

  hpo.def("mutation_polynomial", &hpo::mutation_polynomial, py::arg("param"), py::arg("lower"), py::arg("upper"),
          py::arg("eta"), py::arg("seed"), "polynomial mutation of one gene in [lower, upper]");

  using Flags = py::array_t<bool, py::array::c_style | py::array::forcecast>;
  py::class_<hpo::GaussianProcess>(hpo, "GaussianProcess", "Matern 5/2 ARD GP regressor (hpo/gp.h)")
      .def(py::init(&make_gp), py::arg("X"), py::arg("is_categorical"), py::arg("y"),
           py::arg("inverse_squared_lengthscales"), py::arg("kernel_scale"), py::arg("noise_var"))
      .def("posterior", [](const hpo::GaussianProcess& gp, const Array& x) {
             auto [p, k, d] = rows_of(x, "x");
             AM_CHECK(d == gp.d(), ValueError, "x must have ", gp.d(), " columns, got ", d);
             py::array_t<double> mean(k), var(k);
             gp.posterior(p, k, mean.mutable_data(), var.mutable_data());
             return py::make_tuple(mean, var);
           }, py::arg("x"), "posterior mean [k] and variance [k] at x [k, d]")
      .def("log_marginal_likelihood", &hpo::GaussianProcess::log_marginal_likelihood)
      .def_property_readonly("inverse_squared_lengthscales", [](const hpo::GaussianProcess& gp) {
        return array_of(gp.params().inverse_squared_lengthscales);
      })
      .def_property_readonly("kernel_scale", [](const hpo::GaussianProcess& gp) { return gp.params().kernel_scale; })
      .def_property_readonly("noise_var", [](const hpo::GaussianProcess& gp) { return gp.params().noise_var; });

  hpo.def("gp_fit", [](const Array& X, const Flags& cat, const Array& y, std::optional<Array> isl, double scale,
                       double noise, double minimum_noise, bool deterministic_objective, double gtol) {
    auto [x, n, d] = rows_of(X, "X");
    auto flags = flags_of(cat);
    AM_CHECK(int64_t(flags.size()) == d, ValueError, "is_categorical must have one flag per column of X (", d, ")");
    const double* yy = vector_of(y, n, "y");
    hpo::GpKernelParams init;
    if (isl && isl->size() == d) init = {std::vector<double>(isl->data(), isl->data() + d), scale, noise};
    hpo::GpKernelParams p;
    {
      py::gil_scoped_release release;
      p = hpo::gp_fit(x, n, d, flags.data(), yy, init, minimum_noise, deterministic_objective, gtol);
    }
    return py::make_tuple(array_of(p.inverse_squared_lengthscales), p.kernel_scale, p.noise_var);
  }, py::arg("X"), py::arg("is_categorical"), py::arg("y"), py::arg("inverse_squared_lengthscales") = py::none(),
     py::arg("kernel_scale") = 1.0, py::arg("noise_var") = 1.0, py::arg("minimum_noise") = 1e-6,
     py::arg("deterministic_objective") = false, py::arg("gtol") = 1e-2,
     "(inverse_squared_lengthscales, kernel_scale, noise_var) maximising log marginal likelihood + log prior");
  hpo.def("standard_log_ei", py::vectorize(hpo::standard_log_ei), py::arg("z"), "log E[max(0, N(0,1) + z)]");
  hpo.def("log_ndtr", py::vectorize(hpo::log_ndtr), py::arg("z"), "log P(N(0,1) <= z)");
  hpo.def("gp_optimize_acquisition", [](const hpo::GaussianProcess& objective, double threshold,
                                        const std::vector<const hpo::GaussianProcess*>& constraints,
                                        const std::vector<double>& constraint_thresholds,
                                        const std::vector<std::vector<double>>& choices, const Array& starts,
                                        uint64_t seed, int64_t n_preliminary, int64_t n_local_search, double tol) {
    AM_CHECK(constraints.size() == constraint_thresholds.size(), ValueError,
             "one threshold per constraint GP is needed");
    std::vector<hpo::AcqTerm> terms;  // threshold -inf (no feasible trial yet): the constraints alone
    if (threshold > -INFINITY || constraints.empty()) terms.push_back({&objective, false, threshold});
    for (size_t c = 0; c < constraints.size(); ++c) terms.push_back({constraints[c], true, constraint_thresholds[c]});
    auto [s, ns, d] = rows_of(starts, "starts");
    if (starts.size() == 0) ns = 0;
    AM_CHECK(ns == 0 || d == objective.d(), ValueError, "starts must have ", objective.d(), " columns");
    double value = 0;
    std::vector<double> x;
    {
      py::gil_scoped_release release;
      x = hpo::gp_optimize_acquisition(terms, objective.d(), choices, s, ns, seed, n_preliminary, n_local_search,
                                       tol, &value);
    }
    return py::make_tuple(array_of(x), value);
  }, py::arg("objective"), py::arg("threshold"), py::arg("constraints"), py::arg("constraint_thresholds"),
     py::arg("choices"), py::arg("starts"), py::arg("seed"), py::arg("n_preliminary") = 2048,
     py::arg("n_local_search") = 10, py::arg("tol") = 1e-4,
     "(x [d], value) maximising log EI (+ log P(feasible) per constraint GP)");
  hpo.def("acquisition_value", [](const hpo::GaussianProcess& objective, double threshold, const Array& x) {
    auto [p, k, d] = rows_of(x, "x");
    AM_CHECK(d == objective.d(), ValueError, "x must have ", objective.d(), " columns");
    std::vector<hpo::AcqTerm> terms{{&objective, false, threshold}};
    py::array_t<double> out(k);
    for (int64_t r = 0; r < k; ++r) out.mutable_data()[r] = hpo::acquisition_value(terms, p + r * d);
    return out;
  }, py::arg("objective"), py::arg("threshold"), py::arg("x"), "log EI at each row of x [k, d]");
}

}  // namespace aimass::bindings
