"""The compact limited-memory BFGS matrix used by L-BFGS-B.

With the last ``col <= m`` correction pairs ``s_k = x_{k+1} - x_k`` and ``y_k = g_{k+1} - g_k``
stored as the rows of ``S`` and ``Y`` (shape (col, n), oldest first), the Hessian approximation
is (Byrd, Nocedal & Schnabel 1994)::

    B = theta * I - W M W^T,      W = [Y^T, theta * S^T]          (n, 2 col)
    M^{-1} = [[-D,  L^T         ],
              [ L,  theta S S^T ]]                                  (2 col, 2 col)

where ``D = diag(s_i^T y_i)``, ``L`` is the strictly lower triangle of ``S Y^T``
(``L_ij = s_i^T y_j`` for ``i > j``) and ``theta = y^T y / s^T y`` of the newest pair.
`LbfgsMemory` keeps ``S``, ``Y``, the small matrices ``S Y^T`` and ``S S^T`` (updated in O(m n)
per pair), ``W^T`` and ``M`` ready for the Cauchy point and the subspace step.  It also records
in which storage slot of a circular buffer of ``m`` slots each pair sits, so that the inverse
Hessian operator can list the pairs in the same order as the reference implementation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..._core.small_linalg import inv, is_positive_definite
from .hess_inv import LbfgsInvHessProduct

__all__ = ["LbfgsMemory"]

FloatArray = npt.NDArray[np.float64]


class LbfgsMemory:
    """At most ``m`` correction pairs and the compact representation built from them.

    Parameters
    ----------
    n : int
        Number of variables.
    m : int
        Maximum number of stored pairs (``maxcor``).

    Attributes
    ----------
    col : int
        Number of pairs held now.
    theta : float
        Scaling of the initial matrix ``theta * I`` (1 with an empty memory).
    wt : ndarray, shape (2 col, n)
        ``W^T = [Y; theta * S]``.
    m_mat, m_inv : ndarray, shape (2 col, 2 col)
        The middle matrix ``M`` (computed once per change of the pairs, when first asked
        for) and its inverse.
    """

    def __init__(self, n: int, m: int) -> None:
        if m <= 0:
            raise ValueError(f"maxcor must be a positive integer, got {m}.")
        self.n, self.m = n, m
        self._pairs = np.zeros((2, m, n))       # the rows of S, then those of Y
        self._s, self._y = self._pairs
        self._gram = np.zeros((3, m, m))        # S Y^T, S S^T, Y Y^T
        self._sy, self._ss, self._yy = self._gram
        self._strict_lower = np.tri(m, m, -1)
        self._index = np.arange(m)
        self.reset()

    def reset(self) -> None:
        """Forget every pair: ``B = I`` again (the reference code's "refresh the memory")."""
        self.col = 0
        self.theta = 1.0
        self._slots: list[int] = []
        self._next_slot = 0
        self.wt: FloatArray = np.zeros((0, self.n))
        self._lower: FloatArray = np.zeros((0, 0))
        self._theta_ss: FloatArray = np.zeros((0, 0))
        self._m_mat: FloatArray | None = np.zeros((0, 0))

    def add(self, s: FloatArray, y: FloatArray, sy: float, ss: float, yy: float) -> bool:
        """Store the pair ``(s, y)``, dropping the oldest one when ``m`` are held.

        ``sy = s^T y``, ``ss = s^T s`` and ``yy = y^T y`` are passed in because the caller
        already knows them.  Returns False when the new middle matrix cannot be factorised (its
        Schur complement ``theta S S^T + L D^{-1} L^T`` is not positive definite); the memory is
        then reset.
        """
        m, col = self.m, self.col
        if col == m:
            self._pairs[:, :-1] = self._pairs[:, 1:]
            self._gram[:, :-1, :-1] = self._gram[:, 1:, 1:]
            slot = self._slots.pop(0)
        else:
            col += 1
            slot = self._next_slot
            self._next_slot = (slot + 1) % m
        self._slots.append(slot)
        k = col - 1
        self._s[k] = s
        self._y[k] = y
        if k:
            old_s, old_y = self._s[:k], self._y[:k]
            self._sy[k, :k] = old_y @ s
            self._sy[:k, k] = old_s @ y
            self._ss[k, :k] = self._ss[:k, k] = old_s @ s
            self._yy[k, :k] = self._yy[:k, k] = old_y @ y
        self._sy[k, k] = sy
        self._ss[k, k] = ss
        self._yy[k, k] = yy
        self.col = col
        self.theta = yy / sy
        return self._form_middle()

    def _form_middle(self) -> bool:
        col, theta = self.col, self.theta
        sy = self._sy[:col, :col]
        lower = sy * self._strict_lower[:col, :col]
        theta_ss = self._ss[:col, :col] * theta
        if col > 1 and not is_positive_definite(theta_ss + (lower / sy.diagonal()) @ lower.T):
            self.reset()
            return False
        self._lower, self._theta_ss = lower, theta_ss
        self._m_mat = None
        wt = np.empty((2 * col, self.n))
        wt[:col] = self._y[:col]
        np.multiply(self._s[:col], theta, out=wt[col:])
        self.wt = wt
        return True

    @property
    def m_inv(self) -> FloatArray:
        """``M^{-1} = [[-D, L^T], [L, theta S S^T]]``, (2 col, 2 col)."""
        col = self.col
        m_inv = np.zeros((2 * col, 2 * col))
        index = self._index[:col]
        m_inv[index, index] = -self._sy.diagonal()[:col]
        m_inv[:col, col:] = self._lower.T
        m_inv[col:, :col] = self._lower
        m_inv[col:, col:] = self._theta_ss
        return m_inv

    @property
    def m_mat(self) -> FloatArray:
        """The middle matrix ``M``, (2 col, 2 col) (computed when first asked for)."""
        if self._m_mat is None:
            self._m_mat = inv(self.m_inv)
        return self._m_mat

    def reduced_matrix(self, free: npt.NDArray[np.intp] | None) -> tuple[FloatArray, FloatArray]:
        """Return ``(K, W_z^T)`` for the subspace step over the variables ``free``.

        ``K = M^{-1} - W_z^T W_z / theta`` (2 col, 2 col), which by blocks is
        ``[[-(D + Y Z Z^T Y^T / theta), (L - S Z Z^T Y^T)^T], [L - S Z Z^T Y^T, theta S A A^T S^T]]``
        with ``Z`` selecting the free variables and ``A`` the others (Algorithm 778's ``formk``).
        ``free`` None means all variables.  The products over the free variables are formed
        from whichever of the free or the active set is smaller.
        """
        col, theta, wt = self.col, self.theta, self.wt
        sy = self._sy[:col, :col]
        k_mat = np.empty((2 * col, 2 * col))
        if free is None:
            wz = wt
            np.divide(self._yy[:col, :col], -theta, out=k_mat[:col, :col])
            szy: FloatArray = sy
            k_mat[col:, col:] = theta * 0.0
        else:
            wz = wt[:, free]
            if 2 * free.size <= self.n:
                gram = wz @ wz.T
                np.divide(gram[:col, :col], -theta, out=k_mat[:col, :col])
                szy = gram[col:, :col] / theta
                sas = self._ss[:col, :col] - gram[col:, col:] / (theta * theta)
            else:
                active = np.ones(self.n, dtype=bool)
                active[free] = False
                wa = wt[:, active]
                gram = wa @ wa.T
                np.divide(self._yy[:col, :col] - gram[:col, :col], -theta,
                          out=k_mat[:col, :col])
                szy = sy - gram[col:, :col] / theta
                sas = gram[col:, col:] / (theta * theta)
            np.multiply(sas, theta, out=k_mat[col:, col:])
        index = self._index[:col]
        k_mat[index, index] -= sy.diagonal()
        off = self._lower - szy
        k_mat[col:, :col] = off
        k_mat[:col, col:] = off.T
        return k_mat, wz

    def hess_inv(self) -> LbfgsInvHessProduct:
        """The inverse-Hessian operator of the pairs held, listed by storage slot."""
        col = self.col
        sk = np.empty((col, self.n))
        yk = np.empty((col, self.n))
        sk[self._slots] = self._s[:col]     # the pair of age i goes to slot _slots[i]
        yk[self._slots] = self._y[:col]
        return LbfgsInvHessProduct(sk, yk)

    def dense(self) -> FloatArray:
        """``B`` as a dense (n, n) array (for tests and debugging)."""
        return self.theta * np.eye(self.n) - self.wt.T @ self.m_mat @ self.wt
