"""Problem assembly for trust-constr: bounds, objective, Hessians and prepared constraints.

As scipy does: finite bounds are widened by one ulp (`widened_bounds`), finite differences only
respect the bounds marked ``keep_feasible`` (`strict_bounds`), the gradient defaults to
'2-point' differences with relative steps, the objective Hessian to `BFGS()` (or an operator
built from ``hessp``), and the bounds become one more constraint after the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.bounds import Bounds
from ..._core.context import RunContext
from ..._core.hessian import HessianSource, make_hessian
from ..._core.hessian_update import BFGS
from ..._core.objective import ScalarObjective
from .canonical import Canonical, LagrangianHessian, Prepared
from .vector import IdentityFunction, make_vector_function

__all__ = ["widened_bounds", "strict_bounds", "build_objective", "prepare_constraints",
           "ObjectiveHessian", "lagrangian_hessian"]

FloatArray = npt.NDArray[np.float64]


def widened_bounds(bounds: Bounds) -> Bounds:
    """The bounds with every finite limit moved outwards by one ulp (scipy's ``nextafter``)."""
    lb = np.where(np.isfinite(bounds.lb), np.nextafter(bounds.lb, -np.inf), bounds.lb)
    ub = np.where(np.isfinite(bounds.ub), np.nextafter(bounds.ub, np.inf), bounds.ub)
    keep = np.broadcast_to(bounds.keep_feasible, lb.shape).copy()
    return Bounds(lb, ub, keep)


def strict_bounds(bounds: Bounds | None, n: int) -> tuple[FloatArray, FloatArray]:
    """Bounds that must never be left (those marked ``keep_feasible``), shape (n,) each."""
    lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
    if bounds is not None:
        keep = np.broadcast_to(bounds.keep_feasible, (n,))
        lb[keep], ub[keep] = bounds.lb[keep], bounds.ub[keep]
    return lb, ub


def build_objective(ctx: RunContext, strict: tuple[FloatArray, FloatArray],
                    rel_step: Any) -> ScalarObjective:
    """The counted objective: '2-point' gradient by default, steps inside the strict bounds."""
    if ctx.jac is None:
        ctx.jac = "2-point"
    saved = ctx.bounds
    lb, ub = strict
    ctx.bounds = Bounds(lb, ub) if np.isfinite(lb).any() or np.isfinite(ub).any() else None
    try:
        return ctx.make_objective(rel_step=rel_step)
    finally:
        ctx.bounds = saved


class ObjectiveHessian:
    """The objective's Hessian at ``x`` through a `HessianSource`, counted as scipy counts it:
    calls of ``hess``; Hessians requested at new points for ``hessp``; 0 otherwise."""

    def __init__(self, ctx: RunContext, obj: ScalarObjective, n: int, rel_step: Any) -> None:
        if ctx.hess is None and not callable(ctx.hessp):
            ctx.hess = BFGS()
        if ctx.hess is not None:
            ctx.hessp = None
        self.source: HessianSource = make_hessian(ctx, obj, method="trust-constr",
                                                  rel_step=rel_step, n=n)
        self._last: FloatArray | None = None
        self._requests = 0

    def __call__(self, x: FloatArray) -> Any:
        if self._last is None or not np.array_equal(x, self._last):
            self._requests += 1
            self._last = np.array(x, dtype=float)
        return self.source.hess(x)

    @property
    def nhev(self) -> int:
        kind = self.source.kind
        if kind in ("hess", "operator"):
            return self.source.nhev
        return self._requests if kind == "hessp" else 0


def _limits(con: Any, m: int) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    try:
        lb = np.broadcast_to(np.asarray(con.lb, dtype=float), (m,)).copy()
        ub = np.broadcast_to(np.asarray(con.ub, dtype=float), (m,)).copy()
        keep = np.broadcast_to(np.asarray(con.keep_feasible, dtype=bool), (m,)).copy()
    except ValueError as exc:
        raise ValueError(f"{type(con).__name__}: `lb`, `ub` and `keep_feasible` must be "
                         f"broadcastable to the {m} constraint values.") from exc
    return lb, ub, keep


def _check_keep_feasible(prepared: Prepared) -> None:
    f0 = prepared.fun.f
    mask = prepared.keep_feasible & (prepared.lb != prepared.ub)
    if np.any(f0[mask] < prepared.lb[mask]) or np.any(f0[mask] > prepared.ub[mask]):
        raise ValueError("`x0` is infeasible with respect to some inequality constraint with "
                         "`keep_feasible` set to True.")


def prepare_constraints(constraints: Sequence[Any], bounds: Bounds | None, x0: FloatArray,
                        strict: tuple[FloatArray, FloatArray]) -> list[Prepared]:
    """The user's constraints, then the (widened) bounds, as `Prepared` constraints."""
    out = []
    for con in constraints:
        fun = make_vector_function(con, x0, *strict)
        prepared = Prepared(fun, *_limits(con, fun.m))
        _check_keep_feasible(prepared)
        out.append(prepared)
    if bounds is not None:
        prepared = Prepared(IdentityFunction(x0), *_limits(bounds, x0.size))
        _check_keep_feasible(prepared)
        out.append(prepared)
    return out


def lagrangian_hessian(objective_hess: ObjectiveHessian, canonical: Canonical) -> Any:
    """``lagr_hess(x, v_eq, v_ineq=None)`` -> the Lagrangian's Hessian operator at ``x``."""
    empty = np.zeros(0)

    def lagr_hess(x: FloatArray, v_eq: FloatArray, v_ineq: FloatArray | None = None) -> Any:
        H = objective_hess(x)
        return LagrangianHessian(H, canonical.hess(x, v_eq, empty if v_ineq is None
                                                   else v_ineq))
    return lagr_hess
