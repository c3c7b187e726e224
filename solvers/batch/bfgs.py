"""Batched BFGS: dense inverse-Hessian quasi-Newton for a batch of unbounded starts.

Each start keeps its own ``(d, d)`` inverse Hessian ``H`` (identity at the start, scaled by
``s.y / y.y`` before the first update, Nocedal & Wright eq. 6.20), steps along ``-H g`` with the
backtracking search of `line_search` (first step ``min(1, 1.01 / |g|)`` as scipy's first step,
then 1), and skips the update when ``s.y <= 0``. A failed search resets ``H`` to the identity
and retries once; failing again, or a step that lowers f by less than ``eps * max(|f|, 1)``
(finite-difference noise), ends the start with scipy's precision-loss status (2). Stops as scipy: ``max|g| <= gtol`` (status 0) and ``maxiter`` (status 1); a failing objective gives
status 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._result import MESSAGES
from .active import gradient_inf_norm, take
from .line_search import backtracking_search, row_dot
from .objective import BatchObjective
from .result import Outcomes

__all__ = ["bfgs_batch", "BFGS_OPTIONS"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: options and scipy's defaults (``maxiter`` None: 200 * d)
BFGS_OPTIONS: dict[str, float | int | None] = {
    "gtol": 1e-5, "maxiter": None, "maxls": 20, "eps": None, "finite_diff_rel_step": None,
    "norm": None, "disp": None, "return_all": None, "xrtol": None, "c1": None, "c2": None,
    "hess_inv0": None}
NAN_STATUS = 3
_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class _State:
    """Active starts: ids (m,), x/g (m, d), f (m,), inverse Hessians (m, d, d), counters."""

    ids: IntArray
    x: FloatArray
    f: FloatArray
    g: FloatArray
    h_inv: FloatArray
    fresh: npt.NDArray[np.bool_]   # H is the identity (no update since the start or a reset)
    nit: npt.NDArray[np.int64]


def _update(h_inv: FloatArray, s: FloatArray, y: FloatArray, fresh: npt.NDArray[np.bool_]
            ) -> FloatArray:
    """BFGS update of each (d, d) ``h_inv`` with its pair ``s``, ``y`` (m, d); needs s.y > 0."""
    sy = row_dot(s, y)
    scale = np.where(fresh, sy / row_dot(y, y), 1.0)
    h = h_inv * scale[:, np.newaxis, np.newaxis]
    rho = 1.0 / sy
    hy = (h * y[:, np.newaxis, :]).sum(axis=2)
    yhy = row_dot(y, hy)
    outer_shy = s[:, :, np.newaxis] * hy[:, np.newaxis, :]
    outer_ss = s[:, :, np.newaxis] * s[:, np.newaxis, :]
    r = rho[:, np.newaxis, np.newaxis]
    return h - r * (outer_shy + outer_shy.transpose(0, 2, 1)) \
        + (r * r * yhy[:, np.newaxis, np.newaxis] + r) * outer_ss


def bfgs_batch(obj: BatchObjective, x0: FloatArray, out: Outcomes, *, gtol: float,
               maxiter: int, maxls: int) -> None:
    """Run batched BFGS from every row of ``x0`` (k, d); finished starts go to ``out``."""
    k, d = x0.shape
    ids = np.arange(k)
    ev = obj.values_and_gradients(x0.copy(), ids)
    assert ev.g is not None
    eye = np.broadcast_to(np.eye(d), (k, d, d)).copy()
    st = _State(ids, x0.copy(), ev.f, ev.g, eye, np.ones(k, dtype=bool),
                np.zeros(k, dtype=np.int64))
    gnorm = gradient_inf_norm(st.g)
    out.record(ids, st.x, st.f, gnorm, obj.nfev)
    bad = ev.failed()
    for r in np.flatnonzero(bad):
        out.finish([r], st.x[[r]], st.f[[r]], None, 0, NAN_STATUS, str(ev.failure(int(r))))
    done = ~bad & (gnorm <= gtol)
    out.finish(ids[done], st.x[done], st.f[done], st.g[done], 0, 0, MESSAGES["success"])
    over = ~bad & ~done & (maxiter <= 0)
    out.finish(ids[over], st.x[over], st.f[over], st.g[over], 0, 1, MESSAGES["maxiter"])
    st = take(st, ~(bad | done | over))
    while st.ids.size:
        st = _iteration(obj, st, out, gtol=gtol, maxiter=maxiter, maxls=maxls)


def _iteration(obj: BatchObjective, st: _State, out: Outcomes, *, gtol: float, maxiter: int,
               maxls: int) -> _State:
    """One iteration for every active start; returns the starts still running."""
    d = -(st.h_inv * st.g[:, np.newaxis, :]).sum(axis=2)
    gnorm2 = np.sqrt(row_dot(st.g, st.g))
    with np.errstate(divide="ignore"):
        t0 = np.where(st.nit == 0, np.minimum(1.0, 1.01 / gnorm2), 1.0)
    unbounded = np.full(st.x.shape[1], np.inf)
    step = backtracking_search(obj, st.ids, st.x, st.f, st.g, d, t0, -unbounded, unbounded,
                               maxls=maxls)
    finished = np.zeros(st.ids.size, dtype=bool)
    for r, why in enumerate(step.failure):
        if why is not None:
            out.finish(st.ids[[r]], st.x[[r]], st.f[[r]], st.g[[r]], st.nit[r], NAN_STATUS, why)
            finished[r] = True
    lost = ~step.accepted & ~finished
    hopeless = lost & st.fresh
    out.finish(st.ids[hopeless], st.x[hopeless], st.f[hopeless], st.g[hopeless],
               st.nit[hopeless], 2, MESSAGES["pr_loss"])
    finished |= hopeless
    retry = np.flatnonzero(lost & ~st.fresh)
    st.h_inv[retry] = np.eye(st.x.shape[1])
    st.fresh[retry] = True

    acc = np.flatnonzero(step.accepted)
    st.nit[acc] += 1
    x_new, f_new, g_new = step.x[acc], step.f[acc], step.g[acc]
    gnorm = gradient_inf_norm(g_new)
    out.record(st.ids[acc], x_new, f_new, gnorm, obj.nfev)
    conv = gnorm <= gtol
    out.finish(st.ids[acc[conv]], x_new[conv], f_new[conv], g_new[conv], st.nit[acc[conv]], 0,
               MESSAGES["success"])
    limit = ~conv & (st.nit[acc] >= maxiter)
    out.finish(st.ids[acc[limit]], x_new[limit], f_new[limit], g_new[limit],
               st.nit[acc[limit]], 1, MESSAGES["maxiter"])
    f_old = st.f[acc]
    stalled = ~conv & ~limit & (f_old - f_new <= _EPS * np.maximum(
        np.maximum(np.abs(f_old), np.abs(f_new)), 1.0))
    out.finish(st.ids[acc[stalled]], x_new[stalled], f_new[stalled], g_new[stalled],
               st.nit[acc[stalled]], 2, MESSAGES["pr_loss"])
    finished[acc[conv | limit | stalled]] = True
    go = acc[~(conv | limit | stalled)]
    s, y = step.x[go] - st.x[go], step.g[go] - st.g[go]
    curved = row_dot(s, y) > 0
    upd = go[curved]
    if upd.size:
        st.h_inv[upd] = _update(st.h_inv[upd], s[curved], y[curved], st.fresh[upd])
        st.fresh[upd] = False
    st.x[go], st.f[go], st.g[go] = step.x[go], step.f[go], step.g[go]
    return take(st, ~finished)
