"""Exports of a store as tables: every start, or the per-dataset selection, as CSV/JSON/parquet.

A table here is a `Table`: column names and one tuple of plain Python values per row (str, int,
float, bool or None), built from the store by `start_table` / `best_table_of` and written by
`to_csv` / `to_json` / `write_parquet`.  Parquet needs pyarrow (the ``export`` extra); without it
`write_parquet` raises `MissingExtraError` naming the extra.  Non-finite floats are written as
``nan``/``inf`` in CSV and as ``null`` in JSON (JSON has no NaN).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calib.errors import CalibError
from calib.status import StartStatus

from .store import Store

__all__ = ["Table", "MissingExtraError", "start_table", "best_table_of", "to_csv", "to_json",
           "write_parquet", "EXPORT_FORMATS"]

#: the formats `calib export` writes
EXPORT_FORMATS = ("csv", "json", "parquet")

Cell = str | int | float | bool | None


class MissingExtraError(CalibError, ImportError):
    """An optional dependency is not installed; the message names the pip extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs {package}, which is not installed: "
                         f"pip install 'calib[{extra}]' (or pip install {package})")
        self.package, self.extra = package, extra


@dataclass(frozen=True)
class Table:
    """A table of plain values: ``columns`` (names) and ``rows`` (one tuple per row)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def records(self) -> list[dict[str, Cell]]:
        """One ``{column: value}`` dict per row."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def column(self, name: str) -> list[Cell]:
        """The values of one column, in row order."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]


def _float(value: Any) -> float:
    return float(value)


def start_table(store: Store) -> Table:
    """Every start of every dataset, one row each, in (dataset, start) order.

    Columns: ``dataset``, ``start``, ``x0_<p>`` and ``x_<p>`` per free parameter (natural
    units), ``fun``, ``status`` (its name: pending, converged, not_converged, failed,
    timeout), ``message``, ``nit``, ``nfev``, ``seconds``.  Pending starts hold the store's
    fill values (NaN, -1, ``""``).
    """
    params = store.layout.parameters
    columns = ("dataset", "start", *(f"x0_{p}" for p in params), *(f"x_{p}" for p in params),
               "fun", "status", "message", "nit", "nfev", "seconds")
    rows: list[tuple[Cell, ...]] = []
    for d, name in enumerate(store.layout.datasets):
        a = store.read_dataset(d)
        for s in range(store.layout.n_starts):
            rows.append((name, s, *map(_float, a.x0[s]), *map(_float, a.x[s]), _float(a.fun[s]),
                         StartStatus.from_code(int(a.status[s])).name.lower(), str(a.message[s]),
                         int(a.nit[s]), int(a.nfev[s]), _float(a.seconds[s])))
    return Table(columns, tuple(rows))


def best_table_of(rows: Sequence[Mapping[str, Any]], parameters: Sequence[str]) -> Table:
    """The selection (`jobs.selection` rows), one row per dataset.

    Columns: ``dataset``, ``fun`` (the polished best value), ``start``, one column per
    parameter (the best point; None when the dataset has no converged start), ``n_minima``,
    ``hits``, ``n_premature``, ``n_converged``, ``success``, ``warning``; with standard errors
    (rows from `jobs.report.with_standard_errors`) also ``se_<p>`` per parameter.
    """
    with_errors = any("std_errors" in r for r in rows)
    columns = ("dataset", "fun", "start", *parameters, "n_minima", "hits", "n_premature",
               "n_converged", "success", "warning",
               *((f"se_{p}" for p in parameters) if with_errors else ()))
    out: list[tuple[Cell, ...]] = []
    for r in rows:
        params = r.get("params") or {}
        errors = r.get("std_errors") or {}
        out.append((r["dataset"], _float(r["fun"]), r.get("start"),
                    *(params.get(p) for p in parameters), r.get("n_minima"), r.get("hits"),
                    r.get("n_premature"), r.get("n_converged"), bool(r.get("success")),
                    r.get("warning"),
                    *((errors.get(p) for p in parameters) if with_errors else ())))
    return Table(columns, tuple(out))


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # full precision: 0.1 stays 0.1, NaN is nan
    return str(value)


def to_csv(table: Table) -> str:
    """The table as CSV text (header row first; None as an empty field)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
    return out.getvalue()


def _json_cell(value: Cell) -> Cell:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(table: Table) -> str:
    """The table as a JSON array of objects, one per row (non-finite floats as null)."""
    records = [{c: _json_cell(v) for c, v in zip(table.columns, row)} for row in table.rows]
    return json.dumps(records, indent=1, allow_nan=False)


def write_parquet(table: Table, path: str | Path) -> None:
    """Write the table as a parquet file (one typed column per table column).

    Raises
    ------
    MissingExtraError
        pyarrow is not installed.
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("pyarrow", "export", "--format parquet") from None
    data = {c: [row[i] for row in table.rows] for i, c in enumerate(table.columns)}
    arrow = pa.table({c: _arrow_column(pa, values) for c, values in data.items()})
    pq.write_table(arrow, str(path))


def _arrow_column(pa: Any, values: list[Cell]) -> Any:
    """A pyarrow array of ``values``; a column of numbers with None in it stays numeric."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} and float in kinds:
        return pa.array([np.nan if v is None else float(v) for v in values], type=pa.float64())
    return pa.array(values)
