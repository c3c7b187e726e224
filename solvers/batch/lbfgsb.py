"""Batched L-BFGS-B: projected limited-memory BFGS for a batch of starts with box bounds.

Every start runs on its own schedule: one lockstep round evaluates value and gradient at every
active start's current trial point in one call, then each start either takes its step (and
computes its next direction and first trial) or picks its next trial, so a start that needs
three trials for one step does not hold the others, and the number of rounds is the largest
number of trial points any start needs, not a sum of per-iteration maxima.

Per start: the variables held at a bound by the gradient (``x_i = lb_i`` with ``g_i > 0``, or
``x_i = ub_i`` with ``g_i < 0``) are frozen; the direction is ``-H g`` on the free variables,
with ``H`` the L-BFGS inverse Hessian in compact form (`lbfgs_memory`; ``H0 = gamma I``,
``gamma = s.y / y.y`` of the newest pair), replaced by projected steepest descent (and the memory
cleared) when it is not a descent direction; a strong-Wolfe search along the projected path
(`wolfe`; scipy's constants ``c1 = 1e-3``, ``c2 = 0.9``, first step ``min(1, 1/|d|)`` on an empty
memory, else 1) takes the step, the best sufficient-decrease point when ``maxls`` trials or a
bracket narrower than 10 % of the step end it first; the pair ``(s, y)`` is stored when
``s.y > eps * (-g.s)``. A failed search clears the memory and retries; a failure with an empty
memory ends the start ("ABNORMAL: ", status 2). Stopping tests, their order, status codes and
messages are scipy's (``pgtol`` on the projected gradient, ``ftol`` on the relative reduction
of f, ``maxiter``, ``maxfun``). The iterates are not scipy's (no generalized Cauchy point), the
minima are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .lbfgs_memory import Memory, append, clear, inverse_hessian_product
from .line_search import row_dot
from .objective import BatchObjective
from .result import Outcomes
from .wolfe import Bracket, wolfe_step

__all__ = ["lbfgsb_batch", "LBFGSB_OPTIONS", "projected_gradient"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
_EPS = float(np.finfo(float).eps)
#: a search whose bracket is narrower than this fraction of its step takes its best point
XTOL = 0.1

CONVERGED_PG = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
CONVERGED_F = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
STOP_ITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
STOP_FEV = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
ABNORMAL = "ABNORMAL: "
#: status of a start whose objective failed (as the per-start L-BFGS-B)
NAN_STATUS = 2

#: options and scipy's defaults
LBFGSB_OPTIONS: dict[str, float | int | None] = {
    "maxcor": 10, "ftol": 2.2204460492503131e-09, "gtol": 1e-5, "maxfun": 15000,
    "maxiter": 15000, "maxls": 20, "eps": None, "finite_diff_rel_step": None,
    "disp": None, "iprint": None}


@dataclass(frozen=True)
class _Limits:
    """Stopping parameters: ``tol`` relative f reduction, ``gtol``, ``maxfun``, ``maxiter``,
    ``maxls`` trials per search."""

    tol: float
    gtol: float
    maxfun: int
    maxiter: int
    maxls: int


@dataclass(frozen=True)
class _State:
    """Active starts, one per row (the arrays are updated in place between compactions).

    Iterate: ``ids`` (m,), ``x``/``g`` (m, d), ``f``, ``nit``; ``mem`` the L-BFGS memory.
    Search: ``direction`` (m, d), slope ``dphi0`` at 0, trial step ``t``, ``trials`` so far,
    ``first`` (began on an empty memory), ``negligible`` (the first trial's predicted decrease
    ``-t0 g.d`` is below the ``ftol`` threshold: the point is converged to the noise of f), the
    bracket ``t/f/dphi_lo``, ``t/f/dphi_hi``,
    ``bracketed`` (`wolfe.Bracket`), and the point at ``lo``: ``x_lo``/``g_lo`` (m, d).
    """

    ids: IntArray
    x: FloatArray
    f: FloatArray
    g: FloatArray
    nit: npt.NDArray[np.int64]
    mem: Memory
    direction: FloatArray
    dphi0: FloatArray
    t: FloatArray
    trials: npt.NDArray[np.int64]
    first: BoolArray
    negligible: BoolArray
    t_lo: FloatArray
    f_lo: FloatArray
    dphi_lo: FloatArray
    t_hi: FloatArray
    f_hi: FloatArray
    dphi_hi: FloatArray
    bracketed: BoolArray
    x_lo: FloatArray
    g_lo: FloatArray

    @classmethod
    def start(cls, ids: IntArray, x: FloatArray, f: FloatArray, g: FloatArray, n_slots: int
              ) -> _State:
        """The state before the first search (`_begin_searches` fills the search fields)."""
        m, d = x.shape
        return cls(ids, x.copy(), f.copy(), g.copy(), np.zeros(m, dtype=np.int64),
                   Memory.empty(m, n_slots, d), np.zeros((m, d)), np.zeros(m), np.zeros(m),
                   np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool), np.zeros(m, dtype=bool),
                   np.zeros(m), f.copy(),
                   np.zeros(m), np.full(m, np.inf), np.zeros(m), np.zeros(m),
                   np.zeros(m, dtype=bool), x.copy(), g.copy())

    def bracket(self) -> Bracket:
        return Bracket(self.t_lo, self.f_lo, self.dphi_lo, self.t_hi, self.f_hi, self.dphi_hi,
                       self.bracketed)

    def take(self, keep: BoolArray) -> _State:
        """The rows where ``keep`` (m,) is True, in the same order."""
        fields = {f.name: getattr(self, f.name)[keep] for f in dataclasses.fields(self)
                  if f.name != "mem"}
        return _State(mem=self.mem.take(keep), **fields)


@dataclass(frozen=True)
class _Box:
    """The bounds ``lb``, ``ub`` (d,) and whether any is finite (else clipping is skipped)."""

    lb: FloatArray
    ub: FloatArray
    bounded: bool

    def clip(self, x: FloatArray) -> FloatArray:
        return np.minimum(np.maximum(x, self.lb), self.ub) if self.bounded else x


def projected_gradient(x: FloatArray, g: FloatArray, lb: FloatArray, ub: FloatArray
                       ) -> FloatArray:
    """Infinity norm of ``clip(x - g, lb, ub) - x`` per row: shape (m,)."""
    return np.abs(np.clip(x - g, lb, ub) - x).max(axis=1)


def _free(x: FloatArray, g: FloatArray, box: _Box) -> FloatArray | None:
    """1.0 where a variable may move, 0.0 where a bound holds it (None: no bounds at all)."""
    if not box.bounded:
        return None
    held = ((x <= box.lb) & (g > 0)) | ((x >= box.ub) & (g < 0)) | (box.lb >= box.ub)
    return (~held).astype(float)


def _begin_searches(st: _State, new: BoolArray, box: _Box, tol: float) -> None:
    """Start a line search at the current point of the rows in ``new`` (in place).

    The direction is computed for every row (full-array products are cheaper than gathering
    the memory of a subset) and kept only where ``new``.
    """
    free = _free(st.x, st.g, box)
    q = st.g if free is None else st.g * free
    d = inverse_hessian_product(q, st.mem)
    if free is not None:
        d *= free
    np.negative(d, out=d)
    slope = row_dot(st.g, d)
    not_descent = new & ~(slope < 0) & (st.mem.n_pairs > 0)
    if not_descent.any():
        clear(st.mem, not_descent)
        d[not_descent] = -q[not_descent]
        slope = row_dot(st.g, d)
    first = st.mem.n_pairs == 0
    if first.any():
        if box.bounded:  # scipy's first step: towards the projected point x - g (its Cauchy
            d = np.where(first[:, np.newaxis], box.clip(st.x - st.g) - st.x, d)  # point, B = I)
            slope = row_dot(st.g, d)
        with np.errstate(divide="ignore"):
            t0 = np.where(first, np.minimum(1.0, 1.0 / np.sqrt(row_dot(d, d))), 1.0)
    else:
        t0 = np.ones_like(slope)
    negligible = -slope * t0 <= tol * np.maximum(np.abs(st.f), 1.0)
    fields = ((st.direction, d), (st.dphi0, slope), (st.t, t0), (st.first, first),
              (st.negligible, negligible), (st.trials, 0), (st.t_lo, 0.0), (st.f_lo, st.f),
              (st.dphi_lo, slope), (st.t_hi, np.inf), (st.bracketed, False))
    if new.all():
        for target, value in fields:
            target[...] = value
        return
    for target, value in fields:
        np.copyto(target, value, where=new if target.ndim == 1 else new[:, np.newaxis])


def lbfgsb_batch(obj: BatchObjective, x0: FloatArray, lb: FloatArray, ub: FloatArray,
                 out: Outcomes, *, maxcor: int, ftol: float, gtol: float, maxfun: int,
                 maxiter: int, maxls: int) -> None:
    """Run batched L-BFGS-B from every row of ``x0`` (k, d); finished starts go to ``out``."""
    k, d = x0.shape
    ids = np.arange(k)
    box = _Box(lb, ub, bool(np.isfinite(lb).any() or np.isfinite(ub).any()))
    x = box.clip(x0)
    ev = obj.values_and_gradients(x, ids)
    assert ev.g is not None
    pg = projected_gradient(x, ev.g, lb, ub)
    out.record(ids, x, ev.f, pg, obj.nfev)
    bad = ev.failed()
    for r in np.flatnonzero(bad):
        out.finish([r], x[[r]], ev.f[[r]], None, 0, NAN_STATUS, str(ev.failure(int(r))))
    done = (pg <= gtol) & ~bad
    out.finish(ids[done], x[done], ev.f[done], ev.g[done], 0, 0, CONVERGED_PG)
    run = ~(done | bad)
    st = _State.start(ids[run], x[run], ev.f[run], ev.g[run], maxcor)
    limits = _Limits((ftol / _EPS) * _EPS, gtol, maxfun, maxiter, maxls)
    _begin_searches(st, np.ones(st.ids.size, dtype=bool), box, limits.tol)
    while st.ids.size:
        st = _round(obj, st, box, out, limits)


def _round(obj: BatchObjective, st: _State, box: _Box, out: Outcomes, lim: _Limits
           ) -> _State:
    """Evaluate every active start's trial point once and advance each; returns the starts
    still running."""
    raw = st.x + st.t[:, np.newaxis] * st.direction
    xt = box.clip(raw)
    ev = obj.values_and_gradients(xt, st.ids)
    assert ev.g is not None
    bad = ev.failed()
    finished = bad.copy()
    if finished.any():
        for r in np.flatnonzero(bad):
            out.finish(st.ids[[r]], st.x[[r]], st.f[[r]], st.g[[r]], st.nit[r], NAN_STATUS,
                       str(ev.failure(int(r))))
    with np.errstate(invalid="ignore", over="ignore"):  # failed rows carry NaN or inf
        moving = np.where(raw == xt, st.direction, 0.0) if box.bounded else st.direction
        dphi_t = row_dot(ev.g, moving)
        decrease = row_dot(st.g, xt - st.x)
        step = wolfe_step(st.t, ev.f, dphi_t, decrease, st.f, st.dphi0, st.bracket())
        br = step.bracket
        narrow = br.bracketed & (np.abs(br.t_hi - br.t_lo)
                                 <= XTOL * np.maximum(br.t_lo, br.t_hi))
    if finished.any():
        improved, accept = step.improved & ~bad, step.accept & ~bad
        unresolved = ~accept & ~bad
    else:
        improved, accept, unresolved = step.improved, step.accept, ~step.accept
    if improved.any():
        np.copyto(st.x_lo, xt, where=improved[:, np.newaxis])
        np.copyto(st.g_lo, ev.g, where=improved[:, np.newaxis])
    st.trials[...] += 1
    ended = unresolved & ((st.trials >= lim.maxls) | narrow)
    noise = unresolved & st.negligible & (br.t_lo == 0)  # no decrease where none was predicted
    if ended.any() or noise.any():
        take_lo = ended & (br.t_lo > 0)
        lost = ended & ~take_lo & ~noise
        _end_searches(st, out, finished, noise, lost)
        moved = accept | take_lo
        pick = accept[:, np.newaxis]
        x_new = np.where(pick, xt, st.x_lo)
        g_new = np.where(pick, ev.g, st.g_lo)
        f_new = np.where(accept, ev.f, br.f_lo)
        retry = lost & ~st.first
    else:
        moved, x_new, g_new, f_new, retry = accept, xt, ev.g, ev.f, None
    for name in ("t_lo", "f_lo", "dphi_lo", "t_hi", "f_hi", "dphi_hi", "bracketed"):
        getattr(st, name)[...] = getattr(br, name)
    st.t[...] = step.t_next
    st.nit[...] += moved
    _stop_tests(obj, st, out, lim, box, moved, x_new, f_new, g_new, finished)
    go = moved & ~finished
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.where(go[:, np.newaxis], x_new - st.x, 0.0)
        y = np.where(go[:, np.newaxis], g_new - st.g, 0.0)
        sy = row_dot(s, y)
        curved = go & (sy > _EPS * (-row_dot(st.g, s)))
    append(st.mem, curved, s, y, sy)
    column = go[:, np.newaxis]
    np.copyto(st.x, x_new, where=column)
    np.copyto(st.g, g_new, where=column)
    np.copyto(st.f, f_new, where=go)
    new = go if retry is None else (go | retry) & ~finished
    if new.any():
        _begin_searches(st, new, box, lim.tol)
    return st.take(~finished) if finished.any() else st


def _end_searches(st: _State, out: Outcomes, finished: BoolArray, noise: BoolArray,
                  lost: BoolArray) -> None:
    """Finish the starts whose search found nothing: ``noise`` (none was predicted: converged)
    and ``lost`` on an empty memory (ABNORMAL); clear the memory of the other lost ones, which
    retry from the same point (in place)."""
    if noise.any():
        out.finish(st.ids[noise], st.x[noise], st.f[noise], st.g[noise], st.nit[noise], 0,
                   CONVERGED_F)
        finished |= noise
    abnormal = lost & st.first
    if abnormal.any():
        out.finish(st.ids[abnormal], st.x[abnormal], st.f[abnormal], st.g[abnormal],
                   st.nit[abnormal], 2, ABNORMAL)
        finished |= abnormal
    retry = lost & ~st.first
    if retry.any():
        clear(st.mem, retry)


def _stop_tests(obj: BatchObjective, st: _State, out: Outcomes, lim: _Limits, box: _Box,
                moved: BoolArray, x_new: FloatArray, f_new: FloatArray, g_new: FloatArray,
                finished: BoolArray) -> None:
    """scipy's stopping tests, in its order, on the starts that ``moved``; finish those that
    stop (``finished`` updated in place) and record the trace rows."""
    with np.errstate(invalid="ignore"):
        pg = projected_gradient(x_new, g_new, box.lb, box.ub) if box.bounded \
            else np.abs(g_new).max(axis=1)
        f_old = st.f
        reduction = f_old - f_new <= lim.tol * np.maximum(np.maximum(np.abs(f_old),
                                                                     np.abs(f_new)), 1.0)
    if out.traces is not None:
        acc = np.flatnonzero(moved)
        out.record(st.ids[acc], x_new[acc], f_new[acc], pg[acc], obj.nfev)
    tests = ((st.nit >= lim.maxiter, 1, STOP_ITER), (obj.nfev[st.ids] > lim.maxfun, 1, STOP_FEV),
             (pg <= lim.gtol, 0, CONVERGED_PG), (reduction, 0, CONVERGED_F))
    if not (moved & (tests[0][0] | tests[1][0] | tests[2][0] | tests[3][0])).any():
        return
    stopped = ~moved
    for mask, status, message in tests:
        now = mask & ~stopped
        if now.any():
            out.finish(st.ids[now], x_new[now], f_new[now], g_new[now], st.nit[now], status,
                       message)
            stopped |= now
            finished |= now
