"""The L-BFGS memory of a batch of starts in compact form, and its inverse-Hessian product.

For one start with pairs ``s_1..s_n``, ``y_1..y_n`` (in the order they were stored), the L-BFGS
inverse Hessian is (Byrd, Nocedal & Schnabel 1994, eq. 3.1)::

    H = gamma I + [S  gamma Y] W [S  gamma Y]^T,
    W = [[R^-T (D + gamma Y^T Y) R^-1,  -R^-T],
         [-R^-1,                          0  ]]

with ``R`` the upper triangle of ``S^T Y`` in storage order, ``D = diag(s_i . y_i)``. Its
product with ``q`` equals the two-loop recursion's, computed with five per-row matrix products
over the whole memory instead of ``2 n`` sequential passes.

The pairs live in a ring of ``M`` slots per start (``slot``: where the next pair goes, over the
oldest one), so appending moves no data. The memory keeps ``R^-1`` and ``Y^T Y`` up to date in
slot order: dropping the oldest pair keeps the rest of ``R^-1`` (``R`` is block triangular with
the oldest pair first) and the new pair adds one column, so no matrix is ever factorised. Empty
slots have zero rows and columns everywhere, so they contribute nothing.

Every product is a stacked `numpy.matmul`, which multiplies each row's own matrices on their own
(one small product per row, whatever the batch size), and appends write only the storing rows, so a start's memory and
direction do not depend on its companions.

Shapes: ``m`` starts, ``M`` slots (``maxcor``), ``d`` variables. ``pairs``: (m, 2M, d);
``r_inv``, ``yty``: (m, M, M); ``sy``: (m, M); ``gamma``: (m,); ``slot``, ``n_pairs``: (m,) int.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Memory", "inverse_hessian_product", "append", "clear"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Memory:
    """The compact L-BFGS memory of ``m`` starts (arrays updated in place by `append`/`clear`).

    ``pairs`` (m, 2M, d) holds the ``s`` of slot ``j`` at ``[:, j]`` and its ``y`` at
    ``[:, M + j]``, so one product with ``pairs`` gives both ``S^T q`` and ``Y^T q``.
    """

    pairs: FloatArray
    r_inv: FloatArray
    yty: FloatArray
    sy: FloatArray
    gamma: FloatArray
    slot: IntArray
    n_pairs: IntArray

    @classmethod
    def empty(cls, m: int, n_slots: int, d: int) -> Memory:
        return cls(np.zeros((m, 2 * n_slots, d)), np.zeros((m, n_slots, n_slots)),
                   np.zeros((m, n_slots, n_slots)), np.zeros((m, n_slots)), np.ones(m),
                   np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64))

    def take(self, keep: BoolArray) -> Memory:
        """The memory of the rows where ``keep`` (m,) is True."""
        return Memory(self.pairs[keep], self.r_inv[keep], self.yty[keep], self.sy[keep],
                      self.gamma[keep], self.slot[keep], self.n_pairs[keep])


def inverse_hessian_product(q: FloatArray, mem: Memory) -> FloatArray:
    """``H q`` per row (m, d) (``gamma q`` where the memory is empty)."""
    n_slots = mem.sy.shape[1]
    gam = mem.gamma[:, np.newaxis]
    sq_yq = _times_vector(mem.pairs, q)                     # S^T q, then Y^T q
    p2 = -_times_vector(mem.r_inv, sq_yq[:, :n_slots])
    w = -(mem.sy * p2 + gam * _times_vector(mem.yty, p2)) - gam * sq_yq[:, n_slots:]
    p1 = _vector_times(w, mem.r_inv)                        # R^-T w
    return gam * q + _vector_times(np.concatenate([p1, gam * p2], axis=1), mem.pairs)


def _times_vector(a: FloatArray, v: FloatArray) -> FloatArray:
    """``a[k] @ v[k]`` for every row k: (m, p, n) x (m, n) -> (m, p). A stacked matmul computes
    each row's product on its own, so the result does not depend on the other rows."""
    return np.matmul(a, v[:, :, np.newaxis])[:, :, 0]


def _vector_times(v: FloatArray, a: FloatArray) -> FloatArray:
    """``v[k] @ a[k]`` for every row k: (m, p) x (m, p, n) -> (m, n), row by row."""
    return np.matmul(v[:, np.newaxis, :], a)[:, 0, :]


def append(mem: Memory, store: BoolArray, s_new: FloatArray, y_new: FloatArray,
           sy_new: FloatArray) -> None:
    """Store pair ``(s_new, y_new)`` (m, d) in the rows where ``store`` (m,), in place.

    ``sy_new = s_new . y_new`` (m,) must be positive where ``store``; ``s_new`` and ``y_new``
    must be finite everywhere (zero where not ``store``). Other rows are untouched.
    """
    rows = np.flatnonzero(store)
    if rows.size == 0:
        return
    every = rows.size == store.size  # then whole arrays instead of gathered rows
    n_slots = mem.sy.shape[1]
    slots = mem.slot[rows]
    s_rows, y_rows, sy_rows = (s_new, y_new, sy_new) if every else \
        (s_new[rows], y_new[rows], sy_new[rows])
    mem.pairs[rows, slots], mem.pairs[rows, n_slots + slots] = s_rows, y_rows
    mem.sy[rows, slots] = sy_rows
    dots = _times_vector(mem.pairs if every else mem.pairs[rows], y_rows)  # s_i.y, y_i.y
    at_slot = np.arange(rows.size), slots
    # drop the oldest pair's row and column of R^-1, then add the new pair's column
    mem.r_inv[rows, slots, :] = 0.0
    mem.r_inv[rows, :, slots] = 0.0
    column = dots[:, :n_slots]
    column[at_slot] = 0.0
    new_column = -_times_vector(mem.r_inv if every else mem.r_inv[rows], column) \
        / sy_rows[:, np.newaxis]
    new_column[at_slot] = 1.0 / sy_rows
    mem.r_inv[rows, :, slots] = new_column
    y_dots = dots[:, n_slots:]
    mem.yty[rows, slots, :] = y_dots
    mem.yty[rows, :, slots] = y_dots
    mem.gamma[rows] = sy_rows / y_dots[at_slot]
    mem.slot[rows] = (slots + 1) % n_slots
    mem.n_pairs[rows] = np.minimum(mem.n_pairs[rows] + 1, n_slots)


def clear(mem: Memory, rows: BoolArray) -> None:
    """Empty the memory of the rows where ``rows`` (m,) is True, in place."""
    mem.pairs[rows], mem.r_inv[rows], mem.yty[rows], mem.sy[rows] = 0.0, 0.0, 0.0, 0.0
    mem.gamma[rows], mem.slot[rows], mem.n_pairs[rows] = 1.0, 0, 0
