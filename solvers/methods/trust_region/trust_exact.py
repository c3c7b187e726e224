"""The nearly exact trust-region method (``trust-exact``), as scipy's
``_minimize_trustregion_exact`` (scipy 1.17).

Each subproblem is solved by the Moré–Sorensen iteration on the damping factor ``lam``: the step
is ``p(lam) = -(H + lam I)^{-1} g`` from a Cholesky factorisation, and ``lam`` is updated by
Newton's method on ``1/||p(lam)|| = 1/radius`` inside a safeguarding interval
``[lam_lb, lam_ub]`` that starts from Gershgorin bounds (Conn, Gould & Toint 2000, section 7.3).
A failed factorisation raises ``lam_lb`` through the singular-leading-submatrix estimate.  In the
hard case (``p(lam)`` inside the ball at the smallest admissible ``lam``) the step is completed to
the boundary along an estimate of the right singular vector of the smallest singular value of
the factor.  Iterations stop when ``| ||p|| - radius | <= k_easy * radius`` (0.1), when the
hard-case completion is accurate to ``k_hard`` (0.2), or after ``subproblem_maxiter`` (25).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._result import OptimizeResult
from .loop import (
    QuadraticModel,
    require_jacobian,
    run_trust_region,
    with_common_options,
)
from .subproblems import (
    boundary_intersections,
    gershgorin_bounds,
    singular_leading_submatrix,
    smallest_singular_pair,
    solve_upper,
    solve_upper_transposed,
    upper_cholesky,
)

__all__ = ["MoreSorensenStep", "minimize_trust_exact"]

FloatArray = npt.NDArray[np.float64]
_EPS = float(np.finfo(float).eps)
_UPDATE_COEFF = 0.01  # theta of Conn, Gould & Toint (7.3.14)
_K_EASY, _K_HARD = 0.1, 0.2


@dataclass
class _Interval:
    """The damping factor and its safeguarding bounds."""

    lam: float
    low: float
    high: float

    def bisect_geometric(self) -> None:
        """Move ``lam`` into the interval, away from ``low``."""
        self.lam = max(math.sqrt(abs(self.low * self.high)),
                       self.low + _UPDATE_COEFF * (self.high - self.low))


class MoreSorensenStep:
    """Moré–Sorensen solver for one point's model (Hessian facts computed once)."""

    def __init__(self, model: QuadraticModel, maxiter: float = 25) -> None:
        self.model = model
        self.maxiter = maxiter
        h = np.asarray(model.hess, dtype=float)
        self.h = h
        self.n = h.shape[0]
        self.gershgorin_low, self.gershgorin_high = gershgorin_bounds(h)
        self.h_inf = float(np.max(np.sum(np.abs(h), axis=1)))
        self.h_fro = float(np.linalg.norm(h, "fro"))
        self.close_to_zero = self.n * _EPS * self.h_inf
        self.previous_radius = -1.0
        self.lam_low_kept = 0.0
        self.niter = 0

    def _initial_interval(self, radius: float) -> _Interval:
        gnorm = self.model.gnorm
        high = max(0.0, gnorm / radius + min(-self.gershgorin_low, self.h_fro, self.h_inf))
        low = max(0.0, -float(np.min(np.diag(self.h))),
                  gnorm / radius - min(self.gershgorin_high, self.h_fro, self.h_inf))
        if radius < self.previous_radius:
            low = max(self.lam_low_kept, low)
        interval = _Interval(0.0, low, high)
        if low != 0:
            interval.lam = max(math.sqrt(low * high), low + _UPDATE_COEFF * (high - low))
        return interval

    def _shifted(self, lam: float) -> FloatArray:
        return self.h + lam * np.eye(self.n)

    def solve(self, radius: float) -> tuple[FloatArray, bool]:
        """Return the nearly exact step for ``radius`` and whether it lies on the boundary."""
        iv = self._initial_interval(radius)
        g, gnorm = self.model.g, self.model.gnorm
        p = np.zeros(self.n)
        hits_boundary = True
        factor: tuple[FloatArray, int] | None = None
        self.niter = 0
        while self.niter < self.maxiter:
            shifted = self._shifted(iv.lam)
            u, info = factor if factor is not None else upper_cholesky(shifted)
            factor = None
            self.niter += 1
            if info == 0 and gnorm > self.close_to_zero:
                p = solve_upper(u, solve_upper_transposed(u, -g))
                p_norm = float(np.linalg.norm(p))
                if p_norm <= radius and iv.lam == 0:
                    hits_boundary = False
                    break
                w_norm = float(np.linalg.norm(solve_upper_transposed(u, p)))
                lam_newton = iv.lam + (p_norm / w_norm) ** 2 * (p_norm - radius) / radius
                if p_norm < radius:
                    done, factor = self._inside(iv, u, p, shifted, radius, lam_newton)
                    if done is not None:
                        p = done
                        break
                else:
                    if abs(p_norm - radius) / radius <= _K_EASY:
                        break
                    iv.low, iv.lam = iv.lam, lam_newton
            elif info == 0:
                # gradient numerically zero: move along the smallest singular direction
                if iv.lam == 0:
                    p, hits_boundary = np.zeros(self.n), False
                    break
                s_min, z_min = smallest_singular_pair(u)
                p = radius * z_min
                if radius**2 * s_min**2 <= _K_HARD * iv.lam * radius**2:
                    break
                iv.high, iv.low = iv.lam, max(iv.low, iv.lam - s_min**2)
                iv.bisect_geometric()
            else:
                delta, v = singular_leading_submatrix(shifted, u, info)
                iv.low = max(iv.low, iv.lam + delta / float(np.dot(v, v)))
                iv.bisect_geometric()
        self.lam_low_kept, self.previous_radius = iv.low, radius
        return p, hits_boundary

    def _inside(self, iv: _Interval, u: FloatArray, p: FloatArray, shifted: FloatArray,
                radius: float, lam_newton: float,
                ) -> tuple[FloatArray | None, tuple[FloatArray, int] | None]:
        """Step strictly inside the ball with ``lam > 0``: try the hard-case completion, else
        tighten the interval.  Returns ``(final step or None, factor of the next lam or None)``."""
        s_min, z_min = smallest_singular_pair(u)
        t_a, t_b = boundary_intersections(p, z_min, radius)
        step_len = t_a if abs(t_a) <= abs(t_b) else t_b
        quadratic_term = float(np.dot(p, shifted @ p))
        relative_error = step_len**2 * s_min**2 / (quadratic_term + iv.lam * radius**2)
        if relative_error <= _K_HARD:
            return p + step_len * z_min, None
        iv.high, iv.low = iv.lam, max(iv.low, iv.lam - s_min**2)
        u_new, info = upper_cholesky(self._shifted(lam_newton))
        if info == 0:
            iv.lam = lam_newton
            return None, (u_new, 0)
        iv.low = max(iv.low, lam_newton)
        iv.bisect_geometric()
        return None, None


