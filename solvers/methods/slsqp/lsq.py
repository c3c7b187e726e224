"""Least-squares subproblems of SLSQP: LDP, LSI, LSEI and the QP built from SLSQP's data.

Following Lawson & Hanson (ch. 23) and Kraft (1988):

* LDP  ``min ||x||`` s.t. ``G x >= h`` via NNLS on the dual ``[G^T; h^T] u = e_{n+1}``;
* LSI  ``min ||A x - b||`` s.t. ``G x >= h`` via the QR factor of ``A`` and an LDP;
* LSEI ``min ||A x - b||`` s.t. ``E x = f``, ``G x >= h``: eliminate the equalities with a QR
  factor of ``E^T``, then LSI (or a plain least squares when there is no ``G``);
* `solve_qp`: SLSQP's search-direction QP ``min 1/2 s^T B s + g^T s`` s.t. the linearised
  constraints and the bounds, with ``B = L D L^T``, in least-squares form.

Every function returns SLSQP's mode code: 1 solved, 2 more equalities than variables, 3 NNLS
iteration limit, 4 inequalities incompatible, 5 singular ``A`` in LSI, 6 rank-deficient ``E``,
7 rank-deficient least squares.  Multipliers follow ``A^T (A x - b) = E^T lam + G^T mu``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ..._core.nnls import NNLS_OK, nnls
from ..._core.small_linalg import qr, solve, solve_many

__all__ = ["ldp", "lsi", "lsei", "solve_qp", "QPResult"]

FloatArray = npt.NDArray[np.float64]
_EPSMACH = float(np.finfo(float).eps)
_SQRT_EPSMACH = float(np.sqrt(_EPSMACH))
OK, TOO_MANY_EQ, INCOMPATIBLE, SINGULAR_A, SINGULAR_E, RANK_DEFICIENT = 1, 2, 4, 5, 6, 7


def ldp(g: FloatArray, h: FloatArray) -> tuple[FloatArray, FloatArray, int]:
    """Least distance: ``min ||x||`` s.t. ``g @ x >= h``; returns ``(x, mu, mode)``."""
    m, n = g.shape
    if n <= 0:
        return np.zeros(n), np.zeros(m), TOO_MANY_EQ
    if m == 0:
        return np.zeros(n), np.zeros(0), OK
    dual = np.concatenate((g.T, h[np.newaxis, :]))
    u, rnorm, code = nnls(dual, _last_unit_vector(n + 1), 3 * m)
    if code != NNLS_OK:
        return np.zeros(n), np.zeros(m), code
    # At the NNLS solution fac = 1 - h.u equals rnorm**2; both must be distinguishable
    # from zero next to 1 (the right-hand side), or G x >= h has no solution.
    fac = 1.0 - float(h @ u)
    if rnorm <= 0.0 or not (1.0 + fac) - 1.0 > 0.0 or not (1.0 + rnorm * rnorm) - 1.0 > 0.0:
        return np.zeros(n), np.zeros(m), INCOMPATIBLE
    return (g.T @ u) / fac, u / fac, OK


def lsi(a: FloatArray, b: FloatArray, g: FloatArray, h: FloatArray
        ) -> tuple[FloatArray, FloatArray, int]:
    """``min ||a x - b||`` s.t. ``g x >= h`` (``a`` of full column rank); ``(x, mu, mode)``."""
    n = a.shape[1]
    q, r = qr(a)
    if not _diagonal_at_least(r, _EPSMACH):
        return np.zeros(n), np.zeros(g.shape[0]), SINGULAR_A
    fitted = q.T @ b
    g_tilde = solve_many(r.T, g.T).T          # g @ inv(r)
    y, mu, mode = ldp(g_tilde, h - g_tilde @ fitted)
    if mode != OK:
        return np.zeros(n), mu, mode
    return solve(r, y + fitted), mu, OK


def _diagonal_at_least(r: FloatArray, tol: float) -> bool:
    """Whether every ``|r[i, i]| >= tol`` (False on NaN)."""
    for v in r.diagonal().tolist():
        if not abs(v) >= tol:
            return False
    return True


def _full_rank_least_squares(a: FloatArray, b: FloatArray) -> FloatArray | None:
    """``argmin ||a x - b||`` by QR, or None when ``a`` is rank deficient (relative
    threshold sqrt(eps) on the diagonal of R, as a rank-revealing QR would judge it)."""
    q, r = qr(a)
    diag = [abs(v) for v in r.diagonal().tolist()]
    if diag:
        threshold = _SQRT_EPSMACH * max(diag)
        for v in diag:
            if not v > threshold:
                return None
    return solve(r, q.T @ b)


def lsei(a: FloatArray, b: FloatArray, e: FloatArray, f: FloatArray, g: FloatArray,
         h: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """``min ||a x - b||`` s.t. ``e x = f``, ``g x >= h``; returns ``(x, lam, mu, mode)``."""
    n = a.shape[1]
    me, mg = e.shape[0], g.shape[0]
    if me > n:
        return np.zeros(n), np.zeros(me), np.zeros(mg), TOO_MANY_EQ
    if me:
        q, r = qr(e.T, complete=True)
        r1 = r[:me]
        if not _diagonal_at_least(r1, _EPSMACH):
            return np.zeros(n), np.zeros(me), np.zeros(mg), SINGULAR_E
        q1, q2 = q[:, :me], q[:, me:]
        x_eq = q1 @ solve(r1.T, f)
    else:
        q1, q2, r1, x_eq = None, _identity(n), None, _zeros(n)
    a2, b2 = a @ q2, b - a @ x_eq
    y2: FloatArray | None
    if me == n:
        y2, mu = np.zeros(0), np.zeros(mg)
    elif mg == 0:
        y2, mu = _full_rank_least_squares(a2, b2), np.zeros(0)
        if y2 is None:
            return np.zeros(n), np.zeros(me), mu, RANK_DEFICIENT
    else:
        y2, mu, mode = lsi(a2, b2, g @ q2, h - g @ x_eq)
        if mode != OK:
            return np.zeros(n), np.zeros(me), mu, mode
    x = x_eq + q2 @ y2
    if not me:
        return x, np.zeros(0), mu, OK
    rhs = a.T @ (a @ x - b)
    if mg:                                # (minus g.T @ mu = +0.0 would change no bit)
        rhs = rhs - g.T @ mu
    return x, solve(r1, q1.T @ rhs), mu, OK  # type: ignore[arg-type, union-attr]


def _read_only(a: FloatArray) -> FloatArray:
    a.flags.writeable = False
    return a


@lru_cache(maxsize=64)
def _identity(n: int) -> FloatArray:
    """A read-only ``np.eye(n)``."""
    return _read_only(np.eye(n))


@lru_cache(maxsize=64)
def _zeros(n: int) -> FloatArray:
    """A read-only ``np.zeros(n)``."""
    return _read_only(np.zeros(n))


@lru_cache(maxsize=64)
def _last_unit_vector(n: int) -> FloatArray:
    """A read-only ``(0, ..., 0, 1)`` of size n, the right-hand side of LDP's dual NNLS."""
    e = np.zeros(n)
    e[-1] = 1.0
    return _read_only(e)


