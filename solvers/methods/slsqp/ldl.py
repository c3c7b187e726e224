"""The ``L D L^T`` factors of SLSQP's Lagrangian-Hessian estimate and its BFGS update.

SLSQP keeps ``B = L D L^T`` (``L`` unit lower triangular, ``D`` positive diagonal) and updates
the factors directly by two rank-one modifications (Fletcher & Powell, "On the modification of
LDL^T factorizations", Math. Comp. 28, 1974, the composite-t method), which keeps ``D``
positive even when rounding would make a plain ``B - v v^T / s^T B s`` indefinite.  The BFGS
step pair is damped as Powell proposed so that the curvature ``s^T y`` stays at least
``0.2 s^T B s``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..._core.small_linalg import reduce_sum, solve

__all__ = ["LDLFactors"]

FloatArray = npt.NDArray[np.float64]
_EPSMACH = float(np.finfo(float).eps)


class LDLFactors:
    """``B = L D L^T`` of size n, starting at (and reset to) the identity."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.unit_lower = np.eye(n)
        self.diag = np.ones(n)

    def reset(self) -> None:
        """Back to the identity."""
        self.unit_lower = np.eye(self.n)
        self.diag = np.ones(self.n)

    def times(self, s: FloatArray) -> FloatArray:
        """``B @ s``."""
        low = self.unit_lower
        return low @ (self.diag * (low.T @ s))

    def damped_bfgs(self, step: FloatArray, change: FloatArray) -> bool:
        """Apply Powell's damped BFGS update for ``step`` and the Lagrangian-gradient
        ``change``; return False (and change nothing) when the update is singular."""
        b_step = self.times(step)
        curvature = float(step @ change)
        s_b_s = float(step @ b_step)
        floor = 0.2 * s_b_s
        if curvature < floor:
            theta = (s_b_s - floor) / (s_b_s - curvature)
            change = theta * change + (1.0 - theta) * b_step
            curvature = floor
        if curvature == 0.0 or s_b_s == 0.0:
            return False
        try:
            self._update_lists(change, 1.0 / curvature, b_step, -1.0 / s_b_s)
        except ZeroDivisionError:  # a degenerate factor: numpy's inf/nan semantics
            self._rank_one(change, 1.0 / curvature)
            self._rank_one(b_step, -1.0 / s_b_s)
        return True

    def _update_lists(self, up: FloatArray, sigma_up: float, down: FloatArray,
                      sigma_down: float) -> None:
        """Both rank-one modifications on Python floats (the same IEEE operations as
        `_rank_one`, element by element); the factors change only when both succeed."""
        low, diag = self.unit_lower.tolist(), self.diag.tolist()
        if sigma_up != 0.0:
            _rank_one_lists(low, diag, up.tolist(), 1.0 / sigma_up, None)
        if sigma_down != 0.0:
            w = solve(np.array(low), down).tolist()
            terms = [wi * wi / di for wi, di in zip(w, diag)]
            t, t_next = _downdate_sequence(terms, 1.0 / sigma_down)
            _rank_one_lists(low, diag, down.tolist(), t, t_next)
        self.unit_lower, self.diag = np.array(low), np.array(diag)

    def _rank_one(self, z: FloatArray, sigma: float) -> None:
        """``L D L^T += sigma z z^T`` by the composite-t method (D stays positive), with numpy
        arrays (the fallback of `_update_lists`, whose float division would raise)."""
        if sigma == 0.0:
            return
        z = np.array(z, dtype=float)
        low, diag, n = self.unit_lower, self.diag, self.n
        t = 1.0 / sigma
        t_next: list[float] | None = None
        if sigma < 0.0:
            w = solve(low, z)
            t, t_next = _downdate_sequence((w * w / diag).tolist(), t)
        for i in range(n):
            v = z[i]
            delta = v / diag[i]
            tp = t_next[i] if t_next is not None else t + delta * v
            alpha = tp / t
            diag[i] *= alpha
            if i == n - 1:
                return
            beta = delta / tp
            col = low[i + 1:, i].copy()
            if alpha <= 4.0:
                z[i + 1:] -= v * col
                low[i + 1:, i] = col + beta * z[i + 1:]
            else:
                low[i + 1:, i] = (t / tp) * col + beta * z[i + 1:]
                z[i + 1:] -= v * col
            t = tp


def _rank_one_lists(low: list[list[float]], diag: list[float], z: list[float], t: float,
                    t_next: list[float] | None) -> None:
    """The composite-t sweep of ``L D L^T += z z^T / t`` on nested lists (rows of ``L``), in
    place (``t_next``: the precomputed ``t`` sequence of a negative update)."""
    n = len(diag)
    for i in range(n):
        v = z[i]
        delta = v / diag[i]
        tp = t_next[i] if t_next is not None else t + delta * v
        alpha = tp / t
        diag[i] *= alpha
        if i == n - 1:
            return
        beta = delta / tp
        if alpha <= 4.0:
            for k in range(i + 1, n):
                row = low[k]
                zk = z[k] - v * row[i]
                z[k] = zk
                row[i] = row[i] + beta * zk
        else:
            ratio = t / tp
            for k in range(i + 1, n):
                row = low[k]
                col = row[i]
                row[i] = ratio * col + beta * z[k]
                z[k] = z[k] - v * col
        t = tp


def _downdate_sequence(terms: list[float], t: float) -> tuple[float, list[float]]:
    """The ``t`` values of a negative update, the start and one per step, from the terms
    ``w_i^2 / d_i`` (``L w = z``)."""
    total = reduce_sum(terms)
    t_total = t + total
    if t_total >= 0.0:  # rounding would lose positive definiteness
        t_total = _EPSMACH * t
    # sequence[i] = t_total - (terms[i + 1] + ... + terms[n - 1]), summed from the end
    sequence = [t_total] * len(terms)
    if len(terms) > 1:
        acc = terms[-1]
        sequence[-2] = t_total - acc
        for i in range(len(terms) - 3, -1, -1):
            acc = acc + terms[i + 1]
            sequence[i] = t_total - acc
    return t_total - total, sequence
