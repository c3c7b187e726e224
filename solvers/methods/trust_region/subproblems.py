"""Dense linear-algebra helpers for trust-region subproblems (numpy only).

The trust-region subproblem is ``min_p g.p + p.H.p / 2`` subject to ``||p|| <= radius``.
These helpers serve the subproblem solvers of ``dogleg``, ``trust-ncg``, ``trust-exact`` and
``trust-krylov``:

- `boundary_intersections`: the two ``t`` with ``||z + t d|| = radius``;
- `gershgorin_bounds`: cheap bounds on the eigenvalues of a symmetric matrix;
- `upper_cholesky`: ``H = U^T U`` or, when ``H`` is not positive definite, the index of the
  first non-positive pivot together with the partial factor (LAPACK's ``potrf`` ``info``);
- `singular_leading_submatrix`: how much to add to that pivot to make the leading block
  singular, and the null vector (Moré & Sorensen 1983, used to raise the lower bound on the
  damping factor);
- `smallest_singular_pair`: the Cline–Moler–Stewart–Wilkinson estimate of the smallest
  singular value of a triangular factor and its right singular vector (used in the hard case);
- `solve_small_trs`: an exact solution of a small subproblem through an eigendecomposition,
  hard case included (used on the Lanczos tridiagonal matrix of ``trust-krylov``).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "boundary_intersections",
    "gershgorin_bounds",
    "upper_cholesky",
    "singular_leading_submatrix",
    "smallest_singular_pair",
    "solve_upper",
    "solve_upper_transposed",
    "solve_small_trs",
]

FloatArray = npt.NDArray[np.float64]


def boundary_intersections(z: FloatArray, d: FloatArray, radius: float) -> tuple[float, float]:
    """Return ``(t_low, t_high)``, the roots of ``||z + t d|| = radius`` sorted ascending.

    Uses the cancellation-free form of the quadratic formula.
    """
    a = float(np.dot(d, d))
    b = 2.0 * float(np.dot(z, d))
    c = float(np.dot(z, z)) - radius * radius
    root = math.sqrt(b * b - 4.0 * a * c)
    aux = b + math.copysign(root, b)
    first, second = -aux / (2.0 * a), -2.0 * c / aux
    return (first, second) if first <= second else (second, first)


def gershgorin_bounds(h: FloatArray) -> tuple[float, float]:
    """Return lower and upper Gershgorin bounds on the eigenvalues of the square matrix ``h``."""
    diag = np.diag(h)
    radii = np.sum(np.abs(h), axis=1) - np.abs(diag)
    return float(np.min(diag - radii)), float(np.max(diag + radii))


def solve_upper(u: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``u x = b`` for the upper-triangular ``u``, shape (n, n)."""
    return cast(FloatArray, np.linalg.solve(u, b))


