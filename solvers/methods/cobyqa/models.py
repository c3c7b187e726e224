"""COBYQA's interpolation set and its quadratic models (minimum Frobenius norm updates).

The ``npt = 2n + 1`` interpolation points are ``x_base + xpt[:, k]``.  Every model (objective,
each nonlinear inequality, each nonlinear equality) is a quadratic
``c + g.d + 0.5 d.(E + sum_k lam_k y_k y_k^T) d`` in ``d = x - x_base``: an explicit part ``E`` and
an implicit part carried by the points ``y_k``.  The interpolation conditions with the least
Frobenius norm of the Hessian (change) are the KKT system of Powell's NEWUOA

    [[0.5 (Y^T Y)^2, 1, Y^T], [1^T, 0, 0], [Y, 0, 0]] [lam; c; g] = [values; 0; 0],

solved here by a scaled eigendecomposition (tiny eigenvalues dropped), cached per point set.
All models are kept together in `ModelSet`, one row per model (row 0 is the objective).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["initial_points", "KKTSystem", "ModelSet"]

FloatArray = npt.NDArray[np.float64]
EPS = float(np.finfo(float).eps)


def initial_points(x0: FloatArray, xl: FloatArray, xu: FloatArray, radius: float
                   ) -> tuple[FloatArray, FloatArray]:
    """``(x_base, xpt)`` of the initial set: ``x0`` moved off or onto nearby bounds, then
    ``x_base + radius e_i`` and ``x_base - radius e_i`` (``+-2 radius`` against a bound).

    ``xpt`` has shape (n, 2n + 1); its first column is zero.
    """
    n = x0.size
    base = x0.copy()
    near_lo = base <= xl + 0.5 * radius
    base[near_lo] = xl[near_lo]
    close_lo = (xl + 0.5 * radius < base) & (base <= xl + radius)
    base[close_lo] = np.minimum(xl[close_lo] + radius, xu[close_lo])
    near_up = base >= xu - 0.5 * radius
    base[near_up] = xu[near_up]
    close_up = (base < xu - 0.5 * radius) & (xu - radius <= base)
    base[close_up] = np.maximum(xu[close_up] - radius, xl[close_up])
    xpt = np.zeros((n, 2 * n + 1))
    idx = np.arange(n)
    xpt[idx, idx + 1] = np.where(near_up, -radius, radius)
    xpt[idx, idx + n + 1] = np.where(near_lo, 2.0 * radius,
                                     np.where(near_up, -2.0 * radius, -radius))
    return base, xpt


class KKTSystem:
    """Pseudo-inverse solves with the interpolation KKT matrix of the points ``xpt`` (n, npt)."""

    def __init__(self, xpt: FloatArray) -> None:
        n, npt = xpt.shape
        scale = float(np.max(np.linalg.norm(xpt, axis=0), initial=EPS))
        ys = xpt / scale
        a = np.zeros((npt + n + 1, npt + n + 1))
        a[:npt, :npt] = 0.5 * (ys.T @ ys) ** 2
        a[:npt, npt] = a[npt, :npt] = 1.0
        a[:npt, npt + 1:] = ys.T
        a[npt + 1:, :npt] = ys
        self.right = np.concatenate((np.full(npt, scale ** -2), [scale ** 2], np.full(n, scale)))
        if not np.all(np.isfinite(a)):
            raise np.linalg.LinAlgError("The interpolation system is ill-defined.")
        values, vectors = np.linalg.eigh(a)
        keep = np.abs(values) > EPS
        self.ill_conditioned = not bool(np.all(keep))
        self.vectors, self.inv_values = vectors[:, keep], 1.0 / values[keep]
        self.npt = npt

    def solve(self, rhs: FloatArray) -> FloatArray:
        """Solve for right-hand sides ``rhs`` of shape (npt + n + 1, m)."""
        scaled = rhs * self.right[:, None]
        if not np.all(np.isfinite(scaled)):
            raise np.linalg.LinAlgError("The interpolation system is ill-defined.")
        sol = self.vectors @ ((self.vectors.T @ scaled) * self.inv_values[:, None])
        return sol * self.right[:, None]

    def coefficients(self, values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(lam, c, g)`` of the least-norm models for ``values`` of shape (npt, m):
        shapes (m, npt), (m,), (m, n)."""
        rhs = np.vstack((values, np.zeros((self.right.size - self.npt, values.shape[1]))))
        sol = self.solve(rhs)
        return sol[:self.npt].T, sol[self.npt], sol[self.npt + 1:].T


