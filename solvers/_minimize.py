"""`minimize`: scipy's entry point — normalise the inputs, warn as scipy warns, dispatch.

No method name appears in an ``if`` here: every method fact comes from `_registry.METHODS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._core.bounds import Bounds, standardize_bounds
from ._core.callback import Iterations
from ._core.constraints import standardize_constraints
from ._core.constraints_fixed import (
    constraints_need_fd,
    drop_fixed_variables,
    fixed_point_result_message,
)
from ._core.context import RunContext
from ._core.finite_diff import FD_METHODS
from ._core.stops import RunStopped
from ._options import split_options
from ._registry import MethodSpec, get_method
from ._result import MESSAGES, OptimizeResult, OptimizeWarning

__all__ = ["minimize", "validate_x0"]

FloatArray = npt.NDArray[np.float64]


def validate_x0(x0: Any) -> FloatArray:
    """Return ``x0`` as a finite 1-d float array, or raise `ValueError` saying what is wrong."""
    try:
        arr = np.atleast_1d(np.asarray(x0))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'x0' must be a 1-d array of real numbers: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"'x0' must only have one dimension, got shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"'x0' must hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr)).tolist()
        raise ValueError(f"'x0' must be finite; entries {bad} are {arr[bad].tolist()}.")
    return arr


def _warn_unused(spec: MethodSpec, method: str, *, jac: Any, hess: Any, hessp: Any,
                 bounds: Any, constraints: Any, options: dict[str, Any]) -> None:
    checks = [
        (not spec.uses_jac and bool(jac), "does not use gradient information (jac)."),
        (not spec.uses_hess and hess is not None, "does not use Hessian information (hess)."),
        (not spec.uses_hessp and hessp is not None,
         "does not use Hessian-vector product information (hessp)."),
        (not spec.supports_constraints and np.any(constraints), "cannot handle constraints."),
        (not spec.supports_bounds and bounds is not None, "cannot handle bounds."),
        (not spec.supports_return_all and options.get("return_all", False),
         "does not support the return_all option."),
    ]
    for unused, text in checks:
        if unused:
            warnings.warn(f"Method {method} {text}", RuntimeWarning, stacklevel=4)


def _normalise_jac(spec: MethodSpec, jac: Any) -> Any:
    if callable(jac) or jac is True:
        return jac
    if isinstance(jac, str) and jac in FD_METHODS and spec.uses_jac:
        return jac
    return None


class _FixedVariables:
    """Removes variables fixed by ``lb == ub`` from the problem and puts them back."""

    def __init__(self, fixed: npt.NDArray[np.bool_], values: FloatArray) -> None:
        self.fixed, self.values = fixed, values

    def expand(self, z: FloatArray) -> FloatArray:
        x = np.empty(self.fixed.size, dtype=np.result_type(z, float))
        x[self.fixed] = self.values
        x[~self.fixed] = z
        return x

    def wrap_fun(self, fun: Callable[..., Any]) -> Callable[..., Any]:
        return lambda z, *a: fun(self.expand(z), *a)

    def wrap_jac(self, jac: Callable[..., Any]) -> Callable[..., Any]:
        return lambda z, *a: np.asarray(jac(self.expand(z), *a))[~self.fixed]

    def wrap_value_and_grad(self, fun: Callable[..., Any]) -> Callable[..., Any]:
        def value_and_grad(z: FloatArray, *a: Any) -> Any:
            f, g = fun(z, *a)
            return f, np.asarray(g)[~self.fixed]
        return value_and_grad

    def wrap_callback(self, callback: Callable[..., Any] | None) -> Callable[..., Any] | None:
        if callback is None:
            return None
        from ._core.callback import wants_intermediate_result
        if wants_intermediate_result(callback):
            def patched(intermediate_result: OptimizeResult) -> Any:
                intermediate_result.x = self.expand(intermediate_result.x)
                return callback(intermediate_result=intermediate_result)
            return patched
        return lambda z: callback(self.expand(z))


class _ValueAndGrad:
    """Splits ``fun(x) -> (f, g)`` into ``self(x) -> f`` and ``self.derivative(x) -> g``.

    One call of ``fun`` serves both at the same ``x`` (the pair is kept for the last point).
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.fun = fun
        self._x: Any = None
        self._pair: Any = None

    def _pair_at(self, x: Any, *args: Any) -> Any:
        if self._pair is None or not np.array_equal(x, self._x):
            self._x = np.array(x, copy=True)
            self._pair = self.fun(x, *args)
        return self._pair

    def __call__(self, x: Any, *args: Any) -> Any:
        return self._pair_at(x, *args)[0]

    def derivative(self, x: Any, *args: Any) -> Any:
        return self._pair_at(x, *args)[1]


