"""The Krylov trust-region method (``trust-krylov``): a GLTR-style subproblem solver in numpy.

scipy 1.17 solves these subproblems with the compiled ``trlib`` library (Gould, Lucidi, Roma &
Toint's GLTR, as implemented by Lenders, Kirches & Potschka).  Here the same idea is written with
numpy: the Lanczos process builds an orthonormal basis ``Q_j`` of the Krylov space
``span{g, Hg, ..., H^{j-1} g}`` and the tridiagonal ``T_j = Q_j^T H Q_j``; the subproblem
restricted to that space, ``min ||g|| e1.h + h.T_j.h / 2, ||h|| <= radius``, is solved exactly
(eigendecomposition of the small ``T_j``, hard case included, `solve_small_trs`), and the step is
``p = Q_j h``.  The space grows one Hessian-vector product at a time until the gradient of the
Lagrangian, ``beta_{j+1} |h_j|``, is small relative to ``||g||``:

- ``inexact=True`` (default): interior tolerance ``min(0.5, ||g||)`` (quadratic convergence of
  the outer iteration) and boundary tolerance ``max(1e-6, min(0.5, sqrt(||g||)))`` — fewer
  products far from the solution;
- ``inexact=False``: fixed tolerances 1e-8 (interior) and 1e-6 (boundary).

At most ``min(1e9 / n, 2 n)`` Lanczos steps are taken per subproblem (scipy's limit).  The basis
is fully re-orthogonalised (affordable since it is stored anyway), and the Lanczos data are kept
per point, so solving the same point again with a smaller radius needs no new products.
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
from .subproblems import solve_small_trs

__all__ = ["LanczosGLTR", "minimize_trust_krylov", "krylov_tolerances"]

FloatArray = npt.NDArray[np.float64]
_BREAKDOWN = 1e-14  # relative size of beta that ends the Lanczos process (invariant subspace)


def krylov_tolerances(gnorm: float, inexact: bool) -> tuple[float, float]:
    """Return the absolute (interior, boundary) tolerances on the Lagrangian gradient norm."""
    if inexact:
        return min(0.5, gnorm) * gnorm, max(1e-6, min(0.5, math.sqrt(gnorm))) * gnorm
    return 1e-8 * gnorm, 1e-6 * gnorm


class LanczosGLTR:
    """GLTR-style solver for one point's model; the Lanczos data are reused across radii."""

    def __init__(self, model: QuadraticModel, inexact: bool = True) -> None:
        self.model = model
        g = model.g  # evaluated at once, as trlib's set-up does
        n = g.size
        self.itmax = int(min(1e9 / n, 2 * n))
        self.inexact = inexact
        capacity = min(self.itmax, 16)  # grown by doubling: most subproblems need few steps
        self.basis = np.empty((n, capacity + 1))
        self.tridiagonal = np.zeros((capacity, capacity))
        self.alphas: list[float] = []
        self.betas: list[float] = []
        self.exhausted = False
        if model.gnorm > 0:
            self.basis[:, 0] = g / model.gnorm
        else:
            self.exhausted = True

    def _grow(self) -> None:
        capacity = min(self.itmax, 2 * self.tridiagonal.shape[0])
        basis = np.empty((self.basis.shape[0], capacity + 1))
        basis[:, :self.basis.shape[1]] = self.basis
        tridiagonal = np.zeros((capacity, capacity))
        old = self.tridiagonal.shape[0]
        tridiagonal[:old, :old] = self.tridiagonal
        self.basis, self.tridiagonal = basis, tridiagonal

    def _extend(self) -> None:
        """One Lanczos step: append ``alpha_j``, ``beta_j`` and the next basis vector."""
        j = len(self.alphas)
        if j + 1 >= self.tridiagonal.shape[0] and self.tridiagonal.shape[0] < self.itmax:
            self._grow()
        q = self.basis[:, j]
        w = self.model.hessp(q)
        alpha = float(np.dot(q, w))
        w = w - alpha * q
        if j > 0:
            w -= self.betas[-1] * self.basis[:, j - 1]
        done = self.basis[:, :j + 1]
        w -= done @ (done.T @ w)  # full re-orthogonalisation against the stored basis
        beta = float(np.linalg.norm(w))
        self.alphas.append(alpha)
        self.betas.append(beta)
        self.tridiagonal[j, j] = alpha
        if j + 1 < self.itmax:
            self.tridiagonal[j, j + 1] = self.tridiagonal[j + 1, j] = beta
        scale = max(abs(alpha), beta, *(abs(a) for a in self.alphas[-2:]), 1e-300)
        if beta <= _BREAKDOWN * scale or j + 1 >= self.itmax:
            self.exhausted = True
        else:
            self.basis[:, j + 1] = w / beta

    def solve(self, radius: float) -> tuple[FloatArray, bool]:
        """Return the Krylov-subspace step for ``radius`` and whether it lies on the boundary."""
        model = self.model
        if model.gnorm == 0:
            return np.zeros_like(model.g), False
        tol_interior, tol_boundary = krylov_tolerances(model.gnorm, self.inexact)
        j = 0
        while True:
            j += 1
            if j > len(self.alphas):
                self._extend()
            rhs = np.zeros(j)
            rhs[0] = model.gnorm
            h, lam = solve_small_trs(self.tridiagonal[:j, :j], rhs, radius)
            residual = self.betas[j - 1] * abs(h[-1])
            tolerance = tol_boundary if lam > 0 else tol_interior
            last = self.exhausted and j == len(self.alphas)
            if residual <= tolerance or last:
                return self.basis[:, :j] @ h, lam > 0


def minimize_trust_krylov(ctx: RunContext, x0: FloatArray, *, initial_trust_radius: float = 1.0,
                          max_trust_radius: float = 1000.0, eta: float = 0.15,
                          gtol: float = 1e-4, maxiter: int | None = None,
                          inexact: bool = True, workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function with the Krylov (GLTR) trust-region method.

    Needs ``jac`` (a callable or True) and either ``hess`` (a callable, '2-point', '3-point',
    'cs', or an update strategy such as ``BFGS()``/``SR1()``) or ``hessp``.

    Options
    -------
    {common_options}
    inexact : bool
        Accuracy of the subproblem solutions: True (default) solves them more loosely far from
        the solution (fewer Hessian-vector products per iteration, possibly more iterations);
        False solves them to fixed tight tolerances.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nfev``, ``njev``, ``nhev``, ``nit``, ``status`` (0 success,
        1 maxiter, 2 no predicted improvement), ``success``, ``message``; ``hess`` when ``hess``
        is a callable.
    """
    require_jacobian(ctx, "Jacobian is required for Krylov trust-region minimization")
    if ctx.hess is None and ctx.hessp is None:
        raise ValueError("Either the Hessian or the Hessian-vector product is required for "
                         "Krylov trust-region minimization")
    return run_trust_region(
        ctx, x0, lambda model: LanczosGLTR(model, bool(inexact)), method="trust-krylov",
        needs="hess_or_hessp", dense=False, initial_trust_radius=initial_trust_radius,
        max_trust_radius=max_trust_radius, eta=eta, gtol=gtol, maxiter=maxiter)


minimize_trust_krylov.__doc__ = with_common_options(minimize_trust_krylov.__doc__)
