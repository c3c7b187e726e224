"""`LbfgsInvHessProduct`: the L-BFGS inverse-Hessian approximation as a linear operator.

Mirrors ``scipy.optimize.LbfgsInvHessProduct`` (without depending on scipy): it holds the
correction pairs ``s_i``, ``y_i`` (rows of ``sk`` and ``yk``, shape (n_corrs, n)) and applies
the two-loop recursion of Nocedal (1980) with the initial matrix ``I``:
``H v`` in O(n_corrs * n) without forming ``H``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LbfgsInvHessProduct"]

FloatArray = npt.NDArray[np.float64]


class LbfgsInvHessProduct:
    """Linear operator ``H`` for the L-BFGS approximate inverse Hessian.

    Parameters
    ----------
    sk, yk : array_like, shape (n_corrs, n)
        Steps ``s_i`` and gradient changes ``y_i``, applied in row order (row 0 first).
    """

    def __init__(self, sk: Any, yk: Any) -> None:
        sk = np.asarray(sk, dtype=float)
        yk = np.asarray(yk, dtype=float)
        if sk.shape != yk.shape or sk.ndim != 2:
            raise ValueError("sk and yk must have matching shape, (n_corrs, n)")
        self.sk, self.yk = sk, yk
        self.n_corrs, n = sk.shape
        self.shape = (n, n)
        self.dtype = np.dtype(np.float64)
        self.ndim = 2
        self.rho = 1.0 / np.einsum("ij,ij->i", sk, yk)

    def __repr__(self) -> str:
        n = self.shape[0]
        return f"<{n}x{n} LbfgsInvHessProduct with dtype=float64>"

    def matmat(self, x: Any) -> FloatArray:
        """Return ``H @ X`` for ``X`` of shape (n, k)."""
        q = np.array(x, dtype=float, copy=True)
        if q.ndim != 2 or q.shape[0] != self.shape[1]:
            raise ValueError(f"dimension mismatch: operator {self.shape}, operand {q.shape}")
        s, y, rho = self.sk, self.yk, self.rho
        alpha = np.empty((self.n_corrs, q.shape[1]))
        for i in range(self.n_corrs - 1, -1, -1):
            alpha[i] = rho[i] * (s[i] @ q)
            q -= np.outer(y[i], alpha[i])
        for i in range(self.n_corrs):
            beta = rho[i] * (y[i] @ q)
            q += np.outer(s[i], alpha[i] - beta)
        return q

    def matvec(self, x: Any) -> FloatArray:
        """Return ``H @ x`` for ``x`` of shape (n,) or (n, 1) (same shape back)."""
        v = np.asarray(x, dtype=float)
        if v.shape not in ((self.shape[1],), (self.shape[1], 1)):
            raise ValueError(f"dimension mismatch: operator {self.shape}, vector {v.shape}")
        out = self.matmat(v.reshape(-1, 1))
        return out.reshape(v.shape)

    def rmatvec(self, x: Any) -> FloatArray:
        """Return ``H^T @ x`` (``H`` is symmetric)."""
        return self.matvec(x)

    def dot(self, x: Any) -> Any:
        """``H @ x`` for a vector, a matrix, or another operator-like object."""
        if isinstance(x, LbfgsInvHessProduct):
            return self.matmat(x.todense())
        arr = np.asarray(x)
        if arr.ndim == 0:
            return self.todense() * float(arr)
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
            return self.matvec(arr)
        return self.matmat(arr)

    def __matmul__(self, x: Any) -> Any:
        if np.isscalar(x):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.dot(x)

    def __rmatmul__(self, x: Any) -> Any:
        arr = np.asarray(x, dtype=float)
        return self.dot(arr.T).T

    def __mul__(self, x: Any) -> Any:
        return self.dot(x)

    def __call__(self, x: Any) -> Any:
        return self.dot(x)

    def todense(self) -> FloatArray:
        """Return ``H`` as a dense (n, n) array."""
        return self.matmat(np.eye(self.shape[0]))

    def transpose(self) -> LbfgsInvHessProduct:
        """``H^T``, which is ``H``."""
        return self

    T = property(transpose)
    H = property(transpose)

    def adjoint(self) -> LbfgsInvHessProduct:
        """``H^*``, which is ``H``."""
        return self
