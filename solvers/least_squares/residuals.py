"""The user's residual function and its Jacobian, as the least-squares methods see them.

`Residuals` calls ``fun(x, *args, **kwargs)`` (returning the residuals, shape (m,)) and
``jac`` (a callable returning (m, n), or a finite-difference scheme evaluated by the project's
one routine, `solvers._core.finite_diff.approx_jacobian`, with steps inside the bounds).  It
remembers the last point and residuals, as scipy's ``VectorFunction`` does, so that a Jacobian
at the point just evaluated reuses ``f`` instead of calling ``fun`` again.  A Jacobian that is
a sparse matrix or a linear operator (or finite differences with ``jac_sparsity``) is made
dense here; its kind is kept, because scipy chooses the default trust-region solver by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.finite_diff import absolute_steps, approx_jacobian

__all__ = ["Residuals", "dense_jacobian"]

FloatArray = npt.NDArray[np.float64]
_EPS64 = float(np.finfo(float).eps)


def _is_sparse(value: Any) -> bool:
    return hasattr(value, "toarray") and hasattr(value, "nnz")


def _is_operator(value: Any) -> bool:
    return (not isinstance(value, np.ndarray) and hasattr(value, "matvec")
            and hasattr(value, "rmatvec") and hasattr(value, "shape"))


def dense_jacobian(value: Any, n: int) -> tuple[FloatArray, str]:
    """A Jacobian as a dense float array and its kind: 'dense', 'sparse' or 'operator'.

    A sparse matrix is densified by ``toarray()``, a linear operator by applying it to the
    ``n`` unit vectors.
    """
    if _is_sparse(value):
        return np.atleast_2d(np.asarray(value.toarray(), dtype=float)), "sparse"
    if _is_operator(value):
        columns = [np.asarray(value.matvec(e), dtype=float).ravel() for e in np.eye(n)]
        return np.array(columns).T.reshape(-1, n), "operator"
    return np.atleast_2d(np.asarray(value, dtype=float)), "dense"


def _step_eps(f_dtype: np.dtype[Any]) -> float:
    """Machine epsilon driving the finite-difference step: float64's, or the residuals' own
    when they come in a smaller float type (scipy's rule)."""
    if np.issubdtype(f_dtype, np.floating) and f_dtype.itemsize < 8:
        return float(np.finfo(f_dtype).eps)
    return _EPS64


@dataclass
class Residuals:
    """Counted access to ``fun`` and ``jac`` (see module docstring).

    Attributes
    ----------
    fun : callable
        ``fun(x, *args, **kwargs) -> (m,)`` residuals.
    jac : callable or str
        ``jac(x, *args, **kwargs) -> (m, n)``, or '2-point', '3-point' or 'cs'.
    lb, ub : ndarray, shape (n,)
        Bounds the finite-difference steps respect.
    diff_step : float, array or None
        Relative finite-difference step (scipy's ``diff_step``).
    sparsity : ndarray of bool, shape (m, n), or None
        Structural non-zeros of the Jacobian (``jac_sparsity``); entries outside are zero.
    """

    fun: Callable[..., Any]
    jac: Callable[..., Any] | str
    lb: FloatArray
    ub: FloatArray
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    diff_step: Any = None
    sparsity: npt.NDArray[np.bool_] | None = None
    kind: str = "dense"
    _x: FloatArray | None = None
    _f: FloatArray | None = None
    _f_dtype: np.dtype[Any] = field(default_factory=lambda: np.dtype(float))

    def raw(self, x: Any) -> Any:
        """``fun(x, *args, **kwargs)`` as returned (for the complex-step scheme)."""
        return self.fun(x, *self.args, **self.kwargs)

    def values(self, x: FloatArray) -> FloatArray:
        """Residuals at ``x``, as float64 of ``fun``'s shape (checked by the caller)."""
        out = np.asarray(self.raw(x))
        if out.ndim == 0:
            out = out.reshape(1)
        self._f_dtype = out.dtype
        f = out.astype(float)
        self._x, self._f = x.copy(), f
        return f

    def jacobian(self, x: FloatArray) -> FloatArray:
        """The Jacobian at ``x``, dense (m, n); sets `kind`."""
        if callable(self.jac):
            J, self.kind = dense_jacobian(self.jac(x, *self.args, **self.kwargs), x.size)
            return J
        f0 = self._f if self._x is not None and np.array_equal(x, self._x) else None
        if f0 is None and self.jac != "3-point":
            f0 = self.values(x)
        J = approx_jacobian(self.raw, x, f0, method=self.jac, abs_step=self._steps(x),
                            lb=self.lb, ub=self.ub)
        if self.sparsity is not None:
            J = np.where(self.sparsity, J, 0.0)
            self.kind = "sparse"
        return J

    def _steps(self, x: FloatArray) -> FloatArray:
        """Signed absolute steps (n,) by scipy's rule, before the bound adjustment.

        Residuals of a smaller float type (float32) get the default step of that type's
        epsilon, as in scipy (a float64 step would vanish in their rounding).
        """
        method = str(self.jac)
        if self.diff_step is not None:
            return absolute_steps(x, method, self.diff_step)
        power = 1.0 / 3.0 if method == "3-point" else 0.5
        return absolute_steps(x, method) * (_step_eps(self._f_dtype) / _EPS64) ** power