def minimize_trust_exact(ctx: RunContext, x0: FloatArray, *, initial_trust_radius: float = 1.0,
                         max_trust_radius: float = 1000.0, eta: float = 0.15,
                         gtol: float = 1e-4, maxiter: int | None = None,
                         subproblem_maxiter: float | None = None,
                         workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the nearly exact trust-region method.

    Needs ``jac`` (a callable or True) and ``hess`` (a callable returning a dense (n, n) array;
    it may be indefinite).

    Options
    -------
    {common_options}
    subproblem_maxiter : int, optional
        Maximum number of Moré–Sorensen iterations per subproblem (default 25; ``np.inf``:
        unlimited).

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``hess``, ``nfev``, ``njev``, ``nhev``, ``nit``, ``status``
        (0 success, 1 maxiter, 2 no predicted improvement, 3 linear-algebra error),
        ``success``, ``message``.
    """
    require_jacobian(ctx, "Jacobian is required for trust region exact minimization.")
    if not callable(ctx.hess):
        raise ValueError("Hessian matrix is required for trust region exact minimization.")
    inner_maxiter = 25 if subproblem_maxiter is None else subproblem_maxiter
    if inner_maxiter < 0:
        raise ValueError("maxiter must not be set to a negative number, use np.inf to mean "
                         "infinite.")
    return run_trust_region(
        ctx, x0, lambda model: MoreSorensenStep(model, inner_maxiter), method="trust-exact",
        needs="hess", dense=True, initial_trust_radius=initial_trust_radius,
        max_trust_radius=max_trust_radius, eta=eta, gtol=gtol, maxiter=maxiter)


minimize_trust_exact.__doc__ = with_common_options(minimize_trust_exact.__doc__)
