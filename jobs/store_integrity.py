"""The integrity checks of a sweep store (`StoreIntegrity`, a base of `jobs.store.Store`).

What a task records is in `jobs.integrity`; here a store reads its chunks back (`_read_chunks`:
one read per array row, chunk by chunk where a chunk does not decode), names the damaged ones
(`damaged_chunks`), refuses them (`require_intact`), checks everything (`verify`) and, for a
resume, resets the completion markers of the damaged chunks (`intact_done_chunks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import zarr

from .errors import StoreDamagedError
from .integrity import DamagedChunk, chunk_faults, damage_message

if TYPE_CHECKING:
    from .spec import SweepSpec
    from .store import StoreLayout

__all__ = ["StoreIntegrity"]

#: the per-chunk (dataset, chunk) arrays; every other array is per start
CHUNK_ARRAYS = ("chunk_digest", "chunk_done")
#: the per-start arrays a task writes, in write order (``status`` last), traces apart
_RESULTS = ("x0", "x", "fun", "success", "message", "nit", "nfev", "seconds", "trace_len")
_TRACES = ("trace_f", "trace_grad", "trace_nfev", "trace_x")


class StoreIntegrity:
    """Checks of a store's chunks against their recorded digests (mixed into `Store`)."""

    layout: StoreLayout
    path: Path
    spec_hash: str

    def _array(self, name: str) -> zarr.Array:
        raise NotImplementedError

    def done_chunks(self) -> npt.NDArray[np.bool_]:
        raise NotImplementedError

    @property
    def sweep_spec(self) -> SweepSpec:
        raise NotImplementedError

    def chunk_array_names(self) -> tuple[str, ...]:
        """The per-start arrays a task writes (and digests), in write order."""
        names = _RESULTS + (_TRACES if self.layout.trace_length else ())
        return (*names, "status")

    def _region(self, name: str, chunk: int) -> slice:
        return slice(chunk, chunk + 1) if name in CHUNK_ARRAYS else self.layout.chunk_slice(chunk)

    def _read_chunks(self, name: str, dataset: int,
                     chunks: Sequence[int]) -> dict[int, npt.NDArray[Any] | None]:
        """Array ``name``'s values of each chunk of one dataset; None where the chunk cannot be
        read (it fails to decode).  One read of the whole row when it decodes."""
        array = self._array(name)
        whole = len(chunks) == self.layout.n_chunks
        if whole:
            try:
                row = np.asarray(array[dataset])
                return {k: row[self._region(name, k)] for k in chunks}
            except Exception:  # noqa: BLE001 - a damaged chunk raises codec-specific errors
                pass
        out: dict[int, npt.NDArray[Any] | None] = {}
        for k in chunks:
            try:
                out[k] = np.asarray(array[dataset, self._region(name, k)])
            except Exception:  # noqa: BLE001 - as above: this chunk is damaged
                out[k] = None
        return out

    def damaged_chunks(self, names: Sequence[str] | None = None, *,
                       datasets: Sequence[int] | None = None,
                       chunks: Sequence[int] | None = None) -> list[DamagedChunk]:
        """The done chunks whose arrays ``names`` (default: all a task writes) fail their
        checksums or do not decode, for ``datasets`` x ``chunks`` (default: all).

        A chunk whose ``chunk_done`` marker itself does not decode, or holds a value other than
        0 and 1, is damaged too; a chunk not marked done is pending, not damaged.
        """
        names = tuple(self.chunk_array_names() if names is None else names)
        chosen = list(range(self.layout.n_chunks) if chunks is None else chunks)
        damaged = []
        for d in (range(len(self.layout.datasets)) if datasets is None else datasets):
            done = self._read_chunks("chunk_done", d, chosen)
            records = self._read_chunks("chunk_digest", d, chosen)
            rows = {name: self._read_chunks(name, d, chosen) for name in names}
            for k in chosen:
                bad = chunk_faults(done[k], records[k], {n: rows[n][k] for n in names})
                if bad:
                    damaged.append(DamagedChunk(d, self.layout.datasets[d], k, bad))
        return damaged

    def require_intact(self, names: Sequence[str] | None = None, *,
                       datasets: Sequence[int] | None = None,
                       chunks: Sequence[int] | None = None) -> None:
        """Raise `StoreDamagedError` (one line naming the chunks) when `damaged_chunks` finds
        any for these arrays, datasets and chunks."""
        damaged = self.damaged_chunks(names, datasets=datasets, chunks=chunks)
        if damaged:
            raise StoreDamagedError(damage_message(str(self.path), damaged),
                                    tuple((c.dataset_name, c.chunk, c.arrays) for c in damaged))

    def verify(self) -> tuple[int, int]:
        """Check everything: the spec against its hash, and every done chunk of every array
        against its checksums.  Returns (chunks done, chunks in all).

        Raises `StoreDamagedError` naming what is damaged.
        """
        _ = self.sweep_spec  # raises when the spec does not match its hash
        self.require_intact()
        return int(self.done_chunks().sum()), len(self.layout.datasets) * self.layout.n_chunks

    def intact_done_chunks(self) -> npt.NDArray[np.bool_]:
        """`done_chunks` less the damaged ones, whose markers are reset to 0 (so a resume
        recomputes them, and a reader sees them pending).  Client only, under the lease."""
        damaged = self.damaged_chunks()
        marker = self._array("chunk_done")
        done = np.zeros((len(self.layout.datasets), self.layout.n_chunks), dtype=bool)
        for d in range(len(self.layout.datasets)):
            row = self._read_chunks("chunk_done", d, list(range(self.layout.n_chunks)))
            done[d] = [v is not None and v.size == 1 and int(v[0]) == 1 for v in row.values()]
        for c in damaged:
            marker[c.dataset, c.chunk] = 0
            done[c.dataset, c.chunk] = False
        return done
