"""`calib export` (jobs.export): every start and the selection as CSV, JSON and parquet."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from jobs import open_results
from jobs.cli import main
from jobs.export import Table, to_csv, to_json

from .api_store import finished_store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> Path:
    return finished_store(tmp_path_factory, dask_client)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calib: error: "), result.output
    return lines[0]


def test_csv_of_every_start_holds_the_store_values(store_path: Path) -> None:
    done = invoke("export", str(store_path))
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.output)))
    assert len(rows) == 12
    assert list(rows[0]) == ["dataset", "start", "x0_theta", "x0_mu", "x0_sigma", "x_theta",
                             "x_mu", "x_sigma", "fun", "status", "message", "nit", "nfev",
                             "seconds"]
    arrays = open_results(store_path).starts("sim-001")
    for s, row in enumerate(r for r in rows if r["dataset"] == "sim-001"):
        assert int(row["start"]) == s
        assert [float(row[f"x_{p}"]) for p in ("theta", "mu", "sigma")] == arrays.x[s].tolist()
        assert float(row["fun"]) == arrays.fun[s]  # full precision
        assert row["message"] == arrays.message[s] and int(row["nfev"]) == arrays.nfev[s]
        assert row["status"] == arrays.status_of(s).name.lower()


def test_json_and_parquet_files_agree_with_the_csv(store_path: Path, tmp_path: Path) -> None:
    assert invoke("export", str(store_path), "--format", "json", "-o",
                  str(tmp_path / "s.json")).exit_code == 0
    assert invoke("export", str(store_path), "--format", "parquet", "-o",
                  str(tmp_path / "s.parquet")).exit_code == 0
    records = json.loads((tmp_path / "s.json").read_text())
    table = pq.read_table(tmp_path / "s.parquet").to_pylist()
    reference = open_results(store_path).start_table().records()
    assert records == reference == table
    assert pq.read_table(tmp_path / "s.parquet").schema.field("fun").type == "double"


def test_best_export_is_the_selection(store_path: Path) -> None:
    done = invoke("export", str(store_path), "--what", "best", "--format", "json")
    assert done.exit_code == 0, done.output
    records = json.loads(done.output)
    selection = open_results(store_path).selection()
    assert [r["dataset"] for r in records] == [b.dataset for b in selection]
    for record, best in zip(records, selection):
        assert record["fun"] == best.fun and record["start"] == best.start
        assert {p: record[p] for p in ("theta", "mu", "sigma")} == best.params
        assert record["n_minima"] == best.n_minima and record["hits"] == best.hits


def test_parquet_needs_pyarrow_and_a_file(store_path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    line = one_error_line(invoke("export", str(store_path), "--format", "parquet"))
    assert "-o FILE" in line
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    line = one_error_line(invoke("export", str(store_path), "--format", "parquet", "-o",
                                 str(tmp_path / "x.parquet")))
    assert "pyarrow" in line and "calib[export]" in line
    assert not (tmp_path / "x.parquet").exists()


def test_non_finite_values_are_nan_in_csv_and_null_in_json() -> None:
    table = Table(("name", "value", "note"), (("a", math.nan, None), ("b", 0.1, "x,y")))
    assert to_csv(table) == 'name,value,note\na,nan,\nb,0.1,"x,y"\n'
    assert json.loads(to_json(table)) == [{"name": "a", "value": None, "note": None},
                                         {"name": "b", "value": 0.1, "note": "x,y"}]
    assert np.isnan(float(next(csv.DictReader(io.StringIO(to_csv(table))))["value"]))


def test_missing_store_is_one_line(tmp_path: Path) -> None:
    assert "no store" in one_error_line(invoke("export", str(tmp_path / "none.zarr")))
