"""The Newton-CG trust-region method (``trust-ncg``), as scipy's ``_minimize_trust_ncg``.

The subproblem is solved by Steihaug's truncated conjugate gradients (Nocedal & Wright, 2nd ed.,
algorithm 7.2): CG on ``H p = -g`` from ``p = 0``, stopped at the boundary when a step would
leave the ball, along the better boundary point when a direction of non-positive curvature
appears, and when the residual falls below ``min(0.5, sqrt(||g||)) ||g||``.  Only products
``H d`` are needed, and ``H`` need not be positive definite.
"""

from __future__ import annotations

import math
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

__all__ = ["SteihaugCG", "minimize_trust_ncg"]

FloatArray = npt.NDArray[np.float64]


class SteihaugCG:
    """Steihaug-CG solver for one point's model."""

    def __init__(self, model: QuadraticModel) -> None:
        self.model = model

    def _better_boundary_point(self, z: FloatArray, d: FloatArray, radius: float) -> FloatArray:
        t_low, t_high = boundary_intersections(z, d, radius)
        low, high = z + t_low * d, z + t_high * d
        return low if self.model.value(low) < self.model.value(high) else high

    def solve(self, radius: float) -> tuple[FloatArray, bool]:
        """Return the truncated-CG step for ``radius`` and whether it lies on the boundary."""
        model = self.model
        gnorm = model.gnorm
        tolerance = min(0.5, math.sqrt(gnorm)) * gnorm
        z = np.zeros_like(model.g)
        if gnorm < tolerance:
            return z, False
        r = model.g
        d = -r
        r_squared = float(np.dot(r, r))
        while True:
            hd = model.hessp(d)
            curvature = float(np.dot(d, hd))
            if curvature <= 0:
                return self._better_boundary_point(z, d, radius), True
            alpha = r_squared / curvature
            z_next = z + alpha * d
            if np.linalg.norm(z_next) >= radius:
                _, t_high = boundary_intersections(z, d, radius)
                return z + t_high * d, True
            r = r + alpha * hd
            r_next_squared = float(np.dot(r, r))
            if math.sqrt(r_next_squared) < tolerance:
                return z_next, False
            d = -r + (r_next_squared / r_squared) * d
            z, r_squared = z_next, r_next_squared


def minimize_trust_ncg(ctx: RunContext, x0: FloatArray, *, initial_trust_radius: float = 1.0,
                       max_trust_radius: float = 1000.0, eta: float = 0.15,
                       gtol: float = 1e-4, maxiter: int | None = None,
                       workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the Newton conjugate-gradient trust-region method.

    Needs ``jac`` (a callable or True) and either ``hess`` (a callable, '2-point', '3-point',
    'cs', or an update strategy such as ``BFGS()``/``SR1()``) or ``hessp``.

    Options
    -------
    {common_options}

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nfev``, ``njev``, ``nhev``, ``nit``, ``status`` (0 success,
        1 maxiter, 2 no predicted improvement), ``success``, ``message``; ``hess`` when ``hess``
        is a callable.
    """
    require_jacobian(ctx, "Jacobian is required for Newton-CG trust-region minimization")
    if ctx.hess is None and ctx.hessp is None:
        raise ValueError("Either the Hessian or the Hessian-vector product is required for "
                         "Newton-CG trust-region minimization")
    return run_trust_region(ctx, x0, SteihaugCG, method="trust-ncg", needs="hess_or_hessp",
                            dense=False, initial_trust_radius=initial_trust_radius,
                            max_trust_radius=max_trust_radius, eta=eta, gtol=gtol,
                            maxiter=maxiter)


minimize_trust_ncg.__doc__ = with_common_options(minimize_trust_ncg.__doc__)
