"""trust-constr's canonical constraint: all constraints as ``c_eq(x) = 0`` and ``c_ineq(x) <= 0``.

Each prepared constraint ``lb <= f(x) <= ub`` (a user constraint or the bounds) contributes, in
scipy's order: equality rows ``f_i - lb_i`` where ``lb_i == ub_i``; inequality rows
``f_i - ub_i`` (upper side only), ``lb_i - f_i`` (lower side only), then for two-sided
intervals ``f_i - ub_i`` followed by ``lb_i - f_i``.  Components free on both sides are
dropped.  Every row is ``sign * (f_i - bound_i)`` with ``sign = +1`` or ``-1``; the multiplier
of the prepared constraint's component ``i`` is the signed sum of its rows' multipliers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .vector import ZeroOperator

__all__ = ["Prepared", "Canonical", "LagrangianHessian"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass
class Prepared:
    """One constraint ``lb <= fun(x) <= ub`` with its vector function (see `vector`)."""

    fun: Any
    lb: FloatArray
    ub: FloatArray
    keep_feasible: npt.NDArray[np.bool_]

    def violation(self) -> float:
        """Largest ``lb - f`` or ``f - ub`` at the function's memoised point (0 if none)."""
        f = self.fun.f
        if f.size == 0:
            return 0.0
        return float(max(np.max(self.lb - f), np.max(f - self.ub)))


def _rows(lb: FloatArray, ub: FloatArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """``(eq_idx, ineq_idx, ineq_sign, ineq_bound)`` in scipy's canonical order."""
    free_lo, free_hi = lb == -np.inf, ub == np.inf
    if np.all(free_lo) and np.all(free_hi):
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0), np.zeros(0)
    if np.all(lb == ub):
        return np.arange(lb.size), np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0)
    equal = np.flatnonzero(lb == ub)
    upper = np.flatnonzero(free_lo & ~free_hi)
    lower = np.flatnonzero(free_hi & ~free_lo)
    both = np.flatnonzero(~(lb == ub) & ~free_lo & ~free_hi)
    idx = np.concatenate((upper, lower, both, both)).astype(np.intp)
    sign = np.concatenate((np.ones(upper.size), -np.ones(lower.size), np.ones(both.size),
                           -np.ones(both.size)))
    bound = np.where(sign > 0, ub[idx], lb[idx])
    return equal, idx, sign, bound


class _Piece:
    """The canonical rows of one prepared constraint."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared
        self.eq_idx, self.ineq_idx, self.sign, self.bound = _rows(prepared.lb, prepared.ub)
        self.eq_target = prepared.lb[self.eq_idx]
        self.n_eq, self.n_ineq = self.eq_idx.size, self.ineq_idx.size
        self.keep_feasible = prepared.keep_feasible[self.ineq_idx]
        self.active = self.n_eq + self.n_ineq > 0

    def values(self, f: FloatArray) -> tuple[FloatArray, FloatArray]:
        return (f[self.eq_idx] - self.eq_target,
                self.sign * (f[self.ineq_idx] - self.bound))

    def jacobians(self, J: FloatArray) -> tuple[FloatArray, FloatArray]:
        return J[self.eq_idx], self.sign[:, None] * J[self.ineq_idx]

    def multipliers(self, v_eq: FloatArray, v_ineq: FloatArray) -> FloatArray:
        v = np.zeros(self.prepared.lb.size)
        v[self.eq_idx] = v_eq
        np.add.at(v, self.ineq_idx, self.sign * v_ineq)
        return v


class Canonical:
    """All prepared constraints as one canonical constraint (module docstring).

    ``fun(x) -> (c_eq, c_ineq)``; ``jac(x) -> (J_eq, J_ineq)`` of shapes (n_eq, n) and
    (n_ineq, n); ``hess(x, v_eq, v_ineq)`` -> operator of ``sum v . c'' `` (each constraint
    remembers its multipliers); ``keep_feasible``, shape (n_ineq,).
    """

    def __init__(self, prepared: Sequence[Prepared], n: int) -> None:
        self.n = n
        self.pieces = [_Piece(p) for p in prepared]
        live = [p for p in self.pieces if p.active]
        self._live = live
        self.n_eq = sum(p.n_eq for p in live)
        self.n_ineq = sum(p.n_ineq for p in live)
        self.keep_feasible = (np.concatenate([p.keep_feasible for p in live]) if live
                              else np.zeros(0, dtype=bool))

    def fun(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        parts = [p.values(p.prepared.fun.fun(x)) for p in self._live]
        return self._stack(parts, 1)

    def jac(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        parts = [p.jacobians(p.prepared.fun.jac(x)) for p in self._live]
        return self._stack(parts, 2)

    def initial(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Values and Jacobians at the functions' memoised (initial) point, uncounted."""
        c_eq, c_ineq = self._stack([p.values(p.prepared.fun.f) for p in self._live], 1)
        J_eq, J_ineq = self._stack([p.jacobians(p.prepared.fun.J) for p in self._live], 2)
        return c_eq, c_ineq, J_eq, J_ineq

    def _stack(self, parts: list[tuple[FloatArray, FloatArray]], ndim: int
               ) -> tuple[FloatArray, FloatArray]:
        shape = (0,) if ndim == 1 else (0, self.n)
        if not parts:
            return np.zeros(shape), np.zeros(shape)
        eq = np.concatenate([a for a, _ in parts])
        ineq = np.concatenate([b for _, b in parts])
        return eq.reshape((-1,) + shape[1:]), ineq.reshape((-1,) + shape[1:])

    def hess(self, x: FloatArray, v_eq: FloatArray, v_ineq: FloatArray) -> list[Any]:
        """The constraints' Hessian operators at ``x`` (those that are not identically 0)."""
        out, i_eq, i_ineq = [], 0, 0
        for p in self._live:
            v = p.multipliers(v_eq[i_eq:i_eq + p.n_eq], v_ineq[i_ineq:i_ineq + p.n_ineq])
            i_eq += p.n_eq
            i_ineq += p.n_ineq
            H = p.prepared.fun.hess(x, v)
            if not isinstance(H, ZeroOperator):
                out.append(H)
        return out


class LagrangianHessian:
    """``H_f(x) + sum_i v_i H_ci(x)`` as an operator with ``.dot(p)``, shape (n, n)."""

    def __init__(self, objective_hess: Any, constraint_hess: list[Any]) -> None:
        self._parts = [objective_hess, *constraint_hess]

    def dot(self, p: FloatArray) -> FloatArray:
        out = np.asarray(self._parts[0].dot(p), dtype=float).reshape(-1)
        for H in self._parts[1:]:
            out = out + np.asarray(H.dot(p), dtype=float).reshape(-1)
        return out
