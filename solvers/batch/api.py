"""`minimize_batch`: minimise one objective from ``k`` starts at once, the batch in lockstep.

The objective is batched: ``fun(X, *args) -> f`` with ``X`` of shape ``(k, d)`` (one start per
row) and ``f`` of shape ``(k,)``. `minimize_batch` validates the call once, maps ``tol`` and the
options as `solvers.minimize` does, runs the method's batched loop (`lbfgsb`, `bfgs`,
`nelder_mead`) and returns a `BatchResult` with one row per start.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.bounds import standardize_bounds
from .._result import OptimizeWarning
from .bfgs import BFGS_OPTIONS, bfgs_batch
from .lbfgsb import LBFGSB_OPTIONS, lbfgsb_batch
from .nelder_mead import NELDER_MEAD_OPTIONS, nelder_mead_batch
from .objective import DEFAULT_BLOCK_ROWS, BatchObjective
from .result import BatchResult, Outcomes

__all__ = ["minimize_batch", "BATCH_METHODS"]

FloatArray = npt.NDArray[np.float64]

#: method name (lower case) -> (display name, its options with scipy's defaults)
BATCH_METHODS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "l-bfgs-b": ("L-BFGS-B", LBFGSB_OPTIONS),
    "bfgs": ("BFGS", BFGS_OPTIONS),
    "nelder-mead": ("Nelder-Mead", NELDER_MEAD_OPTIONS),
}
#: options every method takes: rows per ``fun`` call (default: timed, at most 16384)
BATCH_OPTIONS = {"block_rows": None}
#: where ``tol`` goes, per method (as scipy maps it)
_TOL_KEYS = {"l-bfgs-b": ("ftol", "gtol"), "bfgs": ("gtol",), "nelder-mead": ("xatol", "fatol")}


def minimize_batch(fun: Callable[..., Any], x0: npt.ArrayLike, *, args: tuple[Any, ...] = (),
                   method: str = "L-BFGS-B", jac: Callable[..., Any] | bool | None = None,
                   bounds: Any = None, tol: float | None = None,
                   options: Mapping[str, Any] | None = None, trace: bool = False
                   ) -> BatchResult:
    """Minimise ``fun`` from every row of ``x0`` at once.

    Parameters
    ----------
    fun : callable
        ``fun(X, *args) -> f``: ``X`` has shape (m, d), ``f`` shape (m,) with ``f[i]`` the
        objective at ``X[i]``; with ``jac=True`` it returns ``(f (m,), g (m, d))``. ``m`` varies
        from call to call (only unfinished starts are evaluated, finite-difference rows come
        stacked); each row must be computed independently of the others.
    x0 : array_like, shape (k, d)
        One start per row (finite). ``k = 0`` gives an empty result.
    args : tuple
        Extra arguments of ``fun`` and ``jac``.
    method : str
        ``'L-BFGS-B'`` (default; bounds), ``'BFGS'`` or ``'Nelder-Mead'`` (bounds by clipping);
        case-insensitive.
    jac : callable, True or None
        ``jac(X, *args) -> (m, d)`` batched gradient, True (``fun`` returns it), or None:
        forward differences ``h = sqrt(eps) * max(1, |x|)`` (sign of x, flipped at a bound),
        every row of the batch in one ``fun`` call. Ignored by Nelder-Mead.
    bounds : Bounds or sequence of (min, max), optional
        Box for all starts (L-BFGS-B, Nelder-Mead). Starts outside it are clipped into it.
    tol : float, optional
        Mapped onto the method's tolerances as scipy maps it.
    options : mapping, optional
        The method's scipy options (``maxiter``, ``gtol``, ``maxfun``, ``maxcor``, ``ftol``,
        ``maxls``, ``xatol``, ``fatol``, ``maxfev``, ``eps``, ``finite_diff_rel_step``...) and
        ``block_rows`` (rows per ``fun`` call; default: the size that runs fastest, found by
        timing the calls, at most 16384; results do not depend on it). Unknown ones give an
        `OptimizeWarning`; ``adaptive=True`` and ``hess_inv0`` are not supported (ValueError).
    trace : bool
        Record every start's iterates (``BatchResult.traces``).

    Returns
    -------
    BatchResult
        One row per start: ``x`` (k, d), ``fun``, ``success``, ``status``, ``message``, ``nit``,
        ``nfev``, ``njev``; ``result[i]`` is start ``i`` as an `OptimizeResult`.

    Raises
    ------
    ValueError
        For an unknown method, ``x0`` not of shape (k, d) or not finite, bad bounds, or ``fun``
        / ``jac`` returning the wrong shape (`BatchShapeError`, a `ValueError`).
    """
    key = method.lower() if isinstance(method, str) else ""
    if key not in BATCH_METHODS:
        raise ValueError(f"Unknown batched method {method!r}; minimize_batch supports: "
                         f"{', '.join(name for name, _ in BATCH_METHODS.values())}")
    name, defaults = BATCH_METHODS[key]
    x = _parse_x0(x0)
    k, d = x.shape
    lb, ub = _parse_bounds(bounds, d, name)
    opts = _parse_options(key, defaults, tol, options)
    obj = BatchObjective(fun, None if key == "nelder-mead" else jac, tuple(args), k, d, lb, ub,
                         rel_step=opts["finite_diff_rel_step"], abs_step=opts["eps"],
                         block_rows=_block_rows(options))
    out = Outcomes.empty(np.clip(x, lb, ub), trace)
    if k:
        _run(key, obj, np.clip(x, lb, ub), lb, ub, out, opts)
    return out.freeze(name, obj.nfev, obj.njev)


def _run(key: str, obj: BatchObjective, x: FloatArray, lb: FloatArray, ub: FloatArray,
         out: Outcomes, opts: dict[str, Any]) -> None:
    d = x.shape[1]
    if key == "l-bfgs-b":
        lbfgsb_batch(obj, x, lb, ub, out, maxcor=int(opts["maxcor"]), ftol=float(opts["ftol"]),
                     gtol=float(opts["gtol"]), maxfun=int(opts["maxfun"]),
                     maxiter=int(opts["maxiter"]), maxls=int(opts["maxls"]))
    elif key == "bfgs":
        maxiter = 200 * d if opts["maxiter"] is None else int(opts["maxiter"])
        bfgs_batch(obj, x, out, gtol=float(opts["gtol"]), maxiter=maxiter,
                   maxls=int(opts["maxls"]))
    else:
        maxiter, maxfev = _nelder_mead_limits(opts["maxiter"], opts["maxfev"], d)
        nelder_mead_batch(obj, x, lb, ub, out, maxiter=maxiter, maxfev=maxfev,
                          xatol=float(opts["xatol"]), fatol=float(opts["fatol"]))


def _block_rows(options: Mapping[str, Any] | None) -> int | None:
    """The ``block_rows`` option as a positive int, or None (sized from timings)."""
    value = (options or {}).get("block_rows")
    if value is None:
        return None
    if int(value) < 1:
        raise ValueError(f"block_rows must be a positive integer, got {value!r}")
    return int(value)


def _nelder_mead_limits(maxiter: Any, maxfev: Any, d: int) -> tuple[float, float]:
    """scipy's rule: both 200 d when neither is given; one given leaves the other unlimited."""
    default = 200 * d
    if maxiter is None and maxfev is None:
        return default, default
    if maxiter is None:
        return (default if maxfev == np.inf else np.inf), float(maxfev)
    if maxfev is None:
        return float(maxiter), (default if maxiter == np.inf else np.inf)
    return float(maxiter), float(maxfev)


