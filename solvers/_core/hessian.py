"""Second-order information for the Newton-type and trust-region methods.

`make_hessian` turns what the user passed (``hess``/``hessp`` in the `RunContext`) into a
`HessianSource` with one interface for every source:

* ``hess`` callable returning a dense (n, n) array, a sparse-like matrix (``.toarray()``), or an
  operator (anything with ``.dot(p)``, e.g. a scipy ``LinearOperator``);
* ``hessp`` callable, ``hessp(x, p, *args) -> (n,)``;
* ``hess`` in {'2-point', '3-point', 'cs'}: each product ``H(x) p`` is a finite difference of the
  gradient along ``p`` (scipy's linear-operator scheme: step ``h / |p|`` with ``h`` = sqrt(eps)
  for 2-point and cs, eps**(1/3) for 3-point), costing 1, 2 or 1 gradient evaluations (counted
  in the objective's ``njev``);
* a quasi-Newton strategy (`BFGS()`, `SR1()`, any `HessianUpdateStrategy`), initialised with
  ``initialize(n, 'hess')`` and updated, as scipy's ScalarFunction does, at every new point the
  objective visits (wrap the objective with `HessianSource.watch` to get that);
* for Newton-CG only (``needs="optional"``), nothing: forward differences of the gradient with
  absolute step ``eps``, ``(g(x + eps p) - g(x)) / eps``.

Counting (``nhev``): calls of the user's ``hess`` and ``hessp`` callables, plus products computed
through `HessianSource.hessp` for finite-difference and strategy sources (scipy counts those
through its wrapped ``hessp``).  Products with a matrix already returned by ``hess`` are free.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .context import RunContext
from .finite_diff import FD_METHODS
from .hessian_update import is_update_strategy
from .objective import ScalarObjective
from .stops import NonFiniteValue

__all__ = ["HessianSource", "make_hessian", "is_update_strategy"]

FloatArray = npt.NDArray[np.float64]
_EPS = float(np.finfo(float).eps)
_SPECIAL_MESSAGES = {
    ("dogleg", "hess"): "Hessian is required for dogleg minimization",
    ("trust-exact", "hess"): "Hessian matrix is required for trust region exact minimization.",
    ("trust-ncg", "hess_or_hessp"):
        "Either the Hessian or the Hessian-vector product is required for Newton-CG "
        "trust-region minimization",
    ("trust-krylov", "hess_or_hessp"):
        "Either the Hessian or the Hessian-vector product is required for Krylov "
        "trust-region minimization",
}


def _missing_message(method: str, needs: str) -> str:
    text = _SPECIAL_MESSAGES.get((method, needs))
    if text is not None:
        return text
    if needs == "hess":
        return f"Hessian is required for {method} minimization"
    return ("Either the Hessian or the Hessian-vector product is required for "
            f"{method} minimization")


class _ProductOperator:
    """``H(x)`` as an operator whose products are computed by ``source.hessp(x, p)``."""

    def __init__(self, source: HessianSource, x: FloatArray) -> None:
        self._source, self._x = source, x
        self.shape = (x.size, x.size)

    def dot(self, p: FloatArray) -> FloatArray:
        return self._source.hessp(self._x, p)

    matvec = dot
    __matmul__ = dot


class HessianSource:
    """Second-order information at points x, counted as scipy counts it (``nhev``).

    ``kind`` is one of 'hess' (callable returning a matrix), 'operator' (callable returning an
    operator), 'hessp', 'finite-difference' ('2-point'/'3-point'/'cs'), 'strategy', or
    'gradient-difference' (Newton-CG without any Hessian).  A callable ``hess`` is 'hess' until
    its first evaluation shows that it returns an operator.
    """

    def __init__(self, ctx: RunContext, obj: ScalarObjective, kind: str, method: str, *,
                 scheme: str | None = None, step: float | None = None) -> None:
        self._ctx, self._obj, self.kind, self.method = ctx, obj, kind, method
        self._scheme, self._step = scheme, step
        self.nhev = 0
        self._hx: FloatArray | None = None
        self._h: Any = None
        self._gx: FloatArray | None = None  # point and gradient last fed (strategy) / used (fd)
        self._g: FloatArray | None = None
        self.strategy: Any = ctx.hess if kind == "strategy" else None
        self._n = -1

    def _meet(self, x: Any) -> None:
        """Learn the dimension from the first point seen (and initialise a strategy)."""
        if self._n < 0:
            self._n = int(np.size(x))
            if self.kind == "strategy":
                self.strategy.initialize(self._n, "hess")

    # -- public interface --------------------------------------------------------------------
    def uses_matrix(self, x: FloatArray) -> bool:
        """True when ``hess(x)`` is a matrix (or strategy) to multiply, False when each product
        is computed on demand (hessp, operator, finite differences).  May evaluate ``hess(x)``."""
        self._meet(x)
        if self.kind == "hess":
            self.hess(x)
        return self.kind in ("hess", "strategy")

    def hess(self, x: FloatArray) -> Any:
        """The Hessian at ``x``: an (n, n) array, a sparse-like matrix, an operator with
        ``.dot(p)`` / ``@``, or the strategy itself.  Memoised at the last point."""
        self._meet(x)
        if self.kind in ("hess", "operator"):
            if self._hx is None or not np.array_equal(x, self._hx):
                self._h = self._call_hess(x)
                self._hx = np.array(x, dtype=float)
            return self._h
        if self.kind == "strategy":
            self._feed_point(x)
            return self.strategy
        return _ProductOperator(self, np.array(x, dtype=float))

    def hess_dense(self, x: FloatArray) -> FloatArray:
        """The Hessian at ``x`` as a dense (n, n) array; `ValueError` naming the method when
        only products are available."""
        if self.kind == "strategy":
            return np.asarray(self.hess(x).get_matrix(), dtype=float)
        if self.kind == "hess":
            h = self.hess(x)
            if self.kind == "hess":
                return np.asarray(h.toarray(), dtype=float) if hasattr(h, "toarray") else h
        if self.kind == "operator":
            raise ValueError(f"Method {self.method} needs the Hessian as a dense (n, n) array; "
                             f"`hess` returned a {type(self._h).__name__}.")
        raise ValueError(_missing_message(self.method, "hess"))

    def hessp(self, x: FloatArray, p: FloatArray) -> FloatArray:
        """``H(x) @ p``, shape (n,)."""
        self._meet(x)
        p = np.asarray(p, dtype=float)
        if self.kind == "hess":
            h = self.hess(x)
            if self.kind == "hess":
                return np.asarray(h.dot(p), dtype=float).reshape(-1)
        if self.kind == "operator":
            return self._check_product(self.hess(x).dot(p), "hess(x).dot(p)")
        if self.kind == "hessp":
            self.nhev += 1
            out = self._ctx.hessp(np.array(x, dtype=float), p.copy(), *self._ctx.args)
            return self._check_product(out, "hessp")
        self.nhev += 1
        if self.kind == "strategy":
            return np.asarray(self.hess(x).dot(p), dtype=float).reshape(-1)
        if self.kind == "finite-difference":
            return self._fd_product(x, p)
        return self._gradient_difference(x, p)

    def update(self, x_new: FloatArray, g_new: FloatArray) -> None:
        """Feed a visited point and its gradient to a quasi-Newton strategy (else no-op)."""
        self._meet(x_new)
        if self.kind != "strategy":
            return
        if self._gx is not None and not np.array_equal(x_new, self._gx):
            self.strategy.update(np.asarray(x_new, dtype=float) - self._gx,
                                 np.asarray(g_new, dtype=float) - self._g)
        self._gx = np.array(x_new, dtype=float)
        self._g = np.array(g_new, dtype=float)

    def watch(self, obj: ScalarObjective) -> Any:
        """The objective to evaluate through: ``obj`` itself, or, for a strategy, a proxy that
        also evaluates the gradient at every new point and feeds it to the strategy."""
        return _StrategyFeed(obj, self) if self.kind == "strategy" else obj

    # -- helpers -----------------------------------------------------------------------------
    def _feed_point(self, x: FloatArray) -> None:
        if self._gx is None or not np.array_equal(x, self._gx):
            self.update(x, self._obj.grad(x))

    def _call_hess(self, x: FloatArray) -> Any:
        self.nhev += 1
        out = self._ctx.hess(np.array(x, dtype=float), *self._ctx.args)
        n = x.size
        if not isinstance(out, np.ndarray) and not hasattr(out, "toarray") and (
                hasattr(out, "dot") or hasattr(out, "matvec")):
            shape = getattr(out, "shape", (n, n))
            if tuple(shape) != (n, n):
                raise ValueError(f"The Hessian returned by `hess` must have shape ({n}, {n}), "
                                 f"got {tuple(shape)}.")
            self.kind = "operator"
            return out
        dense = out.toarray() if hasattr(out, "toarray") else out
        dense = np.atleast_2d(np.asarray(dense, dtype=float))
        if dense.shape != (n, n):
            raise ValueError(f"The Hessian returned by `hess` must have shape ({n}, {n}), "
                             f"got {dense.shape}.")
        if not np.all(np.isfinite(dense)):
            raise ValueError(f"The Hessian returned by `hess` contains non-finite values; "
                             f"method {self.method} needs a finite Hessian.")
        return out if hasattr(out, "toarray") else dense

    def _check_product(self, out: Any, name: str) -> FloatArray:
        v = np.asarray(out, dtype=float)
        if v.ndim == 2 and 1 in v.shape:  # a column or row vector from a matrix product
            v = v.reshape(-1)
        n = self._n
        if v.shape != (n,):
            raise ValueError(f"The Hessian-vector product returned by `{name}` must have shape "
                             f"({n},), got {np.shape(out)}.")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"The Hessian-vector product returned by `{name}` contains "
                             f"non-finite values; method {self.method} needs finite values.")
        return v

    def _gradient_only(self, x: Any) -> Any:
        """The gradient at ``x`` (possibly complex) without moving the objective's memo when
        ``jac`` is a callable (counted as one ``njev``); through the objective otherwise."""
        jac = self._ctx.jac
        if callable(jac) or jac is True:
            arg = np.array(x, copy=True)
            g = jac(arg, *self._ctx.args) if callable(jac) else self._ctx.fun(
                arg, *self._ctx.args)[1]
            self._obj.njev += 1
            g = np.atleast_1d(np.asarray(g))
            if g.shape != (self._n,):
                raise ValueError(f"The gradient must have shape ({self._n},), got {g.shape}.")
            if not np.all(np.isfinite(g)):
                raise NonFiniteValue(float(np.real(g[~np.isfinite(g)][0])))
            return g
        return self._obj.grad(np.asarray(x, dtype=float))

    def _gradient_at(self, x: FloatArray) -> FloatArray:
        """The gradient at ``x``: the objective's memo, the source's memo, or a new one."""
        cached = self._obj.cached_grad(x)
        if cached is not None:
            return cached
        if self._gx is None or not np.array_equal(x, self._gx):
            self._g = self._gradient_only(x)
            self._gx = np.array(x, dtype=float)
        return self._g  # type: ignore[return-value]

    def _step_size(self) -> float:
        """The difference step of a 'finite-difference' or 'gradient-difference' source."""
        if self._step is None:
            raise RuntimeError(f"A {self.kind!r} Hessian source has no difference step.")
        return self._step

    def _fd_product(self, x: FloatArray, p: FloatArray) -> FloatArray:
        """scipy's linear-operator finite difference of the gradient along ``p``."""
        step = self._step_size()
        pnorm = float(np.linalg.norm(p))
        if pnorm == 0.0:
            return np.zeros(self._n)
        x = np.asarray(x, dtype=float)
        if self._scheme == "3-point":
            dx = 2 * step / pnorm
            g_lo = self._gradient_only(x - (dx / 2) * p)
            g_hi = self._gradient_only(x + (dx / 2) * p)
            return (g_hi - g_lo) / dx
        dx = step / pnorm
        if self._scheme == "cs":
            return np.imag(self._gradient_only(x + dx * p * 1j)) / dx
        return (self._gradient_only(x + dx * p) - self._gradient_at(x)) / dx

    def _gradient_difference(self, x: FloatArray, p: FloatArray) -> FloatArray:
        """Newton-CG's forward difference ``(g(x + eps p) - g(x)) / eps``."""
        step = self._step_size()
        g0 = self._gradient_at(x)
        return (self._gradient_only(np.asarray(x, dtype=float) + step * p) - g0) / step


