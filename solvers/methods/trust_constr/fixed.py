"""Variables fixed by ``lb == ub`` in trust-constr: removed from the problem, held exact.

scipy 1.17's trust-constr widens every bound by one ulp, so a variable with ``lb == ub`` becomes
a two-ulp box that the interior point method moves inside: ``fun``, ``jac`` and the constraints
see values next to the fixed one, never quite it.  Here (as for every bounded method) the fixed
variables are taken out of the problem: trust-constr runs on the free variables only, and every
user function — objective, gradient, Hessian, Hessian product, constraint functions, their
Jacobians and Hessians, the callback — receives ``x`` of full size with the fixed values exact.
The run's state (the callback's ``intermediate_result`` and the result) is reported at full
size: ``x`` with the fixed values; ``grad``, ``lagrangian_grad`` and constraint Jacobian columns
of the fixed variables NaN (not computed; a `LinearConstraint` keeps its known columns); the
bounds constraint's value ``x``, Jacobian the identity, multipliers of fixed variables NaN.

Nothing here runs when no variable is fixed (or when every one is: scipy's behaviour is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.bounds import Bounds
from ..._core.callback import Iterations
from ..._core.constraints import LinearConstraint, NonlinearConstraint
from ..._core.context import RunContext
from ..._core.stops import RunStopped
from ..._result import OptimizeResult

__all__ = ["FixedVariables", "fixed_by_bounds", "solve_without_fixed"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FixedVariables:
    """Which variables ``lb == ub`` fixes (``fixed``, shape (n,)) and their values."""

    fixed: BoolArray
    values: FloatArray

    @property
    def free(self) -> BoolArray:
        return ~self.fixed

    def expand(self, z: Any, fill: float | None = None) -> FloatArray:
        """The full vector, shape (n,): ``z`` (shape (n_free,)) in the free entries, the fixed
        values (or ``fill``) in the others."""
        z = np.asarray(z)
        x = np.empty(self.fixed.size, dtype=np.result_type(z.dtype, float))
        x[self.fixed] = self.values if fill is None else fill
        x[self.free] = z
        return x

    def expand_columns(self, J: Any, fixed_columns: FloatArray | None = None) -> FloatArray:
        """A Jacobian with all n columns, from one over the free variables, shape (m, n_free);
        the fixed columns are ``fixed_columns`` (shape (m, n_fixed)) or NaN."""
        J = np.atleast_2d(np.asarray(J, dtype=float))
        out = np.full((J.shape[0], self.fixed.size), np.nan)
        out[:, self.free] = J
        if fixed_columns is not None:
            out[:, self.fixed] = fixed_columns
        return out

    def free_part(self, value: Any) -> Any:
        """``value[free]`` for a per-variable array of size n; anything else unchanged."""
        if value is not None and np.ndim(value) == 1 and np.size(value) == self.fixed.size:
            return np.asarray(value)[self.free]
        return value


def fixed_by_bounds(bounds: Bounds | None) -> FixedVariables | None:
    """The variables the bounds fix, or None when none is fixed (or every one is)."""
    if bounds is None:
        return None
    fixed = np.asarray(bounds.lb == bounds.ub)
    if not fixed.any() or fixed.all():
        return None
    return FixedVariables(fixed, np.asarray(bounds.lb, dtype=float)[fixed])


# -- the user's functions on the free variables -----------------------------------------------
def _free_matrix(fv: FixedVariables, H: Any) -> Any:
    """A Hessian (dense, sparse or an operator with ``dot``) restricted to the free variables."""
    if hasattr(H, "toarray"):
        H = H.toarray()
    if isinstance(H, np.ndarray) or not hasattr(H, "dot"):
        H = np.atleast_2d(np.asarray(H, dtype=float))
        return H[np.ix_(fv.free, fv.free)]
    return _FreeOperator(fv, H)


class _FreeOperator:
    """An (n, n) operator restricted to the free variables (``dot`` pads with zeros)."""

    def __init__(self, fv: FixedVariables, H: Any) -> None:
        self._fv, self._H = fv, H
        k = int(fv.free.sum())
        self.shape = (k, k)

    def dot(self, p: Any) -> FloatArray:
        full = np.asarray(self._H.dot(self._fv.expand(p, fill=0.0)), dtype=float)
        return full[self._fv.free]


def _wrap_objective(ctx: RunContext, fv: FixedVariables) -> dict[str, Any]:
    fun, jac, hess, hessp = ctx.fun, ctx.jac, ctx.hess, ctx.hessp
    free = fv.free
    out: dict[str, Any] = {"jac": jac, "hess": hess, "hessp": hessp}
    if jac is True:
        def value_and_grad(z: Any, *a: Any) -> Any:
            f, g = fun(fv.expand(z), *a)
            return f, np.asarray(g)[free]
        out["fun"] = value_and_grad
    else:
        out["fun"] = lambda z, *a: fun(fv.expand(z), *a)
    if callable(jac):
        out["jac"] = lambda z, *a: np.asarray(jac(fv.expand(z), *a))[free]
    if callable(hess) and not hasattr(hess, "update"):
        out["hess"] = lambda z, *a: _free_matrix(fv, hess(fv.expand(z), *a))
    if callable(hessp):
        out["hessp"] = lambda z, p, *a: np.asarray(
            hessp(fv.expand(z), fv.expand(p, fill=0.0), *a))[free]
    return out


def _free_constraint(con: Any, fv: FixedVariables) -> tuple[Any, FloatArray | None]:
    """The constraint on the free variables, and its known Jacobian columns of the fixed ones."""
    if isinstance(con, LinearConstraint):
        A = con.A.toarray() if hasattr(con.A, "toarray") else con.A
        A = np.atleast_2d(np.asarray(A, dtype=float))
        shift = A[:, fv.fixed] @ fv.values
        return (LinearConstraint(A[:, fv.free], con.lb - shift, con.ub - shift,
                                 con.keep_feasible), A[:, fv.fixed])
    if not isinstance(con, NonlinearConstraint):
        raise ValueError("`constraint` of an unknown type is passed.")  # noqa: TRY004 - scipy's
    fun, jac, hess = con.fun, con.jac, con.hess
    free = fv.free

    def free_jac(z: Any) -> Any:
        J = jac(fv.expand(z))
        if hasattr(J, "toarray"):
            J = J.toarray()
        return np.atleast_2d(np.asarray(J, dtype=float))[:, free]

    sparsity = con.finite_diff_jac_sparsity
    if sparsity is not None and np.ndim(sparsity) == 2:
        sparsity = np.asarray(sparsity)[:, free]
    new = NonlinearConstraint(
        lambda z: fun(fv.expand(z)), con.lb, con.ub,
        jac=free_jac if callable(jac) else jac,
        hess=(lambda z, v: _free_matrix(fv, hess(fv.expand(z), v)))
        if callable(hess) and not hasattr(hess, "update") else hess,
        keep_feasible=con.keep_feasible, finite_diff_rel_step=fv.free_part(
            con.finite_diff_rel_step), finite_diff_jac_sparsity=sparsity)
    return new, None


# -- the run's state at full size ---------------------------------------------------------------
class _FullSizeIterations(Iterations):
    """Hands the reduced run's iterates to the caller's `Iterations` at full size; its callback
    is the full-size forwarder (trust-constr's ``(xk, state)`` protocol)."""

    def __init__(self, outer: Iterations, fv: FixedVariables,
                 forward: Callable[[FloatArray, OptimizeResult], Any] | None) -> None:
        super().__init__()
        self._outer, self._fv, self._forward = outer, fv, forward
        outer.nfev = lambda: self.nfev()

    def _grad(self, grad: FloatArray | None) -> FloatArray | None:
        return None if grad is None else self._fv.expand(grad, fill=0.0)  # trace: its norm

    def start(self, x: FloatArray, f: float, grad: FloatArray | None = None) -> None:
        self._outer.start(self._fv.expand(x), f, self._grad(grad))

    def step(self, x: FloatArray, f: float, grad: FloatArray | None = None,
             **extra: Any) -> None:
        self._outer.step(self._fv.expand(x), f, self._grad(grad), **extra)

    def detach_callback(self) -> Callable[..., Any] | None:
        return self._forward


@dataclass(frozen=True)
class _StateExpander:
    """Reports the reduced run's state (``intermediate_result`` / result) at full size."""

    fv: FixedVariables
    fixed_columns: tuple[FloatArray | None, ...]   # per user constraint

    def __call__(self, state: OptimizeResult) -> OptimizeResult:
        fv, out = self.fv, OptimizeResult(state)
        if "x" in state:
            out.x = fv.expand(state.x)
        for key in ("grad", "lagrangian_grad"):
            if key in state:
                out[key] = fv.expand(state[key], fill=np.nan)
        # the user's constraints, then the bounds (trust-constr's last constraint)
        out.jac = [*(fv.expand_columns(J, cols) for J, cols in
                     zip(state.jac, self.fixed_columns, strict=False)),
                   np.eye(fv.fixed.size)]
        out.constr = [*state.constr[:-1], fv.expand(state.constr[-1])]
        out.v = [*state.v[:-1], fv.expand(state.v[-1], fill=np.nan)]
        return out


def solve_without_fixed(ctx: RunContext, x0: FloatArray, bounds: Bounds, fv: FixedVariables,
                        run: Callable[[RunContext, FloatArray], OptimizeResult],
                        callback_caller: Callable[[Any], Any]) -> OptimizeResult:
    """Run trust-constr (``run(reduced_context, z0)``) on the free variables of ``bounds`` (the
    run's bounds, which fix ``fv``) and report the result at full size (module docstring).
    ``callback_caller`` turns the user's callback into trust-constr's ``caller(xk, state)``."""
    reduced_pairs = [_free_constraint(con, fv) for con in (ctx.constraints or ())]
    free = fv.free
    keep = np.broadcast_to(bounds.keep_feasible, free.shape)[free]
    expand_state = _StateExpander(fv, tuple(cols for _, cols in reduced_pairs))
    caller = callback_caller(ctx.iterations.detach_callback())
    forward = None
    if caller is not None:
        def forward(z: FloatArray, state: OptimizeResult) -> Any:
            return caller(fv.expand(z), expand_state(state))
    its = _FullSizeIterations(ctx.iterations, fv, forward)
    reduced = RunContext(args=ctx.args, bounds=Bounds(bounds.lb[free], bounds.ub[free], keep),
                         constraints=[con for con, _ in reduced_pairs], iterations=its,
                         **_wrap_objective(ctx, fv))
    try:
        result = run(reduced, np.asarray(x0, dtype=float)[free])
    except RunStopped:
        obj = reduced.objective
        if obj is not None and obj.best_x is not None:
            obj.best_x = fv.expand(obj.best_x)   # the stopped run's result is read from here
        ctx.objective = obj
        raise
    return expand_state(result)
