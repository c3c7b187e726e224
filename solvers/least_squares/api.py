"""`least_squares`: scipy 1.17's signature, validation, messages and result, numpy only.

The entry point validates every argument in scipy's order and with scipy's messages, builds
the counted `Residuals`, evaluates ``f0`` and ``J0``, and hands them to one of the methods
(`trf`, `dogbox`, `lm`); the result is scipy's ``OptimizeResult`` with ``x, cost, fun, jac,
grad, optimality, active_mask, nfev, njev, status, message, success`` (plus ``trace`` when
asked for).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.bounds import as_bounds, is_bounds_like
from .._core.trace import Trace
from .._result import OptimizeResult
from .common import EPS, in_bounds, make_strictly_feasible
from .dogbox import dogbox
from .lm import lm
from .losses import LOSSES, make_loss
from .monitor import Monitor
from .residuals import Residuals, dense_jacobian
from .settings import Outcome, Settings
from .trf import trf

__all__ = ["least_squares", "TERMINATION_MESSAGES"]

FloatArray = npt.NDArray[np.float64]

#: status -> message, scipy's words.
TERMINATION_MESSAGES = {
    -2: "Stopped because `callback` function raised `StopIteration` or returned `True`",
    -1: "Improper input parameters status returned from `leastsq`",
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}
#: MINPACK info -> status (6, 7, 8: a tolerance too small to be met, which scipy's checks
#: exclude up front; mapped onto the test they stand for).
_FROM_MINPACK = {0: -1, 1: 2, 2: 3, 3: 4, 4: 1, 5: 0, 6: 2, 7: 3, 8: 1}


def _check_choices(method: str, jac: Any, tr_solver: Any, loss: Any, verbose: Any,
                   max_nfev: Any) -> None:
    if method not in ("trf", "dogbox", "lm"):
        raise ValueError("`method` must be 'trf', 'dogbox' or 'lm'.")
    if not callable(jac) and jac not in ("2-point", "3-point", "cs"):
        raise ValueError("`jac` must be '2-point', '3-point', 'cs' or callable.")
    if tr_solver not in (None, "exact", "lsmr"):
        raise ValueError("`tr_solver` must be None, 'exact' or 'lsmr'.")
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {LOSSES.keys()} or a callable.")
    if method == "lm" and loss != "linear":
        raise ValueError("method='lm' supports only 'linear' loss function.")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be in [0, 1, 2].")
    if max_nfev is not None and max_nfev <= 0:
        raise ValueError("`max_nfev` must be None or positive integer.")


def _bounds(bounds: Any, n: int) -> tuple[FloatArray, FloatArray]:
    """``(lb, ub)`` from a bounds-like object (by its attributes) or a 2-sequence."""
    if is_bounds_like(bounds):
        converted = as_bounds(bounds)
        lb, ub = np.broadcast_arrays(np.atleast_1d(converted.lb), np.atleast_1d(converted.ub))
        return lb.astype(float), ub.astype(float)
    if len(bounds) != 2:
        raise ValueError("`bounds` must contain 2 elements.")
    lb, ub = (np.asarray(b, dtype=float) for b in bounds)
    return (np.resize(lb, n) if lb.ndim == 0 else lb), (np.resize(ub, n) if ub.ndim == 0 else ub)


def _x_scale(x_scale: Any, x0: FloatArray, method: str) -> FloatArray | str:
    if x_scale is None:
        if method == "lm":
            return "jac"
        x_scale = 1.0
    if isinstance(x_scale, str) and x_scale == "jac":
        return x_scale
    try:
        scale = np.asarray(x_scale, dtype=float)
        valid = bool(np.all(np.isfinite(scale)) and np.all(scale > 0))
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
    if scale.ndim == 0:
        scale = np.resize(scale, x0.shape)
    if scale.shape != x0.shape:
        raise ValueError("Inconsistent shapes between `x_scale` and `x0`.")
    return scale


def _tolerances(ftol: Any, xtol: Any, gtol: Any, method: str) -> tuple[float, float, float]:
    def check(tol: Any, name: str) -> float:
        if tol is None:
            return 0.0
        if tol < EPS:
            warnings.warn(f"Setting `{name}` below the machine epsilon ({EPS:.2e}) "
                          "effectively disables the corresponding termination condition.",
                          stacklevel=4)
        return float(tol)

    ftol, xtol, gtol = check(ftol, "ftol"), check(xtol, "xtol"), check(gtol, "gtol")
    if method == "lm" and (ftol < EPS or xtol < EPS or gtol < EPS):
        raise ValueError("All tolerances must be higher than machine epsilon "
                         f"({EPS:.2e}) for method 'lm'.")
    if ftol < EPS and xtol < EPS and gtol < EPS:
        raise ValueError("At least one of the tolerances must be higher than "
                         f"machine epsilon ({EPS:.2e}).")
    return ftol, xtol, gtol


def _start(x0: Any, bounds: Any, method: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    if np.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    x = np.atleast_1d(x0).astype(float)
    if x.ndim > 1:
        raise ValueError("`x0` must have at most 1 dimension.")
    lb, ub = _bounds(bounds, x.shape[0])
    if method == "lm" and not np.all((lb == -np.inf) & (ub == np.inf)):
        raise ValueError("Method 'lm' doesn't support bounds.")
    if lb.shape != x.shape or ub.shape != x.shape:
        raise ValueError("Inconsistent shapes between bounds and `x0`.")
    if np.any(lb >= ub):
        raise ValueError("Each lower bound must be strictly less than each upper bound.")
    if not in_bounds(x, lb, ub):
        raise ValueError("Initial guess is outside of provided bounds")
    return x, lb, ub


def _sparsity(jac_sparsity: Any, m: int, n: int) -> npt.NDArray[np.bool_] | None:
    if jac_sparsity is None:
        return None
    pattern, _ = dense_jacobian(jac_sparsity, n)
    if pattern.shape != (m, n):
        raise ValueError("`jac_sparsity` has wrong shape.")
    return pattern != 0


def _initial_cost(loss: Any, f0: FloatArray, f_scale: float) -> float:
    settings_loss = make_loss(loss, f_scale)
    if settings_loss is None:
        return 0.5 * float(np.dot(f0, f0))
    rho = settings_loss.rho(f0)
    if rho.shape != (3, f0.size):
        raise ValueError("The return value of `loss` callable has wrong shape.")
    return 0.5 * float(np.sum(rho[0]))


def _check_jacobian(J0: FloatArray, kind: str, m: int, n: int, method: str,
                    tr_solver: str | None, jac_by_x_scale: bool) -> str:
    """Validate ``J0``; return the trust-region solver to use."""
    if J0.shape != (m, n):
        raise ValueError(f"The return value of `jac` has wrong shape: expected {(m, n)}, "
                         f"actual {J0.shape}.")
    if kind != "dense":
        if method == "lm":
            raise ValueError("method='lm' works only with dense Jacobian matrices.")
        if tr_solver == "exact":
            raise ValueError("tr_solver='exact' works only with dense Jacobian matrices.")
    if kind == "operator" and jac_by_x_scale:
        raise ValueError("x_scale='jac' can't be used when `jac` returns LinearOperator.")
    if tr_solver is None:
        return "exact" if kind == "dense" else "lsmr"
    return tr_solver


def least_squares(
        fun: Callable[..., Any], x0: Any, jac: Any = "2-point",
        bounds: Any = (-np.inf, np.inf), method: str = "trf", ftol: float | None = 1e-8,
        xtol: float | None = 1e-8, gtol: float | None = 1e-8, x_scale: Any = None,
        loss: str | Callable[..., Any] = "linear", f_scale: float = 1.0, diff_step: Any = None,
        tr_solver: str | None = None, tr_options: Mapping[str, Any] | None = None,
        jac_sparsity: Any = None, max_nfev: int | None = None, verbose: int = 0,
        args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None,
        callback: Callable[..., Any] | None = None, workers: Any = None, *,
        trace: bool = False) -> OptimizeResult:
    """Solve a nonlinear least-squares problem with bounds on the variables (scipy 1.17's
    ``scipy.optimize.least_squares``).

    Minimises ``F(x) = 0.5 * sum(rho(f_i(x)**2))`` subject to ``lb <= x <= ub`` for the
    residuals ``f = fun(x, *args, **kwargs)`` (m,) of ``x`` (n,).  Every argument means what
    it means in scipy: ``jac`` ('2-point', '3-point', 'cs' or a callable returning (m, n),
    dense, sparse or a linear operator, densified here), ``bounds`` (a 2-tuple or a
    ``Bounds``-like object), ``method`` ('trf', 'dogbox', 'lm'), tolerances (None disables
    one), ``x_scale`` (array or 'jac'; default 1 for trf/dogbox and 'jac' for lm), ``loss``
    ('linear', 'soft_l1', 'huber', 'cauchy', 'arctan' or a callable ``rho(z) -> (3, m)``),
    ``f_scale``, ``diff_step`` (relative step), ``tr_solver`` ('exact', or 'lsmr' with our
    own LSMR), ``tr_options``, ``jac_sparsity`` (its zeros are imposed on a dense
    finite-difference Jacobian), ``max_nfev`` (default ``100 n``), ``verbose`` (0, 1, 2),
    ``callback(x)`` or ``callback(intermediate_result)`` (StopIteration stops with status
    -2), ``workers`` (accepted; evaluations run serially).

    trace : bool, keyword only (our extension)
        Record per iteration x, cost, optimality (as ``grad_norm``) and cumulative nfev in
        ``result.trace`` (a `Trace`; row 0 is the start).  For 'lm' one row per Jacobian
        with MINPACK's scaled gradient measure as ``grad_norm``, and a last row at the
        returned point with its optimality.

    Returns
    -------
    OptimizeResult
        ``x`` (n,), ``cost``, ``fun`` (m,), ``jac`` (m, n; scaled by the loss), ``grad`` (n,),
        ``optimality``, ``active_mask`` (n,), ``nfev``, ``njev``, ``status``, ``message``,
        ``success``; ``trace`` when asked for.

    Raises
    ------
    ValueError
        With scipy's message for every invalid argument and for non-finite initial residuals.
    """
    del workers  # accepted for compatibility: evaluations run serially, results identical
    _check_choices(method, jac, tr_solver, loss, verbose, max_nfev)
    x0, lb, ub = _start(x0, bounds, method)
    scale = _x_scale(x_scale, x0, method)
    ftol_, xtol_, gtol_ = _tolerances(ftol, xtol, gtol, method)
    if method == "trf":
        x0 = make_strictly_feasible(x0, lb, ub)
    residuals = Residuals(fun, jac, lb, ub, args=tuple(args), kwargs=dict(kwargs or {}),
                          diff_step=diff_step)
    f0 = _initial_residuals(residuals, x0)
    n, m = x0.size, f0.size
    if not callable(jac) and method != "lm":
        residuals.sparsity = _sparsity(jac_sparsity, m, n)
    J0 = residuals.jacobian(x0)
    if method == "lm" and m < n:
        raise ValueError("Method 'lm' doesn't work when the number of residuals is less "
                         "than the number of variables.")
    initial_cost = _initial_cost(loss, f0, f_scale)
    if not callable(jac) and jac_sparsity is not None:
        if method == "lm":
            raise ValueError("method='lm' does not support `jac_sparsity`.")
        if tr_solver == "exact":
            raise ValueError("tr_solver='exact' is incompatible with `jac_sparsity`.")
    solver = _check_jacobian(J0, residuals.kind, m, n, method, tr_solver,
                             isinstance(scale, str))
    if method == "lm":
        if callback is not None:
            warnings.warn("Callback function specified, but not supported with `lm` method.",
                          stacklevel=2)
        result = _solve_lm(residuals, x0, f0, J0, jac, (ftol_, xtol_, gtol_), max_nfev,
                           scale, trace)
    else:
        options = dict(tr_options or {})
        if method == "dogbox" and solver == "lsmr" and "regularize" in options:
            warnings.warn("The keyword 'regularize' in `tr_options` is not relevant for "
                          "'dogbox' method.", stacklevel=2)
            del options["regularize"]
        settings = Settings(ftol=ftol_, xtol=xtol_, gtol=gtol_,
                            max_nfev=100 * n if max_nfev is None else int(max_nfev),
                            x_scale=scale, loss=make_loss(loss, f_scale), tr_solver=solver,
                            tr_options=options)
        monitor = Monitor(callback, trace=trace, verbose=verbose)
        run = trf if method == "trf" else dogbox
        result = _result(run(residuals, x0, f0, J0, lb, ub, settings, monitor))
        if isinstance(monitor.trace, Trace):
            result["trace"] = monitor.trace
    if verbose >= 1:
        print(result.message)
        print(f"Function evaluations {result.nfev}, initial cost {initial_cost:.4e}, "
              f"final cost {result.cost:.4e}, "
              f"first-order optimality {result.optimality:.2e}.")
    return result


def _initial_residuals(residuals: Residuals, x0: FloatArray) -> FloatArray:
    """``fun(x0)``, checked as scipy checks it (a 1-d array of finite values)."""
    f0 = residuals.values(x0)
    if not callable(residuals.jac) and f0.ndim > 1:  # scipy's differencing sees it first
        raise ValueError("`f0` passed has more than 1 dimension.")
    if f0.ndim != 1:
        raise ValueError(f"`fun` must return at most 1-d array_like. f0.shape: {f0.shape}")
    if not np.all(np.isfinite(f0)):
        raise ValueError("Residuals are not finite in the initial point.")
    return f0


def _solve_lm(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray, jac: Any,
              tolerances: tuple[float, float, float], max_nfev: int | None,
              scale: FloatArray | str, trace: bool) -> OptimizeResult:
    """Run lm and build its result (with the trace when asked for)."""
    lm_trace = Trace() if trace else None
    outcome = _run_lm(residuals, x0, f0, J0, jac, *tolerances, max_nfev, scale, lm_trace)
    result = _result(outcome)
    if lm_trace is not None:
        lm_trace.record(outcome.x, outcome.cost, outcome.optimality, outcome.nfev)
        result["trace"] = lm_trace
    return result


def _run_lm(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray, jac: Any,
            ftol: float, xtol: float, gtol: float, max_nfev: int | None,
            scale: FloatArray | str, trace: Trace | None) -> Outcome:
    """MINPACK-style LM from ``x0`` with ``f0`` and ``J0`` known; scipy's result fields."""
    diag = None if isinstance(scale, str) else 1 / scale
    run = lm(residuals, x0, f0, J0, ftol=ftol, xtol=xtol, gtol=gtol,
             max_nfev=100 * x0.size if max_nfev is None else int(max_nfev), diag=diag,
             record=None if trace is None else trace.record)
    J = run.jac if np.array_equal(run.jac_x, run.x) else residuals.jacobian(run.x)
    g = J.T.dot(run.fun)
    return Outcome(x=run.x, cost=0.5 * float(np.dot(run.fun, run.fun)), fun=run.fun, jac=J,
                   grad=g, optimality=float(np.linalg.norm(g, ord=np.inf)),
                   active_mask=np.zeros_like(x0, dtype=int), nfev=run.nfev,
                   njev=run.njev if callable(jac) else None, status=_FROM_MINPACK[run.info])


def _result(outcome: Outcome) -> OptimizeResult:
    return OptimizeResult(
        x=outcome.x, cost=outcome.cost, fun=outcome.fun, jac=outcome.jac, grad=outcome.grad,
        optimality=outcome.optimality, active_mask=outcome.active_mask, nfev=outcome.nfev,
        njev=outcome.njev, status=outcome.status,
        message=TERMINATION_MESSAGES[outcome.status], success=outcome.status > 0)
