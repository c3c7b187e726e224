"""Trust-region interior point (barrier) method of trust-constr (Byrd, Hribar & Nocedal 1999).

The problem ``min f(x)`` subject to ``c_eq(x) = 0`` and ``c_ineq(x) <= 0`` gets slack variables
``s > 0`` and becomes a sequence of equality-constrained barrier problems in ``z = (x, s)``::

    min  f(x) - mu * sum(log(s))   subject to   c_eq(x) = 0,  c_ineq(x) + s = 0

each solved by the SQP method of `sqp` in the scaled variables ``(x, s^-1 ds)`` (so slack
steps are bounded by ``ds >= -0.995 s``, the fraction-to-the-boundary rule).  A barrier problem
ends when its optimality and violation fall below its tolerance (or its radius below
``xtol``); then ``mu`` and the tolerance shrink by 0.2 and the radius restarts at
``max(initial radius, 5 * last radius)``.  The slack Hessian is primal-dual (``v_i s_i`` in
scaled form) where the multiplier is positive and primal (``mu``) elsewhere.  Inequalities to
be kept feasible get their slack reset to ``-c_ineq(x)`` at every evaluation (Nocedal & Wright
p. 576); points outside the strict bounds are given an infinite barrier value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .sqp import SQPProblem, equality_constrained_sqp

__all__ = ["BarrierProblem", "tr_interior_point"]

FloatArray = npt.NDArray[np.float64]

BOUNDARY_PARAMETER = 0.995      # tau of formula (3.18)
BARRIER_DECAY_RATIO = 0.2       # theta
TRUST_ENLARGEMENT = 5.0


@dataclass
class BarrierProblem:
    """The original problem as the interior point method sees it.

    ``fun(x)``, ``grad(x)``; ``constr(x) -> (c_eq, c_ineq)``; ``jac(x) -> (J_eq, J_ineq)``;
    ``lagr_hess(x, v_eq, v_ineq)`` -> operator; ``keep_feasible`` (n_ineq,) bool;
    ``strict_lb``/``strict_ub`` (n,): outside them the objective is not evaluated.
    """

    fun: Callable[[FloatArray], float]
    grad: Callable[[FloatArray], FloatArray]
    constr: Callable[[FloatArray], tuple[FloatArray, FloatArray]]
    jac: Callable[[FloatArray], tuple[FloatArray, FloatArray]]
    lagr_hess: Callable[..., Any]
    n_vars: int
    n_eq: int
    n_ineq: int
    keep_feasible: npt.NDArray[np.bool_]
    strict_lb: FloatArray
    strict_ub: FloatArray


class _SlackHessian:
    """``[[Hx, 0], [0, diag(w)]]`` as an operator on ``(x, s)`` vectors."""

    def __init__(self, Hx: Any, weights: FloatArray, n_vars: int) -> None:
        self._Hx, self._w, self._n = Hx, weights, n_vars

    def dot(self, p: FloatArray) -> FloatArray:
        head = np.asarray(self._Hx.dot(p[:self._n]), dtype=float).reshape(-1)
        if self._w.size == 0:
            return head
        return np.concatenate((head, self._w * p[self._n:]))


class _Subproblem:
    """One barrier problem (barrier parameter ``mu``, tolerance ``tol``) over ``z = (x, s)``."""

    def __init__(self, prob: BarrierProblem, mu: float, tol: float) -> None:
        self.prob, self.mu, self.tol = prob, mu, tol
        self.terminate = False

    def split(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        n = self.prob.n_vars
        return z[:n], z[n:n + self.prob.n_ineq]

    def barrier_value(self, f: float, c_ineq: FloatArray, s: FloatArray) -> float:
        """``f - mu sum(log s)`` (+inf for a non-positive slack); resets kept slacks in place."""
        keep = self.prob.keep_feasible
        s[keep] = -c_ineq[keep]
        if np.any(s <= 0):
            return np.inf if self.mu > 0 else float(f)
        return float(f - self.mu * np.sum(np.log(s)))

    def barrier_constraints(self, c_eq: FloatArray, c_ineq: FloatArray,
                            s: FloatArray) -> FloatArray:
        return np.concatenate((c_eq, c_ineq + s))

    def fun_and_constr(self, z: FloatArray) -> tuple[float, FloatArray]:
        x, s = self.split(z)
        prob = self.prob
        if np.any((x < prob.strict_lb) | (x > prob.strict_ub)):
            f = np.inf
            c_eq, c_ineq = np.zeros(prob.n_eq), np.zeros(prob.n_ineq)
        else:
            f = prob.fun(x)
            c_eq, c_ineq = prob.constr(x)
        return self.barrier_value(f, c_ineq, s), self.barrier_constraints(c_eq, c_ineq, s)

    def barrier_gradient(self, g: FloatArray) -> FloatArray:
        return np.concatenate((g, -self.mu * np.ones(self.prob.n_ineq)))

    def barrier_jacobian(self, J_eq: FloatArray, J_ineq: FloatArray, s: FloatArray
                         ) -> FloatArray:
        """``[[J_eq, 0], [J_ineq, diag(s)]]``, shape (n_eq + n_ineq, n + n_ineq)."""
        prob = self.prob
        if prob.n_ineq == 0:
            return J_eq
        top = np.hstack((J_eq, np.zeros((prob.n_eq, prob.n_ineq))))
        return np.vstack((top, np.hstack((J_ineq, np.diag(s)))))

    def grad_and_jac(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, s = self.split(z)
        g = self.prob.grad(x)
        J_eq, J_ineq = self.prob.jac(x)
        return self.barrier_gradient(g), self.barrier_jacobian(J_eq, J_ineq, s)

    def scaling(self, z: FloatArray) -> FloatArray:
        _, s = self.split(z)
        return np.concatenate((np.ones(self.prob.n_vars), s))

    def lagr_hess(self, z: FloatArray, v: FloatArray) -> _SlackHessian:
        prob = self.prob
        x, s = self.split(z)
        v_eq, v_ineq = v[:prob.n_eq], v[prob.n_eq:prob.n_eq + prob.n_ineq]
        Hx = prob.lagr_hess(x, v_eq, v_ineq)
        weights = np.where(v_ineq > 0, v_ineq * s, self.mu) if prob.n_ineq else np.zeros(0)
        return _SlackHessian(Hx, weights, prob.n_vars)

    def start_values(self, z: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        f, c = self.fun_and_constr(z)
        g, A = self.grad_and_jac(z)
        return f, g, c, A


def tr_interior_point(prob: BarrierProblem, x0: FloatArray, f0: float, g0: FloatArray,
                      c_ineq0: FloatArray, J_ineq0: FloatArray, c_eq0: FloatArray,
                      J_eq0: FloatArray, *, global_stop: Callable[..., bool], xtol: float,
                      mu0: float, tol0: float, penalty0: float, radius0: float,
                      factorization: str | None, sparse: bool) -> FloatArray:
    """Solve barrier problems with decreasing ``mu`` until ``global_stop`` says so.

    ``global_stop(x, failed, radius, penalty, cg_info, mu, tol) -> bool`` is called before every
    SQP iteration.  Returns the final ``x``, shape (n,).
    """
    n, n_ineq = prob.n_vars, prob.n_ineq
    sub = _Subproblem(prob, mu0, tol0)
    s0 = np.maximum(-1.5 * c_ineq0, np.ones(n_ineq))
    fz = sub.barrier_value(f0, c_ineq0, s0)
    gz = sub.barrier_gradient(g0)
    cz = sub.barrier_constraints(c_eq0, c_ineq0, s0)
    Az = sub.barrier_jacobian(J_eq0, J_ineq0, s0)
    z = np.concatenate((x0, s0))
    trust_lb = np.concatenate((np.full(n, -np.inf), np.full(n_ineq, -BOUNDARY_PARAMETER)))
    trust_ub = np.full(n + n_ineq, np.inf)
    radius = radius0
    last_radius = [radius0]

    def stop(z: FloatArray, failed: bool, optimality: float, violation: float, tr_radius: float,
             penalty: float, cg_info: dict[str, Any]) -> bool:
        last_radius[0] = tr_radius
        if global_stop(z[:n], failed, tr_radius, penalty, cg_info, sub.mu, sub.tol):
            sub.terminate = True
            return True
        return (optimality < sub.tol and violation < sub.tol) or tr_radius < xtol

    sqp = SQPProblem(sub.fun_and_constr, sub.grad_and_jac, sub.lagr_hess, stop, sub.scaling,
                     factorization, sparse)
    while True:
        z, _ = equality_constrained_sqp(sqp, z, fz, gz, cz, Az, penalty=penalty0,
                                        radius=radius, trust_lb=trust_lb, trust_ub=trust_ub)
        if sub.terminate:
            break
        radius = max(radius0, TRUST_ENLARGEMENT * last_radius[0])
        sub.mu *= BARRIER_DECAY_RATIO
        sub.tol *= BARRIER_DECAY_RATIO
        fz, gz, cz, Az = sub.start_values(z)
    return z[:n]