class ModelSet:
    """The interpolation set and the quadratic models of all the problem's functions.

    Parameters
    ----------
    x_base : ndarray, shape (n,)
    xpt : ndarray, shape (n, npt)
    values : ndarray, shape (npt, m)
        Column 0 the objective, then the ``cub`` then the ``ceq`` values at the points.
    """

    def __init__(self, x_base: FloatArray, xpt: FloatArray, values: FloatArray) -> None:
        self.x_base, self.xpt, self.values = x_base, xpt, values
        self._system: KKTSystem | None = None
        self.reset()

    @property
    def n(self) -> int:
        return int(self.xpt.shape[0])

    @property
    def npt(self) -> int:
        return int(self.xpt.shape[1])

    def system(self) -> KKTSystem:
        if self._system is None:
            self._system = KKTSystem(self.xpt)
        return self._system

    def point(self, k: int) -> FloatArray:
        return self.x_base + self.xpt[:, k]

    def reset(self) -> None:
        """Rebuild every model from scratch (least Frobenius norm Hessians)."""
        self.lam, self.const, self.grad0 = self.system().coefficients(self.values)
        self.ehess = np.zeros((self.values.shape[1], self.n, self.n))

    # -- evaluations (``w`` weights the models: rows combine as w @ models) --------------------
    def value(self, x: FloatArray, rows: slice | None = None) -> FloatArray:
        """Model values at ``x``, shape (m,) (or the selected ``rows``)."""
        d = x - self.x_base
        yd = self.xpt.T @ d
        sel = slice(None) if rows is None else rows
        return (self.const[sel] + self.grad0[sel] @ d
                + 0.5 * (self.lam[sel] @ yd ** 2 + np.einsum("i,mij,j->m", d, self.ehess[sel], d)))

    def gradient(self, x: FloatArray, rows: slice | None = None) -> FloatArray:
        """Model gradients at ``x``, shape (m, n)."""
        d = x - self.x_base
        sel = slice(None) if rows is None else rows
        return (self.grad0[sel] + (self.lam[sel] * (self.xpt.T @ d)) @ self.xpt.T
                + self.ehess[sel] @ d)

    def hess_prod(self, v: FloatArray, w: FloatArray) -> FloatArray:
        """``sum_i w_i H_i v`` for the model Hessians ``H_i``, shape (n,)."""
        return (np.einsum("m,mij,j->i", w, self.ehess, v)
                + self.xpt @ ((w @ self.lam) * (self.xpt.T @ v)))

    def curvature(self, v: FloatArray, w: FloatArray) -> float:
        """``v . (sum_i w_i H_i) v``."""
        return float(v @ self.hess_prod(v, w))

    def hessians(self) -> FloatArray:
        """All model Hessians, shape (m, n, n)."""
        return self.ehess + np.einsum("ik,mk,jk->mij", self.xpt, self.lam, self.xpt)

    def alt_fun_gradient(self, x: FloatArray) -> FloatArray:
        """Gradient at ``x`` of a fresh least-norm model of the objective values."""
        lam, _, g = self.system().coefficients(self.values[:, :1])
        d = x - self.x_base
        return g[0] + self.xpt @ (lam[0] * (self.xpt.T @ d))

    # -- changes to the set -------------------------------------------------------------------
    def replace(self, k: int, x_new: FloatArray, values: FloatArray) -> bool:
        """Replace point ``k`` by ``x_new`` with function ``values`` (m,); return whether the
        new system is ill-conditioned.  Each model changes by the least-norm Hessian update."""
        diff = values - self.value(x_new)
        self.values[k] = values
        old = self.xpt[:, k].copy()
        self.xpt[:, k] = x_new - self.x_base
        self._system = None
        self.ehess += self.lam[:, k, None, None] * np.outer(old, old)[None]
        self.lam[:, k] = 0.0
        rhs = np.zeros((self.npt, values.size))
        rhs[k] = diff
        lam, c, g = self.system().coefficients(rhs)
        self.lam += lam
        self.const += c
        self.grad0 += g
        return self.system().ill_conditioned

    def shift_base(self, new_base: FloatArray) -> None:
        """Move ``x_base`` to ``new_base`` keeping every model (and the points) unchanged."""
        self.const = self.value(new_base)
        self.grad0 = self.gradient(new_base)
        shift = new_base - self.x_base
        upd = np.einsum("i,mj->mij", shift, (self.lam @ (self.xpt - 0.5 * shift[:, None]).T))
        self.ehess += upd + upd.transpose(0, 2, 1)
        self.x_base = self.x_base + shift
        self.xpt = self.xpt - shift[:, None]
        self._system = None

    def determinants(self, x_new: FloatArray, k: int | None = None) -> FloatArray | float:
        """Powell's ``sigma = alpha beta + tau^2`` for replacing point ``k`` (all points when
        ``k`` is None) by ``x_new``: how well-poised the set would stay."""
        system = self.system()
        npt, n = self.npt, self.n
        shift = x_new - self.x_base
        col = np.concatenate((0.5 * (self.xpt.T @ shift) ** 2, [1.0], shift))
        inv_col = system.solve(col[:, None])[:, 0]
        beta = 0.5 * float(shift @ shift) ** 2 - float(col @ inv_col)
        if k is None:
            alpha = np.diag(system.solve(np.eye(npt + n + 1, npt)))
            return alpha * beta + inv_col[:npt] ** 2
        unit = np.zeros((npt + n + 1, 1))
        unit[k, 0] = 1.0
        alpha_k = float(system.solve(unit)[k, 0])
        return alpha_k * beta + float(inv_col[k]) ** 2