def _parse_x0(x0: npt.ArrayLike) -> FloatArray:
    try:
        x = np.array(x0, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"x0 must be a numeric array of shape (k, d): {exc}") from exc
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (k, d) (one start per row), got shape {x.shape}")
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))[:10].tolist()
        raise ValueError(f"x0 must be finite; rows {rows} hold NaN or infinite entries")
    return x


def _parse_bounds(bounds: Any, d: int, name: str) -> tuple[FloatArray, FloatArray]:
    if bounds is None:
        return np.full(d, -np.inf), np.full(d, np.inf)
    if name == "BFGS":
        warnings.warn("Method BFGS cannot handle constraints nor bounds.", RuntimeWarning,
                      stacklevel=3)
        return np.full(d, -np.inf), np.full(d, np.inf)
    box = standardize_bounds(bounds, d)
    return np.asarray(box.lb, dtype=float), np.asarray(box.ub, dtype=float)


def _parse_options(key: str, defaults: Mapping[str, Any], tol: float | None,
                   options: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(options or {})
    unknown = sorted(set(given) - set(defaults) - set(BATCH_OPTIONS))
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(unknown)}", OptimizeWarning,
                      stacklevel=3)
    if given.get("adaptive"):
        raise ValueError("minimize_batch's Nelder-Mead does not support adaptive=True")
    if given.get("hess_inv0") is not None:
        raise ValueError("minimize_batch's BFGS does not support hess_inv0")
    opts: dict[str, Any] = {"eps": None, "finite_diff_rel_step": None, **BATCH_OPTIONS,
                            **defaults}
    if tol is not None:
        opts.update({name: tol for name in _TOL_KEYS[key]})
    opts.update({k: v for k, v in given.items() if k not in unknown})
    if opts.get("maxls") is not None and not int(opts["maxls"]) > 0:
        raise ValueError("maxls must be positive.")
    return opts
