"""The sweep store: a zarr v3 group on disk holding every start's result and trace.

Layout (every array carries dimension names, so ``xarray.open_zarr`` reads the store):

=================  ==========================  =========  ========================================
array              shape                       dtype      meaning
=================  ==========================  =========  ========================================
``x0``             (dataset, start, param)     float64    start point, natural units
``x``              (dataset, start, param)     float64    final point (NaN while pending)
``fun``            (dataset, start)            float64    final objective (NaN while pending)
``success``        (dataset, start)            bool       solver's success flag
``status``         (dataset, start)            int8       0 pending, 1 converged, 2 not_converged,
                                                          3 failed, 4 timeout
``message``        (dataset, start)            str        solver or failure message
``nit``/``nfev``   (dataset, start)            int32      iterations / objective evaluations
``seconds``        (dataset, start)            float64    wall time of the start
``trace_len``      (dataset, start)            int32      iterations recorded (-1: no trace)
``trace_f``        (dataset, start, iter)      float64    objective per iteration (NaN padded)
``trace_x``        (dataset, start, iter, p)   float64    parameters per iteration (NaN padded)
``trace_grad``     (dataset, start, iter)      float64    gradient norm per iteration
``trace_nfev``     (dataset, start, iter)      int64      cumulative evaluations (-1 padded)
``chunk_digest``   (dataset, chunk)            str        the chunk's checksums (`jobs.integrity`)
``chunk_done``     (dataset, chunk)            int8       1 once a task's chunk is written: last
=================  ==========================  =========  ========================================

Per-start arrays are chunked ``(1, B, ...)`` with B the starts per task, so each task writes whole
chunks only (safe without locks), and writes ``chunk_done`` after everything else: a task killed
half-way leaves its chunk marked not done, and a resume recomputes it.  Group attributes (written
by the client only, never by tasks): ``spec`` (JSON), ``spec_hash``, ``engine_version``,
``datasets``, ``parameters``, ``n_starts``, ``starts_per_task``, ``trace_length``, and after a
finished sweep ``selection`` (best start, minima count and hits per dataset).

**Integrity.**  With its completion marker a task records a digest of every array of its chunk
(`jobs.integrity`); `Store.damaged_chunks` recomputes them from what it reads and names the
chunks that differ (deleted, truncated or bit-flipped chunk files), `Store.require_intact` turns
them into a `StoreDamagedError`, and `Store.intact_done_chunks` tells a resume which chunks to
recompute.  The stored spec is checked against ``spec_hash`` when it is parsed.

**Creation.**  A new store is built in a sibling directory ``.<name>.calib-new-<token>`` and
moved into place with one atomic rename (``renameat2(RENAME_EXCHANGE)`` when it replaces a
store, so the old store stays whole until the new one is in place): a kill during creation or
``--overwrite`` leaves the old store (or no store) plus a leftover sibling that the next lease
holder removes (`jobs.lease`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import zarr
from zarr.core.sync import sync as zarr_sync

from calib.status import FAILURE_CODES, STATUS_CODES, StartStatus

from .errors import StoreConflictError, StoreCorruptError, StoreDamagedError
from . import store_files
from .integrity import chunk_digests
from .store_integrity import CHUNK_ARRAYS, StoreIntegrity

if TYPE_CHECKING:
    from calib.run import StartOutcome

    from .spec import SweepSpec

__all__ = ["STATUS_CODES", "StartStatus", "StoreLayout", "StartArrays", "StartTrace", "Store"]

FORMAT_VERSION = 2
ITER_CHUNK = 256
#: the coordinate arrays (labels of the dimensions; `_coordinate_arrays`)
COORDINATE_ARRAYS = frozenset({"dataset", "param", "start", "chunk", "iter", "status_code",
                               "status_name"})

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class StoreLayout:
    """Sizes of a sweep store: dataset names, parameter names, starts, chunking, trace length."""

    datasets: tuple[str, ...]
    parameters: tuple[str, ...]
    n_starts: int
    starts_per_task: int
    trace_length: int  # 0: no traces

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_starts / self.starts_per_task)

    def chunk_slice(self, chunk: int) -> slice:
        start = chunk * self.starts_per_task
        return slice(start, min(start + self.starts_per_task, self.n_starts))


#: the per-start arrays of one dataset, in the order a task writes them (``status`` last)
RESULT_FIELDS = ("x0", "x", "fun", "success", "message", "nit", "nfev", "seconds", "trace_len",
                 "status")


@dataclass(frozen=True, eq=False)
class StartArrays:
    """Results of ``n`` consecutive starts of one dataset, one array per field.

    What a task writes (`StartArrays.from_outcomes`) and what `Store.read_dataset` returns.
    Shapes: ``x0``, ``x`` (n, p) natural units; every other field (n,).  ``status`` holds the
    stored int8 codes (`StartStatus.code`; 0 = pending); ``message`` is an array of str.
    """

    x0: FloatArray
    x: FloatArray
    fun: FloatArray
    success: npt.NDArray[np.bool_]
    status: npt.NDArray[np.int8]
    message: npt.NDArray[np.str_]
    nit: IntArray
    nfev: IntArray
    seconds: FloatArray
    trace_len: IntArray

    @property
    def converged(self) -> npt.NDArray[np.bool_]:
        """True where the start converged (the starts global-minimum selection uses)."""
        return np.asarray(self.status == StartStatus.CONVERGED.code)

    @property
    def failed(self) -> npt.NDArray[np.bool_]:
        """True where the start failed or timed out (`StartStatus.is_failure`)."""
        return np.isin(self.status, FAILURE_CODES)

    @property
    def pending(self) -> npt.NDArray[np.bool_]:
        """True where the start has not run (or its task did not finish)."""
        return np.asarray(self.status == StartStatus.PENDING.code)

    def status_of(self, i: int) -> StartStatus:
        """The status of start ``i`` (index within these arrays)."""
        return StartStatus.from_code(int(self.status[i]))

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[StartOutcome], *, traces: bool) -> StartArrays:
        """Stack `calib.StartOutcome` records (in start order); ``trace_len`` is the trace's
        true length (-1: no trace, or ``traces`` False: the store keeps none)."""
        return cls(
            x0=np.stack([o.x0 for o in outcomes]),
            x=np.stack([o.x for o in outcomes]),
            fun=np.array([o.fun for o in outcomes], dtype=np.float64),
            success=np.array([o.success for o in outcomes], dtype=bool),
            status=np.array([o.status.code for o in outcomes], dtype=np.int8),
            message=np.array([o.message for o in outcomes], dtype=object).astype(str),
            nit=np.array([o.nit for o in outcomes], dtype=np.int32),
            nfev=np.array([o.nfev for o in outcomes], dtype=np.int32),
            seconds=np.array([o.seconds for o in outcomes], dtype=np.float64),
            trace_len=np.array([-1 if o.trace is None or not traces else len(o.trace.f)
                                for o in outcomes], dtype=np.int32),
        )


@dataclass(frozen=True, eq=False)
class StartTrace:
    """The stored trace of one start: its first ``min(length, T)`` iterations.

    ``f``, ``grad_norm`` (k,) float64, ``nfev`` (k,) int64 cumulative evaluations, ``x`` (k, p)
    natural units; ``length`` is the number of iterations the solver recorded (> k when the
    trace was truncated to the store's trace length).
    """

    f: FloatArray
    grad_norm: FloatArray
    nfev: npt.NDArray[np.int64]
    x: FloatArray
    length: int

    @property
    def truncated(self) -> bool:
        """True when the solver recorded more iterations than the store keeps."""
        return self.length > len(self.f)


def _trace_block(outcomes: Sequence[StartOutcome], t: int,
                 p: int) -> dict[str, npt.NDArray[Any]]:
    """Padded trace arrays of a chunk: ``trace_f``/``trace_grad``/``trace_nfev`` (n, t) and
    ``trace_x`` (n, t, p); rows past a start's trace are NaN (-1 for ``trace_nfev``)."""
    n = len(outcomes)
    f = np.full((n, t), np.nan)
    grad = np.full((n, t), np.nan)
    nfev = np.full((n, t), -1, dtype=np.int64)
    xs = np.full((n, t, p), np.nan)
    for i, o in enumerate(outcomes):
        if o.trace is None:
            continue
        k = min(len(o.trace.f), t)
        f[i, :k], grad[i, :k], nfev[i, :k] = o.trace.f[:k], o.trace.grad_norm[:k], o.trace.nfev[:k]
        if k:  # an empty trace (NaN at the first evaluation) may have x of shape (0, 0)
            xs[i, :k] = o.trace.x[:k]
    return {"trace_f": f, "trace_grad": grad, "trace_nfev": nfev, "trace_x": xs}


#: an array's (shape, chunks, dtype, fill value, dimension names)
_ArraySpec = tuple[tuple[int, ...], tuple[int, ...], Any, Any, list[str]]


def _spec_arrays(layout: StoreLayout) -> dict[str, _ArraySpec]:
    d, s, p = len(layout.datasets), layout.n_starts, len(layout.parameters)
    b = layout.starts_per_task
    arrays: dict[str, _ArraySpec] = {
        "x0": ((d, s, p), (1, b, p), "f8", np.nan, ["dataset", "start", "param"]),
        "x": ((d, s, p), (1, b, p), "f8", np.nan, ["dataset", "start", "param"]),
        "fun": ((d, s), (1, b), "f8", np.nan, ["dataset", "start"]),
        "success": ((d, s), (1, b), "bool", False, ["dataset", "start"]),
        "status": ((d, s), (1, b), "i1", 0, ["dataset", "start"]),
        "message": ((d, s), (1, b), str, "", ["dataset", "start"]),
        "nit": ((d, s), (1, b), "i4", -1, ["dataset", "start"]),
        "nfev": ((d, s), (1, b), "i4", -1, ["dataset", "start"]),
        "seconds": ((d, s), (1, b), "f8", np.nan, ["dataset", "start"]),
        "trace_len": ((d, s), (1, b), "i4", -1, ["dataset", "start"]),
        "chunk_digest": ((d, layout.n_chunks), (1, 1), str, "", ["dataset", "chunk"]),
        "chunk_done": ((d, layout.n_chunks), (1, 1), "i1", 0, ["dataset", "chunk"]),
    }
    t = layout.trace_length
    if t:
        it = min(t, ITER_CHUNK)
        arrays.update({
            "trace_f": ((d, s, t), (1, b, it), "f8", np.nan, ["dataset", "start", "iter"]),
            "trace_grad": ((d, s, t), (1, b, it), "f8", np.nan, ["dataset", "start", "iter"]),
            "trace_nfev": ((d, s, t), (1, b, it), "i8", -1, ["dataset", "start", "iter"]),
            "trace_x": ((d, s, t, p), (1, b, it, p), "f8", np.nan,
                        ["dataset", "start", "iter", "param"]),
        })
    return arrays


#: the names of the status codes, in code order (the ``status_name`` coordinate)
STATUS_NAMES = tuple(name for name, _ in sorted(STATUS_CODES.items(), key=lambda kv: kv[1]))


def _coordinate_arrays(layout: StoreLayout) -> dict[str, tuple[npt.NDArray[Any], list[str]]]:
    """The coordinate arrays of a new store: name -> (values, dimension names).

    Each dimension's labels are stored as a 1-D array named like the dimension (``dataset``,
    ``param``: names; ``start``, ``chunk``, ``iter``: indices; ``status_code``: the codes), so
    ``xarray.open_zarr`` gives a labelled Dataset; ``status_name`` (along ``status_code``) is
    named in the ``status`` array's ``coordinates`` attribute (CF), so xarray makes it a
    coordinate too.  Written once, when the store is created; never part of a task's chunk.
    """
    coords: dict[str, tuple[npt.NDArray[Any], list[str]]] = {
        "dataset": (np.array(layout.datasets, dtype=str), ["dataset"]),
        "param": (np.array(layout.parameters, dtype=str), ["param"]),
        "start": (np.arange(layout.n_starts, dtype=np.int32), ["start"]),
        "chunk": (np.arange(layout.n_chunks, dtype=np.int32), ["chunk"]),
        "status_code": (np.array([STATUS_CODES[n] for n in STATUS_NAMES], dtype=np.int8),
                        ["status_code"]),
        "status_name": (np.array(STATUS_NAMES, dtype=str), ["status_code"]),
    }
    if layout.trace_length:
        coords["iter"] = (np.arange(layout.trace_length, dtype=np.int32), ["iter"])
    return coords


def _write_coordinates(group: zarr.Group, layout: StoreLayout) -> None:
    """Create and fill the coordinate arrays (`_coordinate_arrays`) of a new store."""
    for name, (values, dims) in _coordinate_arrays(layout).items():
        fill: Any = "" if values.dtype.kind == "U" else 0
        array = group.create_array(name, shape=values.shape, chunks=(max(values.size, 1),),
                                   dtype=str if values.dtype.kind == "U" else values.dtype,
                                   fill_value=fill, dimension_names=dims)
        if values.size:
            array[:] = values
    group["status"].attrs.update({"coordinates": "status_name",
                                  "flag_values": [STATUS_CODES[n] for n in STATUS_NAMES],
                                  "flag_meanings": " ".join(STATUS_NAMES)})


#: every array name a calib store may hold (a half-created store holds some of them)
_ALL_ARRAYS = frozenset(RESULT_FIELDS) | COORDINATE_ARRAYS | {
    "trace_f", "trace_x", "trace_grad", "trace_nfev", *CHUNK_ARRAYS}


class Store(StoreIntegrity):
    """A sweep store opened on disk (see the module docstring for the layout; the integrity
    checks are `jobs.store_integrity.StoreIntegrity`'s)."""

    def __init__(self, group: zarr.Group, path: Path) -> None:
        self.group = group
        self.path = path
        self._arrays: dict[str, zarr.Array] = {}
        attrs: dict[str, Any] = dict(group.attrs.asdict())
        if attrs.get("status_codes", STATUS_CODES) != STATUS_CODES:
            raise StoreCorruptError(f"{str(path)!r} uses other status codes "
                                    f"({attrs['status_codes']}) than this calib "
                                    f"({STATUS_CODES}); read it with the calib that wrote it")
        self.layout = StoreLayout(
            datasets=tuple(attrs["datasets"]), parameters=tuple(attrs["parameters"]),
            n_starts=int(attrs["n_starts"]), starts_per_task=int(attrs["starts_per_task"]),
            trace_length=int(attrs["trace_length"]))
        self.spec_hash: str = str(attrs["spec_hash"])

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, mode: Literal["r", "r+"] = "r") -> Store:
        """Open an existing store (``mode`` 'r' or 'r+').

        Raises `StoreCorruptError` when the path is missing, a file, or not a calib store.
        """
        path = Path(path)
        store_files.check_path(path)
        if not path.exists():
            raise StoreCorruptError(f"no store at {str(path)!r}")
        try:
            group = zarr.open_group(str(path), mode=mode)
        except Exception as exc:  # zarr raises several types for foreign directories
            raise StoreCorruptError(f"{str(path)!r} is not a zarr store: {exc}") from exc
        if "spec_hash" not in group.attrs:
            raise StoreCorruptError(f"{str(path)!r} is not a calib sweep store")
        if group.attrs.get("format") != FORMAT_VERSION:
            raise StoreCorruptError(
                f"{str(path)!r} is a calib store of format {group.attrs.get('format')!r}; this "
                f"calib reads format {FORMAT_VERSION} only (rerun the sweep into a new store)")
        return cls(group, path)

    @classmethod
    def create(cls, path: str | Path, layout: StoreLayout, *, spec: dict[str, Any],
               spec_hash: str, engine_version: str, overwrite: bool = False) -> Store:
        """Create a store, or open the existing one holding the same spec (to resume).

        Raises
        ------
        StoreCorruptError, StoreConflictError
            As `check_target`, which runs first: nothing is written when it raises.
        """
        path = Path(path)
        if cls.check_target(path, spec_hash, layout=layout, overwrite=overwrite):
            return cls.open(path, mode="r+")
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        staging = store_files.staging_path(path, "new")
        try:
            group = zarr.open_group(str(staging), mode="w")
            for name, (shape, chunks, dtype, fill, dims) in _spec_arrays(layout).items():
                group.create_array(name, shape=shape, chunks=chunks, dtype=dtype,
                                   fill_value=fill, dimension_names=dims)
            _write_coordinates(group, layout)
            group.update_attributes({  # one metadata write (attrs.update rewrites it per key)
                "format": FORMAT_VERSION, "spec": spec, "spec_hash": spec_hash,
                "engine_version": engine_version, "datasets": list(layout.datasets),
                "parameters": list(layout.parameters), "n_starts": layout.n_starts,
                "starts_per_task": layout.starts_per_task, "trace_length": layout.trace_length,
                "status_codes": STATUS_CODES,
            })
            store_files.swap_into_place(staging, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # the old store, or a half-built one
        return cls(zarr.open_group(str(path), mode="r+"), path)

    @classmethod
    def check_target(cls, path: str | Path, spec_hash: str, *, layout: StoreLayout | None = None,
                     overwrite: bool = False) -> bool:
        """Check, without writing anything, that `create` may use ``path``.

        Returns True when ``path`` holds the store of this same spec (``create`` resumes it),
        False when ``create`` will make a new store there (the path is missing or an empty
        directory, or it holds another calib sweep and ``overwrite`` is True).

        Raises
        ------
        StoreCorruptError
            The path is a file, or lies inside one.
        StoreConflictError
            The path holds a different sweep (another spec hash, or the same spec whose data
            now give another ``layout``: other files, for instance), a store of another format,
            or a half-created store (a run killed while creating it), and ``overwrite`` is
            False; or it is a non-empty directory that is not a calib store (never replaced,
            even with ``overwrite``).
        """
        path = Path(path)
        store_files.check_path(path)
        if not path.exists() or not any(path.iterdir()):
            return False
        if store_files.is_half_created(path, _ALL_ARRAYS):
            if overwrite:
                return False
            raise StoreConflictError(
                f"store {str(path)!r} is incomplete (a calib run was killed while creating it: "
                "it has no sweep metadata); pass --overwrite to rebuild it")
        attrs = store_files.root_attributes(path)
        if attrs is not None and "spec_hash" in attrs and attrs.get("format") != FORMAT_VERSION:
            if overwrite:
                return False
            raise StoreConflictError(
                f"store {str(path)!r} is of format {attrs.get('format')!r} (this calib writes "
                f"format {FORMAT_VERSION}); pass --overwrite to replace it or choose another "
                "--store")
        try:
            existing = cls.open(path, mode="r")
        except StoreCorruptError:
            raise StoreConflictError(
                f"{str(path)!r} exists and is not a calib store (it is never replaced, even "
                "with --overwrite); choose another --store") from None
        if existing.spec_hash == spec_hash and not overwrite:
            if layout is not None and existing.layout != layout:
                raise StoreConflictError(
                    f"store {str(path)!r} holds this spec but other data (datasets "
                    f"{list(existing.layout.datasets)} vs {list(layout.datasets)}); pass "
                    "--overwrite to replace it or choose another --store")
            return True
        if not overwrite:
            raise StoreConflictError(
                f"store {str(path)!r} holds a different sweep (spec hash "
                f"{existing.spec_hash[:12]} vs {spec_hash[:12]}); pass --overwrite to replace "
                "it or choose another --store")
        return False

    # -- task side ------------------------------------------------------------------------------
    def write_chunk(self, dataset: int, chunk: int, outcomes: Sequence[StartOutcome]) -> None:
        """Write one task's results (one whole-chunk write per array), then mark it done.

        ``outcomes`` are the `calib.StartOutcome` records of that chunk's starts, in order.
        Order: the result arrays, the traces, ``status``, and last ``chunk_done``.
        """
        sl = self.layout.chunk_slice(chunk)
        if len(outcomes) != sl.stop - sl.start:
            raise ValueError(f"chunk {chunk} needs {sl.stop - sl.start} outcomes, "
                             f"got {len(outcomes)}")
        results = StartArrays.from_outcomes(outcomes, traces=bool(self.layout.trace_length))
        region = (dataset, sl)
        values: dict[str, npt.NDArray[Any]] = {name: getattr(results, name)
                                               for name in RESULT_FIELDS[:-1]}
        if self.layout.trace_length:
            values.update(_trace_block(outcomes, self.layout.trace_length,
                                       len(self.layout.parameters)))
        values = {name: self._as_stored(name, value) for name, value in values.items()}
        record = chunk_digests({**values, "status": results.status})
        writes: list[tuple[str, tuple[int, slice], Any]] = [
            (name, region, value) for name, value in values.items()]
        writes.append(("chunk_digest", (dataset, slice(chunk, chunk + 1)), np.array([record])))
        self._write_together(writes)
        self._array("status")[region] = results.status
        self._array("chunk_done")[dataset, chunk] = 1  # last: the completion marker

    def _as_stored(self, name: str, value: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """``value`` in the dtype array ``name`` stores (numeric arrays), so that its digest
        is the digest of what reads back."""
        dtype = self._array(name).dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            return np.asarray(value).astype(dtype, copy=False)
        return value

    def _write_together(self, writes: Sequence[tuple[str, tuple[int, slice], Any]]) -> None:
        """Write each ``(array name, region, value)``, the writes concurrent (zarr's I/O loop
        overlaps them: about half the time of one write after another)."""
        arrays = {name: self._array(name).async_array for name, _, _ in writes}

        async def write_all() -> None:
            await asyncio.gather(*(arrays[name].setitem(region, value)
                                   for name, region, value in writes))

        zarr_sync(write_all())

    # -- reading --------------------------------------------------------------------------------
    def _array(self, name: str) -> zarr.Array:
        """The member array ``name`` (StoreCorruptError when missing or a group)."""
        member = self._arrays.get(name)
        if member is None:
            try:
                found = self.group[name]
            except KeyError:
                raise StoreCorruptError(f"store {str(self.path)!r} has no array {name!r}") \
                    from None
            if not isinstance(found, zarr.Array):
                raise StoreCorruptError(f"store {str(self.path)!r}: {name!r} is not an array")
            member = self._arrays[name] = found
        return member

    def done_chunks(self) -> npt.NDArray[np.bool_]:
        """Boolean (dataset, chunk) array: True where the chunk's task finished and wrote."""
        return np.asarray(self._array("chunk_done")[:]) == 1

    def read_status(self) -> npt.NDArray[np.int8]:
        """The (dataset, start) status codes of every start (0: pending)."""
        return np.asarray(self._array("status")[:], dtype=np.int8)

    def read_final_points(self) -> tuple[FloatArray, FloatArray]:
        """``x`` (dataset, start, param) and ``fun`` (dataset, start) of every start (what
        global-minimum selection reads, with `read_status`)."""
        return (np.asarray(self._array("x")[:], dtype=np.float64),
                np.asarray(self._array("fun")[:], dtype=np.float64))

    def read_dataset(self, dataset: int) -> StartArrays:
        """Every start's results of one dataset (pending starts hold the fill values)."""
        return StartArrays(**{name: np.asarray(self._array(name)[dataset])
                              for name in RESULT_FIELDS})

    def read_trace(self, dataset: int, start: int) -> StartTrace | None:
        """The recorded trace of one start, or None (traces off, failed or pending start)."""
        if not self.layout.trace_length:
            return None
        n = int(np.asarray(self._array("trace_len")[dataset, start]))
        if n < 0:
            return None
        k = min(n, self.layout.trace_length)
        return StartTrace(f=np.asarray(self._array("trace_f")[dataset, start, :k]),
                          grad_norm=np.asarray(self._array("trace_grad")[dataset, start, :k]),
                          nfev=np.asarray(self._array("trace_nfev")[dataset, start, :k]),
                          x=np.asarray(self._array("trace_x")[dataset, start, :k]), length=n)

    def write_selection(self, selection: list[dict[str, Any]]) -> None:
        """Store the per-dataset global-minimum selection as a JSON attribute (client only)."""
        self.group.attrs["selection"] = json.loads(json.dumps(selection, default=float))

    @property
    def spec(self) -> dict[str, Any]:
        """The stored spec as plain data (`SweepSpec.to_dict` form)."""
        stored = self.group.attrs["spec"]
        if not isinstance(stored, dict):
            raise StoreCorruptError(f"store {str(self.path)!r}: the 'spec' attribute is not a "
                                    "table")
        return dict(stored)

    @functools.cached_property
    def sweep_spec(self) -> SweepSpec:
        """The stored spec parsed (once per opened store) into a `SweepSpec`.

        Raises `StoreDamagedError` when it does not hash to the stored ``spec_hash`` (the spec
        attribute was edited or damaged: nothing it names is imported or run).
        """
        from .spec import SweepSpec

        parsed = SweepSpec.from_dict(self.spec)
        if parsed.hash != self.spec_hash:
            raise StoreDamagedError(
                f"store {str(self.path)!r}: the stored spec does not match its spec hash "
                f"({parsed.hash[:12]} vs {self.spec_hash[:12]}: edited or damaged); it is not "
                "used (rerun the sweep from its spec file into a new store)")
        return parsed