class QPResult:
    """Outcome of `solve_qp`: the step (with the slack last when augmented), multipliers
    ``(m,)`` of the constraints (None unless solved) and the mode code."""

    __slots__ = ("step", "multipliers", "mode")

    def __init__(self, step: FloatArray, multipliers: FloatArray | None, mode: int) -> None:
        self.step, self.multipliers, self.mode = step, multipliers, mode


def _least_squares_form(unit_lower: FloatArray, diag: FloatArray, grad: FloatArray
                        ) -> tuple[FloatArray, FloatArray]:
    """``a, b`` with ``a^T a = L D L^T`` and ``a^T b = -grad`` (``a = D^1/2 L^T``)."""
    root = np.sqrt(diag)
    a = root[:, np.newaxis] * unit_lower.T
    b = -solve(unit_lower, grad) / root
    return a, b


def solve_qp(unit_lower: FloatArray, diag: FloatArray, grad: FloatArray, jac: FloatArray,
             values: FloatArray, n_eq: int, lower: FloatArray, upper: FloatArray,
             slack_weight: float | None = None, bounded: bool = True) -> QPResult:
    """SLSQP's QP: ``min 1/2 s^T B s + grad^T s`` s.t. ``jac[:n_eq] s + values[:n_eq] = 0``,
    ``jac[n_eq:] s + values[n_eq:] >= 0``, ``lower <= s <= upper`` (infinite: no bound).

    With ``slack_weight`` (Kraft's remedy for an inconsistent linearisation) a variable
    ``z`` in ``[0, 1]`` with cost ``(slack_weight z)**2 / 2`` relaxes every constraint by the
    fraction ``z`` of its violation; ``step[-1]`` is then ``z``.  ``bounded=False`` says that
    no component of ``lower``/``upper`` is finite (a shortcut, not a different problem).
    """
    n = grad.size
    a, b = _least_squares_form(unit_lower, diag, grad)
    negated = -values
    e, f = jac[:n_eq], negated[:n_eq]
    g_rows, h = jac[n_eq:], negated[n_eq:]
    if slack_weight is not None:
        a = np.block([[a, np.zeros((n, 1))], [np.zeros((1, n)), np.full((1, 1), slack_weight)]])
        b = np.append(b, 0.0)
        e = np.hstack((e, -values[:n_eq, np.newaxis]))
        g_rows = np.hstack((g_rows, np.maximum(-values[n_eq:], 0.0)[:, np.newaxis]))
        lower, upper = np.append(lower, 0.0), np.append(upper, 1.0)
    if bounded or slack_weight is not None:
        has_lo, has_up = np.isfinite(lower), np.isfinite(upper)
        bounds = _bound_rows(has_lo, has_up)
        h_all = np.concatenate((h, lower if bounds.all_lower else lower[has_lo],
                                -(upper if bounds.all_upper else upper[has_up])))
    else:
        bounds, h_all = _unbounded_rows(lower.size), h
    if bounds.any_lower or bounds.any_upper or not g_rows.flags.c_contiguous:
        g_all = np.concatenate((g_rows, bounds.lower_rows, bounds.upper_rows))
    else:                                 # the concatenation would copy g_rows, C order
        g_all = g_rows
    x, lam, mu, mode = lsei(a, b, e, f, g_all, h_all)
    mult = np.concatenate((lam, mu[:g_rows.shape[0]])) if mode == OK else None
    if bounds.any_lower:                  # (all bounds finite: has_lo is all True)
        x = np.where((x < lower) if bounds.all_lower else has_lo & (x < lower), lower, x)
    if bounds.any_upper:
        x = np.where((x > upper) if bounds.all_upper else has_up & (x > upper), upper, x)
    return QPResult(x, mult, mode)