class _StrategyFeed:
    """An objective proxy that feeds every newly visited point to the source's strategy."""

    def __init__(self, obj: ScalarObjective, source: HessianSource) -> None:
        self._obj, self._source = obj, source

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)

    def fun(self, x: FloatArray) -> float:
        f = self._obj.fun(x)
        self._source._feed_point(x)
        return f

    def grad(self, x: FloatArray) -> FloatArray:
        g = self._obj.grad(x)
        self._source._feed_point(x)
        return g

    def fun_and_grad(self, x: FloatArray) -> tuple[float, FloatArray]:
        f, g = self._obj.fun_and_grad(x)
        self._source._feed_point(x)
        return f, g


def _choose_kind(ctx: RunContext, method: str, needs: str) -> str:
    hess, hessp = ctx.hess, ctx.hessp
    if callable(hess) and not is_update_strategy(hess):
        return "hess"
    valid = hess is None or is_update_strategy(hess) or (isinstance(hess, str)
                                                         and hess in FD_METHODS)
    if not valid:
        raise ValueError("`hess` must be either callable, HessianUpdateStrategy or one of "
                         f"{FD_METHODS}.")
    if needs == "hess":
        raise ValueError(_missing_message(method, needs))
    if callable(hessp):
        return "hessp"
    if isinstance(hess, str):
        if not callable(ctx.jac) and ctx.jac is not True:
            raise ValueError("Whenever the gradient is estimated via finite-differences, we "
                             "require the Hessian to be estimated using one of the quasi-Newton "
                             "strategies.")
        return "finite-difference"
    if hess is not None:
        return "strategy"
    if needs == "optional":
        return "gradient-difference"
    raise ValueError(_missing_message(method, needs))


