"""The Python API (jobs.api, docs/python.md): building, running and reading a sweep."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jobs
from jobs import DatasetBest, MissingExtraError, SweepResults, load_sweep, open_results
from jobs.errors import SpecError, StoreConflictError
from jobs.store import Store

from .api_store import TABLES, finished_store
from .conftest import cli_env, write_spec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python.md"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> SweepResults:
    return open_results(finished_store(tmp_path_factory, dask_client))


def test_load_sweep_from_a_file_a_dict_and_a_spec_agree(tmp_path: Path) -> None:
    from_dict = load_sweep(TABLES)
    from_file = load_sweep(write_spec(tmp_path, TABLES))
    assert from_file.hash == from_dict.hash
    assert load_sweep(from_dict) is from_dict
    with pytest.raises(SpecError, match="TOML file path, a dict of tables or a SweepSpec"):
        load_sweep(42)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"\[starts\]\.n"):
        load_sweep({**TABLES, "starts": {"n": -3}})


def test_selection_is_typed_and_matches_the_store(results: SweepResults) -> None:
    selection = results.selection()
    assert [b.dataset for b in selection] == list(results.datasets) == ["sim-000", "sim-001"]
    for d, best in enumerate(selection):
        assert isinstance(best, DatasetBest) and best.success and best.n_minima >= 1
        starts = results.starts(best.dataset)
        assert best.fun <= np.nanmin(starts.fun[starts.converged]) + 1e-9
        assert set(best.params or {}) == {"theta", "mu", "sigma"}
        assert len(best.labels) == 6 and best.hits == best.labels.count(0)
        assert results.starts(d).fun.tolist() == starts.fun.tolist()  # by index too
    with pytest.raises(SpecError, match="'nope' is not in the store"):
        results.starts("nope")


def test_status_and_traces(results: SweepResults) -> None:
    counts = results.status()
    assert [(c.dataset, c.converged + c.not_converged + c.failed, c.pending, c.chunks_done,
             c.chunks) for c in counts] == [("sim-000", 6, 0, 2, 2), ("sim-001", 6, 0, 2, 2)]
    trace = results.trace("sim-001", 2)
    assert trace is not None and trace.f[-1] == pytest.approx(results.starts(1).fun[2])


def test_dataframe_holds_every_start(results: SweepResults) -> None:
    frame = results.to_dataframe()
    assert len(frame) == 12
    assert list(frame.columns[:5]) == ["dataset", "start", "x0_theta", "x0_mu", "x0_sigma"]
    sim1 = frame[frame["dataset"] == "sim-001"].sort_values("start")
    arrays = results.starts("sim-001")
    np.testing.assert_array_equal(sim1[["x_theta", "x_mu", "x_sigma"]].to_numpy(), arrays.x)
    np.testing.assert_array_equal(sim1["nfev"].to_numpy(), arrays.nfev)
    assert set(frame["status"]) <= {"converged", "not_converged", "failed", "timeout"}
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)


def test_dataframe_without_pandas_names_the_extra(results: SweepResults,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'calib\[dataframe\]'"):
        results.to_dataframe()


def test_another_spec_on_the_store_is_refused_before_any_cluster(
        results: SweepResults) -> None:
    changed = {**TABLES, "sweep": {"name": "api-ou", "seed": 4}}
    with pytest.raises(StoreConflictError, match="holds a different sweep"):
        jobs.run_sweep_to(changed, results.path, workers=1)  # no client: would start one


def test_the_documented_script_runs_without_a_main_guard(tmp_path: Path) -> None:
    """docs/python.md's script, run as a file (`python fit.py`): the embedded cluster must not
    re-run it in its workers; its printed output is the one the docs show."""
    text = DOCS.read_text(encoding="utf-8")
    script = re.search(r"## A script, start to finish.*?```python\n(.*?)```", text, re.S)
    shown = re.search(r"Its output.*?```text\n(.*?)```", text, re.S)
    assert script and shown
    assert "__main__" not in script.group(1)
    (tmp_path / "fit.py").write_text(script.group(1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-W", "error", "fit.py"], cwd=tmp_path,
                          env=cli_env(tmp_path / ".dask-scratch"), capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == shown.group(1)
    assert Store.open(tmp_path / "ou-fit.zarr").done_chunks().all()
    assert (tmp_path / "waterfall.png").stat().st_size > 10_000