def _stopped_result(spec: MethodSpec, ctx: RunContext, stop: RunStopped,
                    x0: FloatArray) -> OptimizeResult:
    """The result of a run ended early: the last iterate (callback stop) or the best point."""
    obj, its = ctx.objective, ctx.iterations
    if stop.reason == "callback" and its.last_x is not None:
        x, f = its.last_x, its.last_f
    elif obj is not None and obj.best_x is not None:
        x, f = obj.best_x, obj.best_f
    elif its.last_x is not None:
        x, f = its.last_x, its.last_f
    else:  # stopped before any finite evaluation
        x, f = x0, np.nan
    message = spec.stop_messages.get(stop.reason, MESSAGES[stop.reason])
    if stop.reason == "non_finite":
        message = message.format(value=getattr(stop, "value", np.nan))
    res = OptimizeResult(
        x=np.array(x, dtype=float), fun=float(f), success=False,
        status=spec.stop_status[stop.reason], message=message, nit=its.nit,
        nfev=obj.nfev if obj else 0,
    )
    if spec.uses_jac and obj is not None:
        res.njev = obj.njev
        g = obj.cached_grad(res.x)
        if g is not None:
            res.jac = g
    return res


#: a final point violating a constraint by more than this is reported as infeasible
INFEASIBLE_TOL = 1e-6


def _note_infeasible(res: OptimizeResult, constraints: Any) -> None:
    """Say in the message when an unsuccessful run ends outside the constraints."""
    from ._core.constraints import ConstraintFunctions

    x = np.asarray(res.x, dtype=float)
    try:
        with np.errstate(all="ignore"):
            violation = ConstraintFunctions(constraints, x).violation(x)
    except Exception:  # noqa: BLE001 - a constraint that fails here was reported by the run
        return
    if violation > INFEASIBLE_TOL or not np.isfinite(violation):
        text = str(res.message).rstrip()
        sep = " " if text.endswith(".") else ". "
        res.message = (f"{text}{sep}The constraints could not be satisfied (largest violation "
                       f"at the returned point: {violation:.3g}).")


def _warn_unsuccessful(spec: MethodSpec, res: OptimizeResult, stopped_by: str | None) -> bool:
    """With ``disp``: warn with the message, as scipy does, when the run ended unsuccessfully
    by the method's own rules (not by a callback or a non-finite value); say if it warned."""
    if spec.disp_warning is None or res.success or stopped_by in ("callback", "non_finite"):
        return False
    warnings.warn(str(res.message), spec.disp_warning, stacklevel=3)
    return True


def _print_summary(res: OptimizeResult, *, message: bool = True) -> None:
    if message:
        print(res.message)
    print(f"         Current function value: {res.fun:f}")
    print(f"         Iterations: {res.get('nit', 0)}")
    print(f"         Function evaluations: {res.get('nfev', 0)}")
    if "njev" in res:
        print(f"         Gradient evaluations: {res['njev']}")


