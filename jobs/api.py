"""The Python API for scripts and notebooks: build a sweep, run it, read its results back.

Three functions and one results type (docs/python.md):

* `load_sweep` — a `SweepSpec` from a TOML file, from a dict of tables (what the TOML file
  holds, as Python objects) or from a `SweepSpec` itself;
* `run_sweep_to` — run (or resume) it into a store on a given `distributed.Client`, or on an
  embedded cluster that is safe in a script without an ``if __name__ == "__main__":`` guard
  (`embedded_client`);
* `open_results` — a `SweepResults` over an existing store: typed per-dataset selections
  (`DatasetBest`), per-dataset start arrays (`jobs.store.StartArrays`), traces, status counts,
  an ``xarray.Dataset`` and a pandas DataFrame of every start (pandas is optional: a
  `MissingExtraError` names the extra when it is missing).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SpecError
from .export import MissingExtraError, Table, start_table
from .runner import SweepReport
from .spec import SweepSpec, load_spec, parse_spec
from .store import StartArrays, StartTrace, Store

if TYPE_CHECKING:
    import pandas
    import xarray
    from distributed import Client

    from .task import ChunkReport

__all__ = ["load_sweep", "run_sweep_to", "open_results", "embedded_client", "SweepResults",
           "DatasetBest", "StatusCounts", "script_main_is_reimported"]


def load_sweep(source: str | Path | Mapping[str, Any] | SweepSpec, *,
               base_dir: str | Path | None = None) -> SweepSpec:
    """The sweep spec from a TOML file path, a dict of tables, or a `SweepSpec` (returned as is).

    ``base_dir`` is the directory that relative ``[data].files`` of a dict are relative to
    (default: the current directory); a TOML file's own directory is used for a file.

    Raises
    ------
    SpecError
        A missing or invalid file, or any invalid field (the message names it).
    """
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, (str, Path)):
        return load_spec(source)
    if isinstance(source, Mapping):
        return parse_spec(source, Path.cwd() if base_dir is None else Path(base_dir))
    raise SpecError("spec", f"must be a TOML file path, a dict of tables or a SweepSpec, got "
                    f"{type(source).__name__}")


def script_main_is_reimported() -> bool:
    """True when worker processes started with multiprocessing would run this program's
    top-level code again: its ``__main__`` is a file (``python script.py``, ``python -m
    module``), not a REPL or a notebook kernel's namespace."""
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    return spec_name is not None or getattr(main, "__file__", None) is not None


