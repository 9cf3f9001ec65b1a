"""Optuna's warnings shared by the CMA-ES, GP and NSGA-II samplers (same texts)."""
from __future__ import annotations

import warnings

from ..exceptions import ExperimentalWarning

INDEPENDENT_SAMPLING_WARNING = (
    "The parameter `{param_name}` in Trial#{trial_number} is sampled independently "
    "using `{independent_sampler_name}` instead of `{sampler_name}`, potentially "
    "degrading the optimization performance. This fallback happened because "
    "{fallback_reason}. You can suppress this warning by setting "
    "`warn_independent_sampling` to `False` in the constructor of `{sampler_name}` if "
    "this independent sampling is intended behavior."
)

DEPRECATION_WARNING = ("{name} has been deprecated in v{d_ver}. This feature will be removed in v{r_ver}. "
                       "See https://github.com/optuna/optuna/releases/tag/v{d_ver}.")


def warn_experimental_argument(option_name: str) -> None:
    warnings.warn(f"Argument ``{option_name}`` is an experimental feature. The interface can change in the future.",
                  ExperimentalWarning, stacklevel=3)


def warn_deprecated(name: str, d_ver: str, r_ver: str, extra: str = "") -> None:
    msg = DEPRECATION_WARNING.format(name=name, d_ver=d_ver, r_ver=r_ver)
    warnings.warn(f"{msg} {extra}".rstrip(), FutureWarning, stacklevel=3)
