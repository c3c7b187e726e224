"""Projections onto the null space and row space of a constraint Jacobian (trust-constr).

For a Jacobian ``A`` of shape (m, n) with full row rank, `projections` returns three maps:

* ``null_space(x) = x - A^T (A A^T)^{-1} A x`` — the orthogonal projection onto ``ker A``;
* ``least_squares(x) = (A A^T)^{-1} A x``, shape (m,) — the least-squares solution of
  ``A^T y = x`` (used for the Lagrange multipliers);
* ``row_space(b) = A^T (A A^T)^{-1} b``, shape (n,) — the minimum-norm solution of ``A y = b``.

Four dense factorizations give them (Gould, Hribar & Nocedal 2001): a QR factorization of
``A^T`` (default), an SVD (copes with rank-deficient ``A``; used with a warning when the QR
factor is singular), the augmented system ``[[I, A^T], [A, 0]]`` solved through an LU
factorization, and the normal equations through a Cholesky factorization of ``A A^T``.  The
null-space projection is refined iteratively (at most ``max_refin`` times) while
``|A z| / (|A|_F |z|) > orth_tol``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Projections", "projections", "orthogonality", "FACTORIZATIONS"]

FloatArray = npt.NDArray[np.float64]
Map = Callable[[FloatArray], FloatArray]
FACTORIZATIONS = ("QRFactorization", "SVDFactorization", "AugmentedSystem", "NormalEquation")


class Projections(NamedTuple):
    """The three maps of a Jacobian ``A`` (see module docstring)."""

    null_space: Map
    least_squares: Map
    row_space: Map


def orthogonality(A: FloatArray, z: FloatArray) -> float:
    """``|A z| / (|A|_F |z|)``: 0 when ``z`` lies in the null space of ``A``."""
    norm_z = float(np.linalg.norm(z))
    norm_a = float(np.linalg.norm(A))
    if norm_z == 0.0 or norm_a == 0.0:
        return 0.0
    return float(np.linalg.norm(A @ z)) / (norm_a * norm_z)


def _refined_null_space(A: FloatArray, multipliers: Map, orth_tol: float,
                        max_refin: int) -> Map:
    """``x - A^T multipliers(x)``, re-projected while it is not orthogonal enough."""
    def null_space(x: FloatArray) -> FloatArray:
        z = x - A.T @ multipliers(x)
        for _ in range(max_refin):
            if orthogonality(A, z) <= orth_tol:
                break
            z = z - A.T @ multipliers(z)
        return z
    return null_space


def _qr(A: FloatArray, orth_tol: float, max_refin: int, tol: float) -> Projections | None:
    """QR of ``A^T = Q R``; None when ``R`` is numerically singular."""
    Q, R = np.linalg.qr(A.T)
    if np.min(np.abs(np.diag(R))) < tol:
        return None
    Rt = R.T

    def least_squares(x: FloatArray) -> FloatArray:
        return np.linalg.solve(R, Q.T @ x)

    def row_space(b: FloatArray) -> FloatArray:
        return Q @ np.linalg.solve(Rt, b)

    return Projections(_refined_null_space(A, least_squares, orth_tol, max_refin),
                       least_squares, row_space)


def _svd(A: FloatArray, orth_tol: float, max_refin: int, tol: float) -> Projections:
    """SVD of ``A``, dropping singular values at or below ``tol``."""
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    keep = sv > tol
    U, sv, Vt = U[:, keep], sv[keep], Vt[keep]

    def least_squares(x: FloatArray) -> FloatArray:
        return U @ ((Vt @ x) / sv)

    def row_space(b: FloatArray) -> FloatArray:
        return Vt.T @ ((U.T @ b) / sv)

    return Projections(_refined_null_space(A, least_squares, orth_tol, max_refin),
                       least_squares, row_space)


def _augmented(A: FloatArray, orth_tol: float, max_refin: int, tol: float
               ) -> Projections | None:
    """The augmented system ``[[I, A^T], [A, 0]]``; None when it is singular."""
    m, n = A.shape
    K = np.zeros((n + m, n + m))
    K[:n, :n] = np.eye(n)
    K[:n, n:] = A.T
    K[n:, :n] = A
    try:
        K_inv = np.linalg.inv(K)
    except np.linalg.LinAlgError:
        return None

    def null_space(x: FloatArray) -> FloatArray:
        rhs = np.concatenate((x, np.zeros(m)))
        sol = K_inv @ rhs
        for _ in range(max_refin):
            if orthogonality(A, sol[:n]) <= orth_tol:
                break
            sol = sol + K_inv @ (rhs - K @ sol)
        return sol[:n]

    def least_squares(x: FloatArray) -> FloatArray:
        return (K_inv @ np.concatenate((x, np.zeros(m))))[n:]

    def row_space(b: FloatArray) -> FloatArray:
        return (K_inv @ np.concatenate((np.zeros(n), b)))[:n]

    return Projections(null_space, least_squares, row_space)


def _normal(A: FloatArray, orth_tol: float, max_refin: int, tol: float) -> Projections | None:
    """Cholesky factor ``L`` of ``A A^T``; None when it is not positive definite."""
    try:
        L = np.linalg.cholesky(A @ A.T)
    except np.linalg.LinAlgError:
        return None

    def solve(b: FloatArray) -> FloatArray:
        return np.linalg.solve(L.T, np.linalg.solve(L, b))

    def least_squares(x: FloatArray) -> FloatArray:
        return solve(A @ x)

    def row_space(b: FloatArray) -> FloatArray:
        return A.T @ solve(b)

    return Projections(_refined_null_space(A, least_squares, orth_tol, max_refin),
                       least_squares, row_space)


def _empty(n: int) -> Projections:
    return Projections(lambda x: np.array(x, dtype=float), lambda x: np.zeros(0),
                       lambda b: np.zeros(n))


def projections(A: FloatArray, method: str | None = None, *, sparse: bool = False,
                orth_tol: float = 1e-12, max_refin: int = 3, tol: float = 1e-15) -> Projections:
    """The null-space, least-squares and row-space maps of ``A``, shape (m, n).

    ``method`` is one of `FACTORIZATIONS` or None: 'AugmentedSystem' when ``sparse`` (scipy's
    default for sparse Jacobians), 'QRFactorization' otherwise.  A singular factorization falls
    back to the SVD with a `UserWarning`, as scipy does.

    Raises
    ------
    ValueError
        For an unknown ``method``, or a QR factorization with more constraints than variables.
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    m, n = A.shape
    if method is None:
        method = "AugmentedSystem" if sparse else "QRFactorization"
    if method not in FACTORIZATIONS:
        raise ValueError(f"Unknown factorization_method {method!r}; use one of "
                         f"{', '.join(FACTORIZATIONS)} or None.")
    if m == 0:
        return _empty(n)
    if method == "QRFactorization" and m > n:
        raise ValueError("The 'expected square matrix' error can occur if there are more "
                         "equality constraints than independent variables. Consider how your "
                         "constraints are set up, or use factorization_method='SVDFactorization'.")
    if method == "SVDFactorization":
        return _svd(A, orth_tol, max_refin, tol)
    build = {"QRFactorization": _qr, "AugmentedSystem": _augmented, "NormalEquation": _normal}
    result = build[method](A, orth_tol, max_refin, tol)
    if result is None:
        dense = "" if method == "QRFactorization" else "dense "
        warnings.warn(f"Singular Jacobian matrix. Using {dense}SVD decomposition to perform the "
                      "factorizations.", UserWarning, stacklevel=4)
        return _svd(A, orth_tol, max_refin, tol)
    return result