@contextlib.contextmanager
def embedded_client(workers: int | None = None) -> Iterator[Client]:
    """A `distributed.Client` on a cluster of ``workers`` worker processes on this machine
    (default: one per core, one thread each), closed on exit.

    From a script (`script_main_is_reimported`) the scheduler and workers are separate programs
    (Dask's ``SubprocessCluster``: ``dask spec`` processes), which never import the script, so
    the script needs no ``if __name__ == "__main__":`` guard; from a REPL or a notebook it is
    Dask's ``LocalCluster`` with worker processes (`jobs.cluster.connect`).  The dashboard, if
    bokeh is installed, listens on 127.0.0.1 only.
    """
    from .cluster import check_options, connect, default_workers

    check_options(workers=workers)
    if not script_main_is_reimported():
        with connect(workers=workers) as client:
            yield client
        return
    from distributed import Client
    from distributed.deploy.subprocess import SubprocessCluster

    n = workers or default_workers()
    cluster = SubprocessCluster(host="127.0.0.1", n_workers=n, threads_per_worker=1,
                                dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    try:
        client.wait_for_workers(n, timeout=120)
        yield client
    finally:
        client.close()
        cluster.close()


def run_sweep_to(spec: str | Path | Mapping[str, Any] | SweepSpec,
                 store: str | Path | None = None, *, client: Client | None = None,
                 workers: int | None = None, overwrite: bool = False,
                 retry_failed: bool = False,
                 on_task: Callable[[ChunkReport, int, int], None] | None = None) -> SweepResults:
    """Run (or resume) a sweep into ``store`` and open its results.

    Parameters
    ----------
    spec
        A TOML file path, a dict of tables or a `SweepSpec` (`load_sweep`).
    store
        The zarr store path (default: ``<sweep name>.zarr`` in the current directory).
    client
        Run on this client's cluster (left running); default: an `embedded_client` of
        ``workers`` processes, closed afterwards.
    overwrite, retry_failed
        As ``calib run --overwrite`` / ``--retry-failed``.
    on_task
        Called as ``on_task(report, tasks_done, tasks_total)`` after each finished task.

    Raises
    ------
    calib.errors.CalibError
        Bad input (`SpecError`, `DatasetError`, ...) or a store that holds another sweep
        (`StoreConflictError`), before any cluster starts or anything is written; a store
        another process is writing (`StoreLockedError`); `SweepAbortedError` when the cluster
        was lost.
    """
    from .lease import StoreLease
    from .plan import plan_sweep
    from .runner import check_store, run_sweep

    sweep = load_sweep(spec)
    path = str(store) if store is not None else f"{sweep.sweep.name}.zarr"
    plan = plan_sweep(sweep)
    check_store(plan, path, overwrite=overwrite)
    with StoreLease.acquire(path) as lease, contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(embedded_client(workers))
        report = run_sweep(sweep, path, client, overwrite=overwrite, on_task=on_task,
                           plan=plan, retry_failed=retry_failed, lease_token=lease.holder.token)
    return SweepResults(Store.open(path), report)


def open_results(store: str | Path) -> SweepResults:
    """The results of an existing store (finished, running or interrupted).

    Raises `StoreCorruptError` when ``store`` is missing or not a calib store.
    """
    return SweepResults(Store.open(store))


@dataclass(frozen=True)
class DatasetBest:
    """The selection of one dataset: its best verified minimum and how the starts found it.

    ``params`` maps every parameter name to its value at the best point (None when no start
    converged); ``labels`` (one per start) is the index of the verified minimum each end point
    is, or -1; ``minima`` holds each verified minimum as ``(fun, params)``; ``std_errors``
    ({name: standard error}) is filled only by ``selection(errors=True)``.
    """

    dataset: str
    fun: float
    params: dict[str, float] | None
    start: int | None
    n_minima: int
    hits: int
    n_premature: int
    n_converged: int
    success: bool
    warnings: tuple[str, ...]
    labels: tuple[int, ...]
    minima: tuple[tuple[float, dict[str, float] | None], ...]
    at_bound: tuple[str, ...] = ()
    std_errors: dict[str, float | None] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DatasetBest:
        """From one row of `jobs.selection.selection_rows` (or the stored selection)."""
        return cls(dataset=str(row["dataset"]), fun=float(row["fun"]), params=row["params"],
                   start=row.get("start"), n_minima=int(row.get("n_minima", 0)),
                   hits=int(row.get("hits", 0)), n_premature=int(row.get("n_premature", 0)),
                   n_converged=int(row.get("n_converged", 0)),
                   success=bool(row.get("success")),
                   warnings=tuple(row.get("warnings") or ()),
                   labels=tuple(int(v) for v in row.get("labels") or ()),
                   minima=tuple((float(m["fun"]), m["params"]) for m in row.get("minima") or ()),
                   at_bound=tuple(row.get("at_bound") or ()), std_errors=row.get("std_errors"))


@dataclass(frozen=True)
class StatusCounts:
    """Starts of one dataset by how they ended, and its tasks (chunks) done of total."""

    dataset: str
    converged: int
    not_converged: int
    failed: int
    pending: int
    chunks_done: int
    chunks: int


@dataclass(frozen=True)
class SweepResults:
    """Read access to one sweep store (`open_results`, `run_sweep_to`).

    ``report`` is the run's `SweepReport` when these results come from `run_sweep_to`.
    """

    store: Store
    report: SweepReport | None = field(default=None)

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def datasets(self) -> tuple[str, ...]:
        """Dataset names, in store order."""
        return self.store.layout.datasets

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the free (solved-for) parameters, in store order."""
        return self.store.layout.parameters

    def dataset_index(self, dataset: str | int) -> int:
        """The store index of a dataset given by name or index (SpecError when unknown)."""
        if isinstance(dataset, int):
            if not 0 <= dataset < len(self.datasets):
                raise SpecError("dataset", f"index must be in 0..{len(self.datasets) - 1}, "
                                f"got {dataset}")
            return dataset
        if dataset not in self.datasets:
            raise SpecError("dataset", f"{dataset!r} is not in the store; datasets: "
                            f"{', '.join(self.datasets)}")
        return self.datasets.index(dataset)

    def selection_rows(self, *, errors: bool = False) -> list[dict[str, Any]]:
        """The selection as JSON-ready dicts (`jobs.selection`): the stored one of a finished
        sweep, else computed from what the store holds now; ``errors`` adds standard errors
        (`jobs.report.with_standard_errors`)."""
        from .report import with_standard_errors
        from .selection import selection_rows, stored_selection

        self.store.require_intact(("x", "fun", "status"))
        rows = stored_selection(self.store) or selection_rows(self.store)
        return with_standard_errors(self.store, rows) if errors else rows

    def selection(self, *, errors: bool = False) -> tuple[DatasetBest, ...]:
        """One `DatasetBest` per dataset, in store order (see `selection_rows`)."""
        return tuple(DatasetBest.from_row(r) for r in self.selection_rows(errors=errors))

    def starts(self, dataset: str | int) -> StartArrays:
        """Every start's results of one dataset (pending starts hold the fill values)."""
        d = self.dataset_index(dataset)
        self.store.require_intact(datasets=[d])
        return self.store.read_dataset(d)

    def trace(self, dataset: str | int, start: int) -> StartTrace | None:
        """The stored trace of one start, or None (traces off, failed or pending start)."""
        return self.store.read_trace(self.dataset_index(dataset), start)

    def status(self) -> tuple[StatusCounts, ...]:
        """Per dataset: starts converged / not converged / failed / pending, chunks done."""
        from .report import status_rows

        self.store.require_intact(("status",))
        out = []
        for row in status_rows(self.store):
            done, total = (int(v) for v in str(row["chunks"]).split("/"))
            out.append(StatusCounts(dataset=row["dataset"], converged=row["converged"],
                                    not_converged=row["not_converged"], failed=row["failed"],
                                    pending=row["pending"], chunks_done=done, chunks=total))
        return tuple(out)

    def start_table(self) -> Table:
        """Every start as a `jobs.export.Table` (columns as `jobs.export.start_table`)."""
        self.store.require_intact(("x0", "x", "fun", "status", "message", "nit", "nfev",
                                   "seconds"))
        return start_table(self.store)

    def to_xarray(self) -> xarray.Dataset:
        """The store as a labelled ``xarray.Dataset`` (lazy, dask-backed).

        Dimensions ``dataset``, ``start``, ``param``, ``iter`` (traces on), ``chunk`` and
        ``status_code``, each with its coordinate (names for ``dataset`` and ``param``); a
        store written before the coordinate arrays existed gets them from its attributes.
        """
        import xarray as xr

        ds = xr.open_zarr(str(self.path), consolidated=False)
        labels = {"dataset": list(self.datasets), "param": list(self.parameters)}
        missing = {k: v for k, v in labels.items() if k not in ds.coords}
        return ds.assign_coords(missing) if missing else ds

    def to_dataframe(self) -> pandas.DataFrame:
        """Every start as a pandas DataFrame, one row per (dataset, start); columns as
        `jobs.export.start_table`.

        Raises
        ------
        MissingExtraError
            pandas is not installed (``pip install 'calib[dataframe]'``).
        """
        try:
            import pandas as pd
        except ImportError:
            raise MissingExtraError("pandas", "dataframe", "SweepResults.to_dataframe") \
                from None
        table = self.start_table()
        frame = pd.DataFrame.from_records(list(table.rows), columns=list(table.columns))
        frame["status"] = frame["status"].astype("category")
        return frame
