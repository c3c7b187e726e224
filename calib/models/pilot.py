"""Closed-form pilot estimates of the built-in models, and the check that default bounds fit the data.

A built-in model's default bounds (e.g. ``mu`` in ``[-100, 100]``) suit data of moderate scale;
data of another scale (the Nile's flows, mean 919, sd 168) put the optimum outside them, and a
sweep would then report the bound itself as the estimate, all starts agreeing.  Before a sweep
runs, each parameter that keeps its default bounds is compared with a pilot estimate computed
from each dataset in closed form (moments or ordinary least squares):

========  ==================================================================================
normal    ``mu`` = mean, ``sigma`` = standard deviation
linear    ``(a, b)`` by OLS of ``y`` on ``x``
sinusoid  ``(a, b, c)`` by OLS of ``y`` on ``sin x``, ``x``, 1
ou        ``mu`` = mean of ``x``; ``sigma`` = sd of the increments / sqrt(mean dt) (a lower
          bound on the diffusion); ``theta`` not checked
garch11   ``omega`` = 0.05 times the variance of the returns (persistence 0.95); ``alpha``,
          ``beta`` not checked
========  ==================================================================================

A pilot outside the bounds, or within `EDGE_FRACTION` of the (internal, i.e. log for log
parameters) range from a bound, is reported with bounds that would contain it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from calib.models.base import Model
from calib.parameters import Parameter

__all__ = ["EDGE_FRACTION", "default_bounds_problem", "pilot_estimates"]

FloatArray = npt.NDArray[np.float64]

#: a pilot this close to a bound (fraction of the internal range) counts as outside
EDGE_FRACTION = 1e-3


def _ols(design: FloatArray, y: FloatArray) -> FloatArray:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(coef, dtype=np.float64)


def _normal(data: FloatArray) -> dict[str, float]:
    y = data[:, 0]
    return {"mu": float(np.mean(y)), "sigma": float(np.std(y))}


def _linear(data: FloatArray) -> dict[str, float]:
    x, y = data[:, 0], data[:, 1]
    a, b = _ols(np.column_stack([x, np.ones_like(x)]), y)
    return {"a": float(a), "b": float(b)}


def _sinusoid(data: FloatArray) -> dict[str, float]:
    x, y = data[:, 0], data[:, 1]
    a, b, c = _ols(np.column_stack([np.sin(x), x, np.ones_like(x)]), y)
    return {"a": float(a), "b": float(b), "c": float(c)}


def _ou(data: FloatArray) -> dict[str, float]:
    t, x = data[:, 0], data[:, 1]
    dt = float(np.mean(np.diff(t))) if t.size > 1 else float("nan")
    spread = float(np.std(np.diff(x))) / np.sqrt(dt) if t.size > 2 and dt > 0 else float("nan")
    return {"mu": float(np.mean(x)), "sigma": spread}


def _garch11(data: FloatArray) -> dict[str, float]:
    return {"omega": 0.05 * float(np.var(data[:, 0]))}


_PILOTS: dict[str, Callable[[FloatArray], dict[str, float]]] = {
    "normal": _normal, "linear": _linear, "sinusoid": _sinusoid, "ou": _ou, "garch11": _garch11}


def pilot_estimates(model: Model, data: npt.ArrayLike) -> dict[str, float]:
    """Closed-form pilot estimates ``{parameter: value}`` of ``model`` from ``data`` (see module).

    Parameters the pilot does not estimate are absent; a value is NaN when the data do not
    allow it (too few rows).
    """
    values = np.asarray(data, dtype=np.float64)
    pilot = _PILOTS.get(model.name)
    if pilot is None or values.ndim != 2 or values.shape[0] < 2:
        return {}
    with np.errstate(all="ignore"):
        return pilot(values)


def _suggested(par: Parameter, value: float) -> tuple[float, float]:
    if par.log:
        return value / 100.0, value * 100.0
    half = 10.0 * max(abs(value), 1.0)
    return value - half, value + half


def _near_or_outside(par: Parameter, value: float) -> bool:
    if not par.lower < value < par.upper:
        return True
    if par.log:
        low, high, at = np.log(par.lower), np.log(par.upper), np.log(value)
    else:
        low, high, at = par.lower, par.upper, value
    margin = EDGE_FRACTION * (high - low)
    return bool(at - low < margin or high - at < margin)


def default_bounds_problem(model: Model, parameters: Sequence[Parameter],
                           datasets: Sequence[tuple[str, npt.ArrayLike]]) -> tuple[str, str] | None:
    """The first parameter whose default bounds do not fit a dataset, as (name, message).

    Only parameters that keep ``model``'s default bounds are checked (bounds a user gave are
    the user's choice); None when every pilot lies well inside its bounds.
    """
    defaults = {par.name: par for par in model.parameters}
    for name, data in datasets:
        pilot = pilot_estimates(model, data)
        for par in parameters:
            value = pilot.get(par.name, float("nan"))
            if par != defaults.get(par.name) or not np.isfinite(value):
                continue
            if _near_or_outside(par, value):
                low, high = _suggested(par, value)
                return par.name, (
                    f"does not fit dataset {name!r}: the data put {par.name} near {value:.4g} "
                    f"(a closed-form pilot estimate), outside or at the edge of the built-in "
                    f"model's default bounds [{par.lower:g}, {par.upper:g}], so the fit would "
                    f"stop at the bound; give bounds that fit the data, e.g. {par.name} = "
                    f"{{ lower = {low:.4g}, upper = {high:.4g} }}")
    return None