class _BoundRows:
    """The rows ``s_i >= lower_i`` (unit rows) and ``-s_i >= -upper_i`` of a bound pattern."""

    __slots__ = ("lower_rows", "upper_rows", "any_lower", "any_upper", "all_lower", "all_upper")

    def __init__(self, has_lo: npt.NDArray[np.bool_], has_up: npt.NDArray[np.bool_]) -> None:
        eye = np.eye(has_lo.size)
        self.lower_rows, self.upper_rows = eye[has_lo], -eye[has_up]
        self.lower_rows.flags.writeable = self.upper_rows.flags.writeable = False
        self.any_lower, self.any_upper = bool(has_lo.any()), bool(has_up.any())
        self.all_lower, self.all_upper = bool(has_lo.all()), bool(has_up.all())


_BOUND_ROWS: dict[tuple[bytes, bytes], _BoundRows] = {}


@lru_cache(maxsize=64)
def _unbounded_rows(n: int) -> _BoundRows:
    none = np.zeros(n, dtype=bool)
    return _BoundRows(none, none)


def _bound_rows(has_lo: npt.NDArray[np.bool_], has_up: npt.NDArray[np.bool_]) -> _BoundRows:
    """`_BoundRows` of the pattern, memoised (a sweep repeats the same few patterns)."""
    key = (has_lo.tobytes(), has_up.tobytes())
    rows = _BOUND_ROWS.get(key)
    if rows is None:
        rows = _BoundRows(has_lo, has_up)
        if len(_BOUND_ROWS) >= 512:
            _BOUND_ROWS.clear()
        _BOUND_ROWS[key] = rows
    return rows
