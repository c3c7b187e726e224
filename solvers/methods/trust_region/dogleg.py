"""The dog-leg trust-region method, as scipy's ``_minimize_dogleg`` (scipy 1.17).

The subproblem step follows the dog-leg path from the origin to the Cauchy point (the model's
minimiser along ``-g``) and on to the Newton point ``-H^{-1} g``, stopping where the path leaves
the ball (Nocedal & Wright, 2nd ed., section 4.1).  The Newton point needs a Cholesky
factorisation, so the Hessian must be positive definite: when it is not, the run stops with
status 3, "A linalg error occurred, such as a non-psd Hessian." (as scipy's).
"""

from __future__ import annotations

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
from .subproblems import boundary_intersections

__all__ = ["DoglegStep", "minimize_dogleg"]

FloatArray = npt.NDArray[np.float64]


class DoglegStep:
    """Dog-leg solver for one point's model (Newton and Cauchy points computed once)."""

    def __init__(self, model: QuadraticModel) -> None:
        self.model = model
        self._newton: FloatArray | None = None
        self._cauchy: FloatArray | None = None

    def newton_point(self) -> FloatArray:
        """``-H^{-1} g`` through a Cholesky factorisation (`LinAlgError` if H is not PD)."""
        if self._newton is None:
            lower = np.linalg.cholesky(self.model.hess)
            self._newton = -np.linalg.solve(lower.T, np.linalg.solve(lower, self.model.g))
        return self._newton

    def cauchy_point(self) -> FloatArray:
        """The minimiser of the model along the steepest-descent direction."""
        if self._cauchy is None:
            g = self.model.g
            self._cauchy = -(np.dot(g, g) / np.dot(g, self.model.hessp(g))) * g
        return self._cauchy

    def solve(self, radius: float) -> tuple[FloatArray, bool]:
        """Return the dog-leg step for ``radius`` and whether it lies on the boundary."""
        newton = self.newton_point()
        if np.linalg.norm(newton) < radius:
            return newton, False
        cauchy = self.cauchy_point()
        cauchy_norm = float(np.linalg.norm(cauchy))
        if cauchy_norm >= radius:
            return cauchy * (radius / cauchy_norm), True
        _, t_high = boundary_intersections(cauchy, newton - cauchy, radius)
        return cauchy + t_high * (newton - cauchy), True


def minimize_dogleg(ctx: RunContext, x0: FloatArray, *, initial_trust_radius: float = 1.0,
                    max_trust_radius: float = 1000.0, eta: float = 0.15, gtol: float = 1e-4,
                    maxiter: int | None = None, workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the dog-leg trust-region method.

    Needs ``jac`` (a callable or True) and ``hess`` (a callable returning a dense, positive
    definite (n, n) array).

    Options
    -------
    {common_options}

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``hess``, ``nfev``, ``njev``, ``nhev``, ``nit``, ``status``
        (0 success, 1 maxiter, 2 no predicted improvement, 3 Hessian not positive definite),
        ``success``, ``message``.
    """
    require_jacobian(ctx, "Jacobian is required for dogleg minimization")
    if not callable(ctx.hess):
        raise ValueError("Hessian is required for dogleg minimization")
    return run_trust_region(ctx, x0, DoglegStep, method="dogleg", needs="hess", dense=True,
                            initial_trust_radius=initial_trust_radius,
                            max_trust_radius=max_trust_radius, eta=eta, gtol=gtol,
                            maxiter=maxiter)


minimize_dogleg.__doc__ = with_common_options(minimize_dogleg.__doc__)
