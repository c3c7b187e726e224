"""Constraint objects and their conversion between scipy's two forms.

The *new* form is a `LinearConstraint` (``lb <= A @ x <= ub``) or a `NonlinearConstraint`
(``lb <= fun(x) <= ub``); the *old* form is a dict ``{'type': 'eq'|'ineq', 'fun', 'jac',
'args'}`` meaning ``fun(x, *args) == 0`` or ``fun(x, *args) >= 0``.  `standardize_constraints`
turns what the user gave into the form a method wants, as scipy's `minimize` does: one new-style
constraint becomes up to two dicts (an 'eq' for the components with ``lb == ub``, an 'ineq'
stacking ``fun - lb`` and ``ub - fun`` for the finite sides).  `ConstraintFunctions` evaluates a
list of dicts as two stacked vectors (equalities, inequalities) with their Jacobians.

Any object with the attributes of scipy's `LinearConstraint` (``A``, ``lb``, ``ub``,
``keep_feasible``) or `NonlinearConstraint` (``fun``, ``lb``, ``ub``, ``jac``, ``hess``,
``keep_feasible``, ``finite_diff_rel_step``, ``finite_diff_jac_sparsity``) is accepted by those
attributes: `as_constraint` converts it, once, into our record (scipy is never imported).  Its
``hess`` (a callable, a scheme name or an update strategy such as scipy's ``BFGS()``) is kept
as it is and driven through its own methods.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._result import OptimizeWarning
from .finite_diff import approx_jacobian
from .hessian_update import is_bfgs_strategy

__all__ = ["LinearConstraint", "NonlinearConstraint", "as_constraint", "is_constraint_like",
           "standardize_constraints", "new_to_old", "old_to_new", "validate_old",
           "ConstraintFunctions", "approx_jacobian"]

FloatArray = npt.NDArray[np.float64]


def _check_lb_le_ub(lb: Any, ub: Any, what: str) -> None:
    """Raise `ValueError` naming the components where ``lb > ub`` (after broadcasting)."""
    try:
        lo, hi = np.broadcast_arrays(np.asarray(lb, dtype=float), np.asarray(ub, dtype=float))
    except ValueError as exc:
        raise ValueError(f"{what}: `lb` and `ub` must be broadcastable, got shapes "
                         f"{np.shape(lb)} and {np.shape(ub)}.") from exc
    bad = np.flatnonzero(np.atleast_1d(lo > hi))
    if bad.size:
        raise ValueError(f"{what}: lb > ub in components {bad.tolist()} "
                         f"(lb={np.atleast_1d(lo)[bad].tolist()}, "
                         f"ub={np.atleast_1d(hi)[bad].tolist()}).")


class LinearConstraint:
    """Linear constraint ``lb <= A @ x <= ub``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Constraint matrix (a 1-d array is one row).
    lb, ub : array_like, shape (m,) or scalar
        Limits; ``-inf``/``inf`` for a free side, ``lb == ub`` for an equality.
    keep_feasible : array_like of bool, shape (m,) or scalar
        Keep the components feasible during the iterations (trust-constr only).
    """

    def __init__(self, A: Any, lb: Any = -np.inf, ub: Any = np.inf,
                 keep_feasible: Any = False) -> None:
        try:
            self.A = np.atleast_2d(np.asarray(A, dtype=float))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`A` must be a 2-d array of real numbers: {exc}") from exc
        if self.A.ndim != 2:
            raise ValueError(f"`A` must have exactly two dimensions, got shape {self.A.shape}.")
        shape = self.A.shape[:1]
        try:
            self.lb = np.broadcast_to(np.atleast_1d(np.asarray(lb, dtype=float)), shape)
            self.ub = np.broadcast_to(np.atleast_1d(np.asarray(ub, dtype=float)), shape)
            self.keep_feasible = np.broadcast_to(
                np.atleast_1d(np.asarray(keep_feasible, dtype=bool)), shape)
        except ValueError as exc:
            raise ValueError("`lb`, `ub`, and `keep_feasible` must be broadcastable to shape "
                             f"`A.shape[0:1]` = {shape}.") from exc
        _check_lb_le_ub(self.lb, self.ub, "LinearConstraint")

    def residual(self, x: Any) -> tuple[FloatArray, FloatArray]:
        """Return ``(A @ x - lb, ub - A @ x)``: both >= 0 where ``x`` satisfies the constraint."""
        ax = self.A @ np.asarray(x, dtype=float)
        return ax - self.lb, self.ub - ax


class NonlinearConstraint:
    """Nonlinear constraint ``lb <= fun(x) <= ub``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> array_like, shape (m,)``.
    lb, ub : array_like, shape (m,) or scalar
        Limits; ``-inf``/``inf`` for a free side, ``lb == ub`` for an equality.
    jac : callable or {'2-point', '3-point', 'cs'}
        ``jac(x) -> (m, n)`` or a finite-difference scheme.
    hess : callable, `HessianUpdateStrategy` or None
        Hessian of ``dot(fun, v)``: ``hess(x, v)``; None means ``BFGS()`` (trust-constr only).
    keep_feasible : array_like of bool
        Keep the components feasible during the iterations (trust-constr only).
    finite_diff_rel_step : array_like, optional
        Relative step of the finite-difference Jacobian.
    finite_diff_jac_sparsity : array_like, optional
        Sparsity structure of the Jacobian, shape (m, n).
    """

    def __init__(self, fun: Callable[..., Any], lb: Any, ub: Any, jac: Any = "2-point",
                 hess: Any = None, keep_feasible: Any = False,
                 finite_diff_rel_step: Any = None, finite_diff_jac_sparsity: Any = None) -> None:
        if not callable(fun):
            raise ValueError("NonlinearConstraint: `fun` must be callable.")
        _check_lb_le_ub(lb, ub, "NonlinearConstraint")
        if hess is None:
            from .hessian_update import BFGS
            hess = BFGS()
        self.fun, self.lb, self.ub, self.jac, self.hess = fun, lb, ub, jac, hess
        self.keep_feasible = keep_feasible
        self.finite_diff_rel_step = finite_diff_rel_step
        self.finite_diff_jac_sparsity = finite_diff_jac_sparsity


NEW_TYPES = (LinearConstraint, NonlinearConstraint)


def _is_linear_like(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in ("A", "lb", "ub"))


def _is_nonlinear_like(obj: Any) -> bool:
    return callable(getattr(obj, "fun", None)) and hasattr(obj, "lb") and hasattr(obj, "ub")


def is_constraint_like(obj: Any) -> bool:
    """True for one new-style constraint: ours, or an object with the attributes of scipy's
    `LinearConstraint` (``A``, ``lb``, ``ub``) or `NonlinearConstraint` (``fun``, ``lb``,
    ``ub``)."""
    return isinstance(obj, NEW_TYPES) or _is_linear_like(obj) or _is_nonlinear_like(obj)


def _dense_matrix(a: Any) -> Any:
    """``a`` as a dense array when it is a sparse matrix or an operator with ``toarray``."""
    return a.toarray() if hasattr(a, "toarray") else a


def as_constraint(obj: Any) -> LinearConstraint | NonlinearConstraint:
    """Our `LinearConstraint` / `NonlinearConstraint` from a constraint-like object.

    Ours are returned as they are; another object is read by its attributes (a sparse ``A`` is
    made dense; ``jac``, ``hess`` and the finite-difference options are kept as given, missing
    optional ones take scipy's defaults).

    Raises
    ------
    TypeError
        When ``obj`` has neither the attributes of a linear nor of a nonlinear constraint.
    """
    if isinstance(obj, NEW_TYPES):
        return obj
    keep = getattr(obj, "keep_feasible", False)
    if _is_linear_like(obj):
        return LinearConstraint(_dense_matrix(obj.A), obj.lb, obj.ub, keep)
    if _is_nonlinear_like(obj):
        return NonlinearConstraint(
            obj.fun, obj.lb, obj.ub, jac=getattr(obj, "jac", "2-point"),
            hess=getattr(obj, "hess", None), keep_feasible=keep,
            finite_diff_rel_step=getattr(obj, "finite_diff_rel_step", None),
            finite_diff_jac_sparsity=getattr(obj, "finite_diff_jac_sparsity", None))
    raise TypeError(f"A {type(obj).__name__} is not a constraint: it needs the attributes "
                    "(A, lb, ub) of a LinearConstraint or (fun, lb, ub) of a "
                    "NonlinearConstraint.")


def validate_old(con: Any, index: int = 0) -> str:
    """Check one dict constraint and return its type, ``'eq'`` or ``'ineq'``.

    Raises as scipy does: `TypeError` for a non-dict, `KeyError` without ``'type'``,
    `ValueError` for an unknown type or without ``'fun'``.
    """
    try:
        ctype = con["type"].lower()
    except KeyError as exc:
        raise KeyError(f"Constraint {index} has no type defined.") from exc
    except TypeError as exc:
        raise TypeError("Constraints must be defined using a dictionary.") from exc
    except AttributeError as exc:
        raise TypeError("Constraint's type must be a string.") from exc
    if ctype not in ("eq", "ineq"):
        raise ValueError(f"Unknown constraint type '{con['type']}'.")
    if "fun" not in con:
        raise ValueError(f"Constraint {index} has no function defined.")
    return str(ctype)


def old_to_new(con: dict[str, Any], index: int = 0) -> NonlinearConstraint:
    """Convert a dict constraint into a `NonlinearConstraint` (``[0, 0]`` or ``[0, inf)``)."""
    ctype = validate_old(con, index)
    args = tuple(con.get("args", ()))
    user_fun, user_jac = con["fun"], con.get("jac")
    fun = user_fun if not args else (lambda x: user_fun(x, *args))
    jac: Any = "2-point"
    if user_jac is not None:
        jac = user_jac if not args else (lambda x: user_jac(x, *args))
    return NonlinearConstraint(fun, 0.0, 0.0 if ctype == "eq" else np.inf, jac)


def _limits(con: Any, x0: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Broadcast a new-style constraint's limits to its size m (evaluating ``fun(x0)``)."""
    if isinstance(con, LinearConstraint):
        if con.A.shape[1] != x0.size:
            raise ValueError(f"LinearConstraint: `A` has shape {con.A.shape} but x0 has "
                             f"{x0.size} variables (A must be (m, {x0.size})).")
        f0 = con.A @ x0
    else:
        f0 = np.atleast_1d(np.asarray(con.fun(x0.copy()), dtype=float)).ravel()
    m = f0.size
    try:
        lb = np.broadcast_to(np.asarray(con.lb, dtype=float), (m,)).copy()
        ub = np.broadcast_to(np.asarray(con.ub, dtype=float), (m,)).copy()
        keep = np.broadcast_to(np.asarray(con.keep_feasible, dtype=bool), (m,))
    except ValueError as exc:
        raise ValueError(f"{type(con).__name__}: `lb`, `ub` and `keep_feasible` must be "
                         f"broadcastable to the {m} constraint values.") from exc
    mask = keep & (lb != ub)
    if np.any(f0[mask] < lb[mask]) or np.any(f0[mask] > ub[mask]):
        raise ValueError("`x0` is infeasible with respect to some inequality constraint with "
                         "`keep_feasible` set to True.")
    return lb, ub, keep


def _warn_ignored_options(con: Any) -> None:
    if isinstance(con, NonlinearConstraint):
        if (con.finite_diff_jac_sparsity is not None or con.finite_diff_rel_step is not None
                or not is_bfgs_strategy(con.hess) or np.any(con.keep_feasible)):
            warnings.warn("Constraint options `finite_diff_jac_sparsity`, "
                          "`finite_diff_rel_step`, `keep_feasible`, and `hess`"
                          "are ignored by this method.", OptimizeWarning, stacklevel=4)
    elif np.any(con.keep_feasible):
        warnings.warn("Constraint option `keep_feasible` is ignored by this method.",
                      OptimizeWarning, stacklevel=4)


def new_to_old(con: LinearConstraint | NonlinearConstraint, x0: Any) -> list[dict[str, Any]]:
    """Convert a new-style constraint into at most two dicts (an 'eq' then an 'ineq').

    Components with ``lb == ub`` give ``fun - lb == 0``; finite lower sides ``fun - lb >= 0``
    and finite upper sides ``ub - fun >= 0`` (stacked lower first).  Components free on both
    sides are dropped with an `OptimizeWarning`, as is a mix of both kinds in one constraint.
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    _warn_ignored_options(con)
    if isinstance(con, LinearConstraint):
        A = con.A
        fun: Callable[..., Any] = lambda x: A @ x  # noqa: E731
        jac: Callable[..., Any] | None = lambda x: A  # noqa: E731
    else:
        fun, jac = con.fun, (con.jac if callable(con.jac) else None)
    lb, ub, _ = _limits(con, x0)
    is_eq = lb == ub
    below = (lb != -np.inf) & ~is_eq
    above = (ub != np.inf) & ~is_eq
    if np.any((lb == -np.inf) & (ub == np.inf)):
        warnings.warn("At least one constraint is unbounded above and below. Such constraints "
                      "are ignored.", OptimizeWarning, stacklevel=3)
    out: list[dict[str, Any]] = []
    if is_eq.any():
        out.append(_eq_dict(fun, jac, is_eq, lb))
    if below.any() or above.any():
        out.append(_ineq_dict(fun, jac, below, above, lb, ub))
    if len(out) > 1:
        warnings.warn("Equality and inequality constraints are specified in the same element "
                      "of the constraint list. For efficient use with this method, equality "
                      "and inequality constraints should be specified in separate elements of "
                      "the constraint list. ", OptimizeWarning, stacklevel=3)
    return out


def _values(fun: Callable[..., Any], x: Any) -> FloatArray:
    return np.asarray(fun(x), dtype=float).ravel()


def _rows(jac: Callable[..., Any], x: Any) -> FloatArray:
    """``jac(x)`` as a dense 2-d array (a sparse Jacobian is made dense)."""
    return np.atleast_2d(np.asarray(_dense_matrix(jac(x)), dtype=float))


def _eq_dict(fun: Callable[..., Any], jac: Callable[..., Any] | None,
             is_eq: npt.NDArray[np.bool_], lb: FloatArray) -> dict[str, Any]:
    target = lb[is_eq]
    con: dict[str, Any] = {"type": "eq", "fun": lambda x: _values(fun, x)[is_eq] - target}
    if jac is not None:
        con["jac"] = lambda x: _rows(jac, x)[is_eq]
    return con


def _ineq_dict(fun: Callable[..., Any], jac: Callable[..., Any] | None,
               below: npt.NDArray[np.bool_], above: npt.NDArray[np.bool_],
               lb: FloatArray, ub: FloatArray) -> dict[str, Any]:
    lo, hi = lb[below], ub[above]

    def f_ineq(x: Any) -> FloatArray:
        y = _values(fun, x)
        return np.concatenate((y[below] - lo, hi - y[above]))

    con: dict[str, Any] = {"type": "ineq", "fun": f_ineq}
    if jac is not None:
        con["jac"] = lambda x: np.vstack((_rows(jac, x)[below], -_rows(jac, x)[above]))
    return con


def standardize_constraints(constraints: Any, x0: Any, method: str) -> list[Any]:
    """Return the constraints as a list in the form ``method`` wants.

    ``method`` is ``'new'``/``'old'`` or a method name: trust-constr, COBYQA and COBYLA take
    new-style objects (scipy 1.17), every other method dicts.  Dicts are validated on both
    paths (see `validate_old`); constraint-like objects (scipy's included) are converted to our
    records first (see `as_constraint`); anything else raises `TypeError`.
    """
    if constraints is None:
        items: list[Any] = []
    elif isinstance(constraints, dict) or is_constraint_like(constraints):
        items = [constraints]
    else:
        try:
            items = list(constraints)
        except TypeError as exc:
            raise TypeError(_not_a_constraint(constraints, None)) from exc
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    want_new = method.lower() in ("new", "trust-constr", "cobyqa", "cobyla")
    out: list[Any] = []
    for i, con in enumerate(items):
        if not isinstance(con, dict) and is_constraint_like(con):
            con = as_constraint(con)
            if want_new:
                if isinstance(con, LinearConstraint):
                    _limits(con, x0)  # shape check against x0
                out.append(con)
            else:
                out.extend(new_to_old(con, x0))
        elif isinstance(con, dict):
            if want_new:
                out.append(old_to_new(con, i))
            else:
                validate_old(con, i)
                out.append(con)
        else:
            raise TypeError(_not_a_constraint(con, i))
    return out


def _not_a_constraint(con: Any, index: int | None) -> str:
    """One line saying what a constraint must be and what was given."""
    which = "constraints" if index is None else f"Constraint {index}"
    return (f"{which} must be a dict, a LinearConstraint (attributes A, lb, ub), a "
            f"NonlinearConstraint (attributes fun, lb, ub) or a sequence of them, got "
            f"{type(con).__name__}.")


class _Piece:
    """One dict constraint: ``fun(x, *args)`` and its Jacobian (callable or differences)."""

    def __init__(self, con: dict[str, Any], fd: dict[str, Any]) -> None:
        self.fun, self.jac = con["fun"], con.get("jac")
        self.args = tuple(con.get("args", ()))
        self.fd = fd

    def value(self, x: FloatArray) -> FloatArray:  # ravel() makes a 0-d value 1-d
        return np.asarray(self.fun(x.copy(), *self.args), dtype=float).ravel()

    def jacobian(self, x: FloatArray, f0: FloatArray) -> FloatArray:
        if self.jac is not None:
            rows = _dense_matrix(self.jac(x.copy(), *self.args))
            return np.atleast_2d(np.asarray(rows, dtype=float))
        return approx_jacobian(lambda z: self.fun(z, *self.args), x, f0, **self.fd)


def _same_point(a: FloatArray, b: FloatArray) -> bool:
    """``numpy.array_equal(a, b)`` for float arrays (NaN never equal), without its overhead."""
    if a.shape != b.shape:
        return False  # small: list equality compares the floats with ==, as arrays would
    return a.tolist() == b.tolist() if a.size <= 32 else bool((a == b).all())


class ConstraintFunctions:
    """Evaluate a list of constraints as stacked equalities and inequalities.

    Parameters
    ----------
    constraints : list
        Dicts ``{'type', 'fun', 'jac', 'args'}`` (new-style objects are converted first).
    x0 : array_like, shape (n,)
        A point at which every constraint is evaluated once to learn its size.
    eps : float, optional
        Absolute forward-difference step for Jacobians not given (default: scheme default).
    rel_step : float, optional
        Relative step for the named ``scheme`` (used when ``eps`` is None).
    scheme : {'2-point', '3-point', 'cs'}
        Finite-difference scheme.
    lb, ub : ndarray, shape (n,), optional
        Bounds that finite-difference steps must respect.

    ``ineq(x) >= 0`` and ``eq(x) == 0`` mean feasible; Jacobians are (n_eq, n) / (n_ineq, n).
    """

    def __init__(self, constraints: Sequence[Any], x0: Any, *, eps: Any = None,
                 rel_step: Any = None, scheme: str = "2-point", lb: FloatArray | None = None,
                 ub: FloatArray | None = None) -> None:
        x0 = np.atleast_1d(np.asarray(x0, dtype=float))
        with warnings.catch_warnings():  # the dispatcher has warned the user already
            warnings.simplefilter("ignore", OptimizeWarning)
            dicts = standardize_constraints(constraints, x0, "old")
        fd = {"method": scheme, "rel_step": rel_step, "abs_step": eps, "lb": lb, "ub": ub}
        self._eq = [_Piece(c, fd) for c in dicts if c["type"].lower() == "eq"]
        self._ineq = [_Piece(c, fd) for c in dicts if c["type"].lower() == "ineq"]
        self.n = x0.size
        self.n_eq = sum(p.value(x0).size for p in self._eq)
        self.n_ineq = sum(p.value(x0).size for p in self._ineq)
        self._cache: dict[str, tuple[FloatArray, FloatArray]] = {}

    def _stack(self, kind: str, pieces: list[_Piece], x: Any) -> FloatArray:
        if not pieces:
            return np.zeros(0)
        x = np.asarray(x, dtype=float)
        hit = self._cache.get(kind)
        if hit is not None and _same_point(hit[0], x):
            return hit[1]
        parts = [p.value(x) for p in pieces]
        out = np.concatenate(parts) if parts else np.zeros(0)
        self._cache[kind] = (x.copy(), out)
        return out

    def _stack_jac(self, pieces: list[_Piece], x: Any) -> FloatArray:
        x = np.asarray(x, dtype=float)
        rows = [p.jacobian(x, p.value(x) if p.jac is None else np.zeros(0)) for p in pieces]
        return np.concatenate(rows) if rows else np.zeros((0, self.n))  # rows are 2-d

    def eq(self, x: Any) -> FloatArray:
        """Equality residuals, shape (n_eq,); zero when satisfied."""
        return self._stack("eq", self._eq, x)

    def ineq(self, x: Any) -> FloatArray:
        """Inequality values, shape (n_ineq,); >= 0 when satisfied."""
        return self._stack("ineq", self._ineq, x)

    def eq_jac(self, x: Any) -> FloatArray:
        """Jacobian of `eq`, shape (n_eq, n)."""
        return self._stack_jac(self._eq, x)

    def ineq_jac(self, x: Any) -> FloatArray:
        """Jacobian of `ineq`, shape (n_ineq, n)."""
        return self._stack_jac(self._ineq, x)

    def violation(self, x: Any) -> float:
        """Largest violation ``max(|eq|, -ineq)``, 0.0 when ``x`` is feasible."""
        worst = 0.0
        e, g = self.eq(x), self.ineq(x)
        if e.size:
            worst = max(worst, float(np.max(np.abs(e))))
        if g.size:
            worst = max(worst, float(np.max(-g)))
        return worst