def make_hessian(ctx: RunContext, obj: ScalarObjective, *, method: str,
                 needs: str = "hess_or_hessp", rel_step: float | None = None,
                 eps: float | None = None, n: int | None = None) -> HessianSource:
    """Build the `HessianSource` for a run from ``ctx.hess`` / ``ctx.hessp``.

    Parameters
    ----------
    ctx : RunContext
        The run's problem (``hess``, ``hessp``, ``jac``, ``args``).
    obj : ScalarObjective
        The run's objective (gradients for finite differences and strategies; counts).
    method : str
        Method name, used in error messages (e.g. 'trust-ncg').
    needs : {'hess_or_hessp', 'hess', 'optional'}
        'hess': a callable ``hess`` is required (dogleg, trust-exact); 'hess_or_hessp': any
        source; 'optional': Newton-CG, which falls back to gradient differences with step
        ``eps``.
    rel_step : float, optional
        Step ``h`` of the '2-point'/'3-point'/'cs' Hessian products (default sqrt(eps) or
        eps**(1/3)).
    eps : float, optional
        Absolute step of the 'gradient-difference' products (``needs='optional'``).
    n : int, optional
        Problem dimension; default: learnt from the first point passed to the source (a
        strategy is initialised then, with ``initialize(n, 'hess')``).

    Raises
    ------
    ValueError
        When the method's required second-order information is missing (scipy's wording), or
        ``hess`` is not a callable, a scheme name or an update strategy.
    """
    kind = _choose_kind(ctx, method, needs)
    scheme = ctx.hess if kind == "finite-difference" else None
    step = None
    if kind == "finite-difference":
        step = rel_step if rel_step is not None else (
            _EPS ** (1 / 3) if scheme == "3-point" else _EPS ** 0.5)
    elif kind == "gradient-difference":
        step = float(_EPS ** 0.5 if eps is None else eps)  # type: ignore[arg-type]
    source = HessianSource(ctx, obj, kind, method, scheme=scheme, step=step)
    if n is not None:
        source._meet(np.empty(int(n)))
    return source

