"""Constraint functions as trust-constr evaluates them: memoised, counted, with multipliers.

Each class holds one constraint's function ``f: R^n -> R^m`` at the last point it was asked
about (``x``, ``f``, ``J``), the multipliers ``v`` (shape (m,)) last passed to `hess`, and the
counts scipy reports per constraint (``nfev``, ``njev``, ``nhev``):

* `NonlinearFunction` — a `NonlinearConstraint`: ``jac`` callable or finite differences
  ('2-point', '3-point', 'cs', steps inside the strict bounds), ``hess(x, v)`` callable, finite
  differences of ``J(x)^T v``, or a quasi-Newton strategy (`BFGS()` by default).  A strategy is
  updated at every new point with ``(x - x_prev, J(x)^T v - J(x_prev)^T v)`` and again when the
  multipliers change, as scipy's VectorFunction does (so a new point costs one Jacobian).
* `LinearFunction` — ``A x`` (no counted evaluations; zero Hessian).
* `IdentityFunction` — ``x`` itself (the bounds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.constraints import LinearConstraint, NonlinearConstraint, approx_jacobian
from ..._core.finite_diff import FD_METHODS
from ..._core.hessian import is_update_strategy

__all__ = ["NonlinearFunction", "LinearFunction", "IdentityFunction", "ZeroOperator",
           "make_vector_function"]

FloatArray = npt.NDArray[np.float64]
_EPS = float(np.finfo(float).eps)


class ZeroOperator:
    """The (n, n) zero matrix as an operator."""

    def __init__(self, n: int) -> None:
        self.shape = (n, n)

    def dot(self, p: FloatArray) -> FloatArray:
        return np.zeros(self.shape[0])


class _FDJacobianProduct:
    """``H(x; v) p`` by finite differences of ``J(.)^T v`` along ``p`` (scipy's operator)."""

    def __init__(self, owner: NonlinearFunction, x: FloatArray, v: FloatArray,
                 J0: FloatArray) -> None:
        self._owner, self._x, self._v = owner, x.copy(), v.copy()
        self._g0 = J0.T @ v
        self.shape = (x.size, x.size)

    def dot(self, p: FloatArray) -> FloatArray:
        p = np.asarray(p, dtype=float)
        if not np.any(p):
            return np.zeros(self._x.size)
        owner, scheme = self._owner, self._owner.hess_scheme
        h = owner.rel_step if owner.rel_step is not None else (
            _EPS ** (1 / 3) if scheme == "3-point" else _EPS ** 0.5)
        norm = float(np.linalg.norm(p))
        if scheme == "3-point":
            dx = 2 * h / norm
            lo = owner.jac_product(self._x - (dx / 2) * p, self._v)
            hi = owner.jac_product(self._x + (dx / 2) * p, self._v)
            return (hi - lo) / dx
        dx = h / norm
        if scheme == "cs":
            return np.imag(owner.jac_product(self._x + dx * p * 1j, self._v)) / dx
        return (owner.jac_product(self._x + dx * p, self._v) - self._g0) / dx


class NonlinearFunction:
    """A `NonlinearConstraint`'s function with scipy's memo and counts (module docstring).

    ``fd_lb``/``fd_ub`` (shape (n,)) are the bounds finite-difference steps must respect.
    """

    def __init__(self, con: NonlinearConstraint, x0: FloatArray, fd_lb: FloatArray,
                 fd_ub: FloatArray) -> None:
        jac, hess = con.jac, con.hess
        jac_fd = isinstance(jac, str) and jac in FD_METHODS
        hess_fd = isinstance(hess, str) and hess in FD_METHODS
        if not callable(jac) and not jac_fd:
            raise ValueError(f"`jac` must be either callable or one of {FD_METHODS}.")
        strategy = is_update_strategy(hess)
        if not (strategy or callable(hess) or hess_fd):
            raise ValueError("`hess` must be either callable,HessianUpdateStrategy or one of "
                             f"{FD_METHODS}.")
        if jac_fd and hess_fd:
            raise ValueError("Whenever the Jacobian is estimated via finite-differences, we "
                             "require the Hessian to be estimated using one of the quasi-Newton "
                             "strategies.")
        self._fun, self._jac, self._hess = con.fun, jac, hess
        self.is_strategy = strategy
        self.hess_scheme = hess if hess_fd else None
        self.rel_step = con.finite_diff_rel_step
        self._fd = {"rel_step": self.rel_step, "lb": fd_lb, "ub": fd_ub}
        self.nfev = self.njev = self.nhev = 0
        self.returned_sparse = False
        self.x = np.array(x0, dtype=float)
        self.n = self.x.size
        self.f = self._evaluate(self.x)
        self.m = self.f.size
        self.v = np.zeros(self.m)
        self.J = self._jacobian(self.x)
        self._f_ok = self._J_ok = True
        self.x_prev: FloatArray | None = None
        self.J_prev: FloatArray | None = None
        if strategy:
            self.H: Any = hess
            hess.initialize(self.n, "hess")
        else:
            self.H = self._hessian(self.x, self.v)
        self._H_ok = True

    # -- raw evaluations ---------------------------------------------------------------------
    def _evaluate(self, x: Any) -> Any:
        self.nfev += 1
        out = np.atleast_1d(np.asarray(self._fun(np.array(x, copy=True))))
        return out if np.iscomplexobj(out) else out.astype(float)

    def _dense_jacobian(self, x: Any) -> Any:
        """``jac(x)`` as a 2-d array: a sparse matrix densified, a 1-d array as one row."""
        J = self._jac(np.array(x, copy=True))
        if hasattr(J, "toarray"):  # a sparse matrix: dense here
            self.returned_sparse = True
            J = J.toarray()
        J = np.atleast_2d(np.asarray(J))
        return J if np.iscomplexobj(J) else J.astype(float, copy=False)

    def _jacobian(self, x: FloatArray) -> FloatArray:
        if callable(self._jac):
            self.njev += 1
            J = self._dense_jacobian(x)
        else:  # each difference is a counted evaluation
            J = approx_jacobian(self._evaluate, x, self.f, method=self._jac, **self._fd)
        if J.shape != (self.m, self.n):
            raise ValueError(f"The constraint Jacobian must have shape ({self.m}, {self.n}), "
                             f"got {J.shape}.")
        return J

    def _hessian(self, x: FloatArray, v: FloatArray) -> Any:
        if self.hess_scheme is not None:
            return _FDJacobianProduct(self, x, v, self.J)
        self.nhev += 1
        H = self._hess(x.copy(), v.copy())
        if hasattr(H, "toarray"):
            return np.asarray(H.toarray(), dtype=float)
        if hasattr(H, "dot") and not isinstance(H, np.ndarray):
            return H
        return np.atleast_2d(np.asarray(H, dtype=float))

    def jac_product(self, x: Any, v: FloatArray) -> Any:
        """``J(x)^T v`` with a fresh Jacobian (finite-difference Hessian products)."""
        self.njev += 1
        return self._dense_jacobian(x).T @ v

    # -- scipy's VectorFunction memo ---------------------------------------------------------
    def _move(self, x: FloatArray) -> None:
        if np.array_equal(x, self.x):
            return
        if self.is_strategy:
            self._refresh_jac()
            self.x_prev, self.J_prev = self.x, self.J
            self.x = np.array(x, dtype=float)
            self._f_ok = self._J_ok = self._H_ok = False
            self._refresh_hess()
        else:
            self.x = np.array(x, dtype=float)
            self._f_ok = self._J_ok = self._H_ok = False

    def _refresh_jac(self) -> None:
        if not self._J_ok:
            if not callable(self._jac):
                self._refresh_fun()
            self.J = self._jacobian(self.x)
            self._J_ok = True

    def _refresh_fun(self) -> None:
        if not self._f_ok:
            self.f = self._evaluate(self.x)
            self._f_ok = True

    def _refresh_hess(self) -> None:
        if self._H_ok:
            return
        if self.is_strategy:
            self._refresh_jac()
            if self.x_prev is not None and self.J_prev is not None:
                self.H.update(self.x - self.x_prev, self.J.T @ self.v - self.J_prev.T @ self.v)
        else:
            if self.hess_scheme is not None:
                self._refresh_jac()
            self.H = self._hessian(self.x, self.v)
        self._H_ok = True

    def fun(self, x: FloatArray) -> FloatArray:
        """Constraint values at ``x``, shape (m,)."""
        self._move(x)
        self._refresh_fun()
        return self.f

    def jac(self, x: FloatArray) -> FloatArray:
        """Jacobian at ``x``, shape (m, n)."""
        self._move(x)
        self._refresh_jac()
        return self.J

    def hess(self, x: FloatArray, v: FloatArray) -> Any:
        """Hessian of ``v . f`` at ``x`` (an object with ``.dot(p)``); remembers ``v``."""
        if not np.array_equal(v, self.v):
            self.v = np.array(v, dtype=float)
            self._H_ok = False
        self._move(x)
        self._refresh_hess()
        return self.H


class LinearFunction:
    """``A x`` with Jacobian ``A``, shape (m, n), and a zero Hessian (no counted calls)."""

    nfev = njev = nhev = 0

    def __init__(self, A: FloatArray, x0: FloatArray) -> None:
        self.J = np.atleast_2d(np.asarray(A, dtype=float))
        self.m, self.n = self.J.shape
        self.x = np.array(x0, dtype=float)
        self.f = self.J @ self.x
        self.v = np.zeros(self.m)
        self._zero = ZeroOperator(self.n)

    def fun(self, x: FloatArray) -> FloatArray:
        if not np.array_equal(x, self.x):
            self.x = np.array(x, dtype=float)
            self.f = self.J @ self.x
        return self.f

    def jac(self, x: FloatArray) -> FloatArray:
        return self.J

    def hess(self, x: FloatArray, v: FloatArray) -> ZeroOperator:
        self.v = np.array(v, dtype=float)
        return self._zero


class IdentityFunction(LinearFunction):
    """The variables themselves (bounds as a constraint)."""

    def __init__(self, x0: FloatArray) -> None:
        super().__init__(np.eye(np.size(x0)), x0)

    def fun(self, x: FloatArray) -> FloatArray:
        if not np.array_equal(x, self.x):
            self.x = np.array(x, dtype=float)
            self.f = self.x.copy()
        return self.f


def make_vector_function(con: Any, x0: FloatArray, fd_lb: FloatArray, fd_ub: FloatArray
                         ) -> NonlinearFunction | LinearFunction:
    """The vector function of a `LinearConstraint` or `NonlinearConstraint`."""
    if isinstance(con, NonlinearConstraint):
        return NonlinearFunction(con, x0, fd_lb, fd_ub)
    if isinstance(con, LinearConstraint):
        if con.A.shape[1] != x0.size:
            raise ValueError(f"LinearConstraint: `A` has shape {con.A.shape} but x0 has "
                             f"{x0.size} variables.")
        return LinearFunction(con.A, x0)
    raise ValueError("`constraint` of an unknown type is passed.")
