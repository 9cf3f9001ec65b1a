#include "hpo/tpe.h"

#include <algorithm>

#include "core/error.h"

namespace aimass::hpo {

double tpe_propose(const std::vector<ParzenParam>& params, const double* below, int64_t nb, const double* wb,
                   const double* above, int64_t na, const double* wa, const ParzenOptions& options,
                   int64_t n_candidates, Rng& rng, double* best) {
  AM_CHECK(n_candidates >= 1, ValueError, "n_ei_candidates must be positive, got ", n_candidates);
  int64_t d = int64_t(params.size());
  ParzenEstimator l(params, below, nb, wb, options), g(params, above, na, wa, options);
  std::vector<double> cand(n_candidates * d), ll(n_candidates), lg(n_candidates);
  l.sample(rng, n_candidates, cand.data());
  l.log_pdf(cand.data(), n_candidates, ll.data());
  g.log_pdf(cand.data(), n_candidates, lg.data());
  int64_t arg = 0;
  double acq = ll[0] - lg[0];
  for (int64_t i = 1; i < n_candidates; ++i)
    if (ll[i] - lg[i] > acq) acq = ll[i] - lg[i], arg = i;
  std::copy(cand.begin() + arg * d, cand.begin() + (arg + 1) * d, best);
  return acq;
}

}  // namespace aimass::hpo