def solve_upper_transposed(u: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``u^T x = b`` for the upper-triangular ``u``, shape (n, n)."""
    return cast(FloatArray, np.linalg.solve(u.T, b))


def _partial_upper_cholesky(a: FloatArray) -> tuple[FloatArray, int]:
    """Row-by-row ``a = U^T U``; stops at the first pivot that is not positive.

    Returns ``(U, info)`` with ``info = 0`` on success, else the 1-based index ``k`` of the
    failing pivot; then rows ``0..k-2`` of ``U`` (hence the column ``U[:k-1, k-1]``) are final.
    """
    n = a.shape[0]
    u = np.zeros_like(a)
    for j in range(n):
        column = u[:j, j]
        pivot = a[j, j] - float(np.dot(column, column))
        if not pivot > 0.0:  # also catches NaN
            return u, j + 1
        u[j, j] = math.sqrt(pivot)
        if j + 1 < n:
            u[j, j + 1:] = (a[j, j + 1:] - column @ u[:j, j + 1:]) / u[j, j]
    return u, 0


def upper_cholesky(a: FloatArray) -> tuple[FloatArray, int]:
    """Factor the symmetric ``a`` as ``U^T U`` (``U`` upper triangular), as LAPACK ``potrf``.

    Returns
    -------
    U : ndarray, shape (n, n)
        The factor, or on failure the partial factor (see `_partial_upper_cholesky`).
    info : int
        0 on success, else the 1-based index of the first leading submatrix that is not
        positive definite.
    """
    try:
        return cast(FloatArray, np.linalg.cholesky(a).T), 0
    except np.linalg.LinAlgError:
        return _partial_upper_cholesky(a)


def singular_leading_submatrix(a: FloatArray, u: FloatArray, k: int) -> tuple[float, FloatArray]:
    """For the first failing pivot ``k`` (1-based) of the Cholesky factorisation of ``a``:

    return ``delta >= 0`` such that adding ``delta`` to ``a[k-1, k-1]`` makes the leading
    ``k x k`` block singular, and ``v`` (shape (n,), zero past ``k``) with ``v^T B v = 0`` for
    that modified matrix ``B``.
    """
    column = u[:k - 1, k - 1]
    delta = float(np.dot(column, column)) - float(a[k - 1, k - 1])
    v = np.zeros(a.shape[0])
    v[k - 1] = 1.0
    if k > 1:
        v[:k - 1] = solve_upper(u[:k - 1, :k - 1], -column)
    return delta, v


def smallest_singular_pair(u: FloatArray) -> tuple[float, FloatArray]:
    """Estimate the smallest singular value of the upper-triangular ``u`` and its right vector.

    Picks signs ``e_k`` in {+1, -1} greedily so that the solution ``w`` of ``u^T w = e`` is
    large (Cline, Moler, Stewart & Wilkinson 1979), then solves ``u v = w``; the estimate is
    ``||w|| / ||v||`` with vector ``v / ||v||``.  O(n^2).

    Returns
    -------
    s_min : float
    z_min : ndarray, shape (n,), unit norm
    """
    n = u.shape[0]
    lower = u.T
    partial = np.zeros(n)
    w = np.empty(n)
    for k in range(n):
        w_plus = (1.0 - partial[k]) / lower[k, k]
        w_minus = (-1.0 - partial[k]) / lower[k, k]
        tail = lower[k + 1:, k]
        p_plus = partial[k + 1:] + tail * w_plus
        p_minus = partial[k + 1:] + tail * w_minus
        if abs(w_plus) + np.sum(np.abs(p_plus)) >= abs(w_minus) + np.sum(np.abs(p_minus)):
            w[k] = w_plus
            partial[k + 1:] = p_plus
        else:
            w[k] = w_minus
            partial[k + 1:] = p_minus
    v = solve_upper(u, w)
    v_norm = float(np.linalg.norm(v))
    return float(np.linalg.norm(w)) / v_norm, v / v_norm


def _boundary_multiplier(coeffs: FloatArray, eigvals: FloatArray, radius: float,
                         lam_low: float) -> float:
    """The ``lam > lam_low`` with ``||coeffs / (eigvals + lam)|| = radius`` (safeguarded Newton
    on ``1/||p(lam)|| - 1/radius``, which is concave and increasing in ``lam``)."""
    lam_high = lam_low + float(np.linalg.norm(coeffs)) / radius + 1.0
    lam = lam_high
    for _ in range(200):
        shifted = eigvals + lam
        p_norm = float(np.linalg.norm(coeffs / shifted))
        phi = 1.0 / p_norm - 1.0 / radius
        if abs(phi) * radius <= 1e-14:
            break
        if phi > 0.0:
            lam_high = lam
        else:
            lam_low = lam
        dphi = float(np.sum(coeffs**2 / shifted**3)) / p_norm**3
        step = lam - phi / dphi
        lam = step if lam_low < step < lam_high else 0.5 * (lam_low + lam_high)
        if lam_high - lam_low <= 1e-15 * max(1.0, abs(lam_high)):
            break
    return lam


def solve_small_trs(h: FloatArray, g: FloatArray, radius: float,
                    degenerate_tol: float = 1e-12) -> tuple[FloatArray, float]:
    """Solve ``min g.p + p.h.p / 2, ||p|| <= radius`` exactly for a small symmetric ``h``.

    Works in the eigenbasis of ``h``; in the hard case (``g`` orthogonal to the eigenvectors of
    the smallest eigenvalue and the shifted solution inside the ball) a multiple of such an
    eigenvector brings the step to the boundary.

    Returns
    -------
    p : ndarray, shape (k,)
        The global minimiser of the model in the ball.
    lam : float
        Its Lagrange multiplier (0 for an interior solution, > 0 on the boundary).
    """
    eigvals, eigvecs = np.linalg.eigh(h)
    coeffs = eigvecs.T @ g
    smallest = float(eigvals[0])
    scale = max(float(np.max(np.abs(eigvals))), 1.0)
    if smallest > degenerate_tol * scale:
        interior = -coeffs / eigvals
        if np.linalg.norm(interior) <= radius:
            return eigvecs @ interior, 0.0
    lam_low = max(0.0, -smallest)
    bottom = eigvals - smallest <= degenerate_tol * scale
    g_scale = max(float(np.linalg.norm(g)), np.finfo(float).tiny)
    hard = bool(np.all(np.abs(coeffs[bottom]) <= degenerate_tol * g_scale))
    if hard:
        rest = ~bottom
        partial = np.zeros_like(coeffs)
        partial[rest] = -coeffs[rest] / (eigvals[rest] + lam_low)
        partial_norm = float(np.linalg.norm(partial))
        if partial_norm <= radius:
            # hard case: complete the step to the boundary along the bottom eigenvector
            partial[np.flatnonzero(bottom)[0]] = math.sqrt(radius**2 - partial_norm**2)
            return eigvecs @ partial, lam_low
    lam = _boundary_multiplier(coeffs, eigvals, radius, lam_low)
    return eigvecs @ (-coeffs / (eigvals + lam)), lam