def minimize(fun: Callable[..., Any], x0: Any, args: Any = (), method: Any = None,
             jac: Any = None, hess: Any = None, hessp: Any = None, bounds: Any = None,
             constraints: Any = (), tol: float | None = None,
             callback: Callable[..., Any] | None = None,
             options: dict[str, Any] | None = None) -> OptimizeResult:
    """Minimize a scalar function of one or more variables, as `scipy.optimize.minimize`.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` with ``x`` of shape (n,).
    x0 : array_like, shape (n,)
        Initial guess; integers become floats; it must be finite.
    args : tuple
        Extra arguments for ``fun``, ``jac``, ``hess`` (a non-tuple is wrapped).
    method : str or callable, optional
        Method name (case-insensitive) or a custom method; default SLSQP with constraints,
        L-BFGS-B with bounds, BFGS otherwise.
    jac : callable, bool or {'2-point', '3-point', 'cs'}, optional
        Gradient: a callable, True when ``fun`` returns ``(f, g)``, a finite-difference scheme,
        or None (forward differences with absolute step ``eps``).
    hess, hessp : callable, optional
        Hessian or Hessian-vector product (for the Newton-type methods).
    bounds : `Bounds` or sequence of (min, max), optional
        Box bounds; None means unbounded on that side.  ``x0`` outside the bounds is clipped for
        the methods that need a feasible start (L-BFGS-B, TNC, SLSQP silently; Nelder-Mead and
        Powell with an `OptimizeWarning`).
    constraints : dict or sequence, optional
        Constraints (for the constrained methods).
    tol : float, optional
        Termination tolerance, mapped onto each method's own options as scipy maps it.
    callback : callable, optional
        ``callback(xk)`` after each iteration, or ``callback(intermediate_result)``; raising
        `StopIteration` ends the run with the method's scipy status (99 for most).
    options : dict, optional
        Method options (see `show_options`), plus ``trace=True`` to record ``result.trace``.

    Returns
    -------
    OptimizeResult
    """
    x0_dtype = np.asarray(x0).dtype
    x0 = validate_x0(x0)
    if not isinstance(args, tuple):
        args = (args,)
    if method is None:
        method = "SLSQP" if constraints else ("L-BFGS-B" if bounds is not None else "BFGS")
    options = dict(options or {})
    if callable(method):
        if tol is not None:
            options.setdefault("tol", tol)
        if jac is True:  # scipy hands a custom method the value and the gradient separately
            fun = _ValueAndGrad(fun)
            jac = fun.derivative
        elif not callable(jac):
            jac = None
        return method(fun, x0, args=args, jac=jac, hess=hess, hessp=hessp, bounds=bounds,
                      constraints=constraints, callback=callback, **options)
    if not isinstance(method, str):
        raise ValueError(f"'method' must be a string or a callable, got {type(method).__name__}.")
    spec = get_method(method)
    _warn_unused(spec, method, jac=jac, hess=hess, hessp=hessp, bounds=bounds,
                 constraints=constraints, options=options)
    jac = _normalise_jac(spec, jac)
    if spec.constraint_form is not None:  # scipy's standardize_constraints
        constraints = standardize_constraints(constraints, x0, spec.constraint_form)
    if tol is not None:
        for key in spec.tol_keys:
            options.setdefault(key, tol)

    trace = bool(options.pop("trace", False))
    disp = bool(options.pop("disp", False))
    # a method without return_all gets it as an unknown option (scipy's OptimizeWarning)
    keep_all = spec.supports_return_all and bool(options.pop("return_all", False))
    std_bounds: Bounds | None = None
    fixed: _FixedVariables | None = None
    if bounds is not None and spec.supports_bounds:
        std_bounds = standardize_bounds(bounds, x0.size)
        outside = np.any(x0 < std_bounds.lb) or np.any(x0 > std_bounds.ub)
        if outside and spec.clip_x0 == "warn":
            warnings.warn("Initial guess is not within the specified bounds", OptimizeWarning,
                          stacklevel=2)
        if spec.clip_x0 is not None:
            x0 = np.clip(x0, std_bounds.lb, std_bounds.ub)
        is_fixed = std_bounds.lb == std_bounds.ub
        if is_fixed.all() and spec.remove_fixed:
            f = float(fun(x0, *args))
            ok, text = fixed_point_result_message(constraints, x0)
            return OptimizeResult(x=x0, fun=f, success=ok, status=0 if ok else 4, nfev=1,
                                  njev=0, nit=0, message=text)
        fd_needed = (not callable(jac) and jac is not True) or (
            spec.constraint_form == "old" and constraints_need_fd(constraints))
        needs_removal = spec.remove_fixed == "always" or (spec.remove_fixed == "fd" and fd_needed)
        if is_fixed.any() and needs_removal:
            fixed = _FixedVariables(is_fixed, std_bounds.lb[is_fixed])
            fun = fixed.wrap_fun(fun)
            if callable(jac):
                jac = fixed.wrap_jac(jac)
            elif jac is True:
                fun = fixed.wrap_value_and_grad(fun)
            callback = fixed.wrap_callback(callback)
            if spec.constraint_form == "old":
                constraints = drop_fixed_variables(constraints, is_fixed, fixed.values)
            keep = ~is_fixed
            x0 = x0[keep]
            std_bounds = Bounds(std_bounds.lb[keep], std_bounds.ub[keep],
                                std_bounds.keep_feasible[keep])

    runner = spec.runner
    options = split_options(runner, options)
    ctx = RunContext(fun=fun, args=args, jac=jac, hess=hess, hessp=hessp, bounds=std_bounds,
                     constraints=constraints,
                     iterations=Iterations(callback, trace=trace, keep_all=keep_all))
    stopped_by: str | None = None
    try:
        res = runner(ctx, x0, **options)
    except RunStopped as stop:
        res = _stopped_result(spec, ctx, stop, x0)
        stopped_by = stop.reason
    if spec.supports_constraints and len(constraints) and not res.success:
        _note_infeasible(res, constraints)
    if trace:
        res.trace = ctx.iterations.trace
    if keep_all:
        res.allvecs = ctx.iterations.allvecs
    if fixed is not None:
        res.x = fixed.expand(res.x)
        if "jac" in res:
            res.jac = fixed.expand(np.asarray(res.jac, dtype=float)) * np.where(
                fixed.fixed, np.nan, 1.0)
        if "hess_inv" in res:
            res.hess_inv = None
        if keep_all:
            res.allvecs = [fixed.expand(v) for v in res.allvecs]
    if spec.keeps_x0_dtype and x0_dtype.kind == "f" and x0_dtype != res.x.dtype:
        res.x = res.x.astype(x0_dtype)
    if disp:
        warned = _warn_unsuccessful(spec, res, stopped_by)
        _print_summary(res, message=not warned)
    return res
