"""How many rows go into one call of the batched objective, chosen from measured times.

A vectorised objective costs a fixed overhead per call plus a cost per row, and the cost per row
jumps (measured 2-4x here) once its temporaries outgrow the cache or the allocator starts handing
out fresh pages for them (rows x data points beyond a few hundred kB). The best block is therefore
problem-dependent: ~128 rows for a 300-point normal likelihood, 1000+ for Rosenbrock-10.
`BlockSizer` finds it while the run goes: the first call with many rows is split into blocks of
doubling size (32, 64, 128, ...; every row is still evaluated once), each block's time per row
is kept (the best of its samples), later calls use the size with the lowest time per row, and
every few calls one block of a neighbouring size (half or double) is timed again, so a choice
made under a passing load is revisited.

Splitting never changes a result: ``fun`` computes each row on its own (the documented contract
of `minimize_batch`), so only the number and size of calls depend on the timings.
"""

from __future__ import annotations

__all__ = ["BlockSizer"]

#: smallest block the sizer times (smaller calls are dominated by the per-call overhead)
SMALLEST = 32
#: block size used before anything was timed
INITIAL = 256
#: a neighbouring size is timed every this many calls while it has no sample, then 4x rarer
PROBE_EVERY = 8


class BlockSizer:
    """Block sizes for calls of the batched objective; learns from `record`.

    Parameters
    ----------
    cap : int
        Most rows in one block (the ``block_rows`` option).
    """

    def __init__(self, cap: int) -> None:
        self.cap = max(1, int(cap))
        self.size = min(INITIAL, self.cap)
        self.per_row: dict[int, float] = {}   # block size -> best seconds per row seen
        self.calls = 0

    def plan(self, m: int) -> list[int]:
        """Block sizes (summing to ``m``) for one request of ``m`` rows."""
        self.calls += 1
        if m <= min(self.size, 2 * SMALLEST) or self.cap <= SMALLEST:
            return _split(m, min(self.size, self.cap))
        if not self.per_row:
            return self._doubling(m)
        probe = self._probe()
        if probe is not None and m >= probe:
            return [probe] + _split(m - probe, self.size)
        return _split(m, self.size)

    def record(self, rows: int, seconds: float) -> None:
        """Note that one block of ``rows`` rows took ``seconds`` inside ``fun``."""
        if rows < SMALLEST or rows & (rows - 1) or rows > self.cap:
            return  # only whole power-of-two blocks are compared
        self.per_row[rows] = min(self.per_row.get(rows, float("inf")), seconds / rows)
        self.size = min(self.per_row, key=lambda n: (self.per_row[n], -n))

    def _doubling(self, m: int) -> list[int]:
        sizes, size, left = [], SMALLEST, m
        while left >= size and size <= self.cap:
            sizes.append(size)
            left -= size
            size *= 2
        return sizes + ([left] if left else [])

    def _probe(self) -> int | None:
        neighbours = [n for n in (2 * self.size, self.size // 2) if SMALLEST <= n <= self.cap]
        unsampled = [n for n in neighbours if n not in self.per_row]
        if unsampled and self.calls % PROBE_EVERY == 0:
            return unsampled[0]
        if neighbours and self.calls % (4 * PROBE_EVERY) == 0:
            return neighbours[(self.calls // (4 * PROBE_EVERY)) % len(neighbours)]
        return None


def _split(m: int, size: int) -> list[int]:
    full, rest = divmod(m, size)
    return [size] * full + ([rest] if rest else [])
