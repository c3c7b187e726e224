"""End to end on a LocalCluster: a small sweep through `run_sweep` and the `calib` CLI.

One OU sweep (2 simulated datasets × 6 starts, 3 starts per task, traces on) is run once per
module on the session cluster; the tests read its store, run it again through the CLI, and
query it with every reporting command.  Two user-objective sweeps (CSV data, a module in the
working directory) check the upload to the workers and per-start failures.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from calib.models import get_model
from jobs.cli import main
from jobs.plan import plan_sweep
from jobs.runner import run_sweep, selection_rows
from jobs.spec import load_spec
from jobs.store import STATUS_CODES, Store
from jobs.task import chunk_starts
from solvers._result import MESSAGES
from tests.jobs.conftest import (STORE_LINE, assert_arrays_equal, calib_cli, forget_module,
                                 ou_sweep_tables, read_arrays, write_csv, write_module,
                                 write_spec)

CONVERGED, NOT_CONVERGED, FAILED = (STATUS_CODES[k] for k in ("converged", "not_converged",
                                                              "failed"))
JSON_KEYS = {"dataset", "fun", "params", "start", "n_minima", "hits", "success", "n_premature",
             "n_converged", "at_bound", "warnings", "minima"}


def _address(client: Any) -> str:
    return str(client.scheduler.address)


def _cli(args: list[str]) -> Any:
    """`calib ARGS` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def ou_sweep(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> dict[str, Any]:
    """The OU sweep run once through `run_sweep` on the session cluster."""
    root = tmp_path_factory.mktemp("e2e-ou")
    spec_path = write_spec(root, ou_sweep_tables())
    spec = load_spec(spec_path)
    store = root / "ou.zarr"
    report = run_sweep(spec, str(store), dask_client)
    return {"root": root, "spec_path": spec_path, "spec": spec, "store": store, "report": report}


# -- the store after run_sweep -----------------------------------------------------------------
def test_run_sweep_writes_every_chunk_consistently(ou_sweep: dict[str, Any]) -> None:
    spec, report = ou_sweep["spec"], ou_sweep["report"]
    assert (report.tasks_run, report.tasks_skipped) == (4, 0)
    assert (report.starts_total, report.starts_failed) == (12, 0)
    store = Store.open(ou_sweep["store"])
    assert store.layout.datasets == ("sim-000", "sim-001")
    assert store.layout.parameters == ("theta", "mu", "sigma")
    assert store.done_chunks().all() and store.done_chunks().shape == (2, 2)
    plan = plan_sweep(spec)
    model = get_model("ou")
    lower = np.array([p.lower for p in plan.parameters])
    upper = np.array([p.upper for p in plan.parameters])
    for d, dataset in enumerate(plan.datasets):
        a = store.read_dataset(d)
        # start i depends on the seed and i only, not on the chunk that ran it
        np.testing.assert_array_equal(a.x0, chunk_starts(spec, d, 0, 6))
        assert set(a.status) <= {CONVERGED, NOT_CONVERGED}
        np.testing.assert_array_equal(a.success, a.status == CONVERGED)
        assert a.success.sum() >= 4
        assert np.all((a.x >= lower) & (a.x <= upper))
        for i in range(6):
            # the stored objective is the model's objective at the stored point
            assert a.fun[i] == pytest.approx(model.objective(a.x[i], dataset.values),
                                                rel=1e-10, abs=1e-10)
        assert np.all(a.nit >= 1) and np.all(a.nfev > a.nit)
        assert np.all(np.isfinite(a.seconds) & (a.seconds > 0))
        converged_msgs = {str(m) for m in a.message[a.success]}
        assert converged_msgs and all(m.startswith("CONVERGENCE") for m in converged_msgs)


def test_traces_are_readable_and_match_the_results(ou_sweep: dict[str, Any]) -> None:
    store = Store.open(ou_sweep["store"])
    group = store.group
    for d in range(2):
        a = store.read_dataset(d)
        # L-BFGS-B records the start point, then one row per iteration
        np.testing.assert_array_equal(a.trace_len, a.nit + 1)
        for i in range(6):
            trace = store.read_trace(d, i)
            assert trace is not None and len(trace.f) == a.nit[i] + 1
            np.testing.assert_allclose(trace.x[0], a.x0[i], rtol=1e-12)
            np.testing.assert_allclose(trace.x[-1], a.x[i], rtol=1e-12)
            assert trace.f[-1] == a.fun[i]
            assert np.all(np.diff(trace.f) <= 1e-12 * np.abs(trace.f[:-1]))
            assert np.all(np.diff(trace.nfev) >= 0) and trace.nfev[-1] <= a.nfev[i]
            assert np.all(np.isfinite(trace.grad_norm))
            n = int(a.trace_len[i])  # padding after the recorded rows
            assert np.isnan(group["trace_f"][d, i, n:]).all()
            assert (group["trace_nfev"][d, i, n:] == -1).all()


def test_selection_attribute_equals_selection_rows(ou_sweep: dict[str, Any]) -> None:
    store = Store.open(ou_sweep["store"])
    rows = selection_rows(store)
    assert store.group.attrs["selection"] == json.loads(json.dumps(rows))
    for d, row in enumerate(rows):
        a = store.read_dataset(d)
        ok = a.status == CONVERGED
        assert row["success"] is True and ok[row["start"]]
        assert row["fun"] == pytest.approx(a.fun[ok].min(), rel=1e-12)
        assert 1 <= row["hits"] <= ok.sum() and row["n_minima"] >= 1
        assert list(row["params"]) == ["theta", "mu", "sigma"]


# -- the same sweep through the CLI ----------------------------------------------------------------
def test_cli_run_on_embedded_cluster_gives_the_same_store(ou_sweep: dict[str, Any]) -> None:
    root = ou_sweep["root"]
    out = calib_cli(["run", str(ou_sweep["spec_path"]), "--workers", "1", "--store", "cli.zarr"],
                    cwd=root)
    assert out.returncode == 0, out.stderr
    match = STORE_LINE.search(out.stdout)
    assert match and match["store"] == "cli.zarr" and (match["run"], match["skipped"]) == ("4", "0")
    assert_arrays_equal(read_arrays(root / "cli.zarr"), read_arrays(ou_sweep["store"]))


def test_status_command(ou_sweep: dict[str, Any]) -> None:
    result = _cli(["status", str(ou_sweep["store"])])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["dataset", "converged", "not_converged", "failed", "pending",
                                "chunks"]
    store = Store.open(ou_sweep["store"])
    for d, line in enumerate(lines[2:]):
        status = store.read_dataset(d).status
        assert line.split() == [store.layout.datasets[d], str((status == CONVERGED).sum()),
                                str((status == NOT_CONVERGED).sum()), "0", "0", "2/2"]
    assert len(lines) == 4


def test_best_command_table_csv_and_json(ou_sweep: dict[str, Any]) -> None:
    rows = selection_rows(Store.open(ou_sweep["store"]))
    table = _cli(["best", str(ou_sweep["store"])])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["dataset", "fun", "theta", "mu", "sigma", "start", "n_minima",
                                "hits", "premature"]
    assert [line.split()[0] for line in lines[2:4]] == ["sim-000", "sim-001"]
    assert [int(line.split()[5]) for line in lines[2:4]] == [r["start"] for r in rows]

    as_csv = _cli(["best", str(ou_sweep["store"]), "--csv"])
    assert as_csv.exit_code == 0
    records = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(records[0]) == ["dataset", "fun", "theta", "mu", "sigma", "start", "n_minima",
                                "hits", "success", "n_premature", "at_bound"]
    for rec, row in zip(records, rows, strict=True):
        assert rec["dataset"] == row["dataset"] and float(rec["fun"]) == row["fun"]
        assert {k: float(rec[k]) for k in ("theta", "mu", "sigma")} == row["params"]
        assert (int(rec["start"]), int(rec["n_minima"]), int(rec["hits"])) == \
            (row["start"], row["n_minima"], row["hits"])

    as_json = _cli(["best", str(ou_sweep["store"]), "--json"])
    assert as_json.exit_code == 0
    objects = json.loads(as_json.stdout)
    assert [set(o) for o in objects] == [JSON_KEYS, JSON_KEYS]
    assert objects == [{k: r[k] for k in JSON_KEYS} for r in rows]

    both = _cli(["best", str(ou_sweep["store"]), "--csv", "--json"])
    assert both.exit_code == 2 and both.stderr.startswith("calib: error:")


def test_show_command_sorts_every_start_by_objective(ou_sweep: dict[str, Any]) -> None:
    result = _cli(["show", str(ou_sweep["store"]), "--dataset", "sim-001"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["start", "fun", "status", "minimum", "nit", "nfev"]
    body = [line.split() for line in lines[2:-1]]
    a = Store.open(ou_sweep["store"]).read_dataset(1)
    starts = [int(cols[0]) for cols in body]
    assert sorted(starts) == list(range(6))
    assert starts == list(np.argsort(a.fun, kind="stable"))
    assert [int(cols[4]) for cols in body] == [int(a.nit[s]) for s in starts]
    rows = selection_rows(Store.open(ou_sweep["store"]))
    (row,) = [r for r in rows if r["dataset"] == "sim-001"]
    assert [cols[3] for cols in body] == [
        str(row["labels"][s]) if row["labels"][s] >= 0 else
        "premature" if a.status[s] == CONVERGED else "-" for s in starts]
    assert lines[-1].startswith("best: fun ") and f"verified minima {row['n_minima']}" in lines[-1]
    missing = _cli(["show", str(ou_sweep["store"]), "--dataset", "nope"])
    assert missing.exit_code == 2 and "'nope' is not in the store" in missing.stderr


def test_trace_command_prints_every_iteration(ou_sweep: dict[str, Any]) -> None:
    store = Store.open(ou_sweep["store"])
    trace = store.read_trace(0, 2)
    assert trace is not None
    result = _cli(["trace", str(ou_sweep["store"]), "--dataset", "sim-000", "--start", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["iter", "fun", "grad_norm", "nfev", "theta", "mu", "sigma"]
    body = [line.split() for line in lines[2:]]
    assert [int(cols[0]) for cols in body] == list(range(len(trace.f)))
    np.testing.assert_allclose([float(cols[1]) for cols in body], trace.f, rtol=1e-5)
    assert [int(cols[3]) for cols in body] == list(trace.nfev)
    bad = _cli(["trace", str(ou_sweep["store"]), "--dataset", "sim-000", "--start", "6"])
    assert bad.exit_code == 2 and bad.stderr.startswith("calib: error: --start")


def _tree(store: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(store)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(store.rglob("*")) if p.is_file()}


def test_rerun_of_the_same_spec_does_nothing(ou_sweep: dict[str, Any], dask_client: Any) -> None:
    before = _tree(ou_sweep["store"])
    result = _cli(["run", str(ou_sweep["spec_path"]), "--store", str(ou_sweep["store"]),
                   "--scheduler", _address(dask_client)])
    assert result.exit_code == 0, result.stderr
    match = STORE_LINE.search(result.stdout)
    assert match and (match["run"], match["skipped"]) == ("0", "4")
    assert _tree(ou_sweep["store"]) == before  # not a byte, not an mtime changed


def test_two_stores_of_one_spec_at_once_both_get_written(ou_sweep: dict[str, Any],
                                                         dask_client: Any,
                                                         tmp_path: Path) -> None:
    """Task keys include the store: the same spec run into two stores at once runs twice."""
    spec = ou_sweep["spec"]
    reports: dict[str, Any] = {}

    def run(name: str) -> None:
        reports[name] = run_sweep(spec, str(tmp_path / name), dask_client)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a.zarr", "b.zarr")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(reports) == ["a.zarr", "b.zarr"]
    expected = read_arrays(ou_sweep["store"])
    for name in ("a.zarr", "b.zarr"):
        assert Store.open(tmp_path / name).done_chunks().all(), name
        assert_arrays_equal(read_arrays(tmp_path / name), expected)


# -- user objectives ------------------------------------------------------------------------------
USER_MODULE = '''
import numpy as np

def sse(params, data):
    """Least squares of y = a*x + b."""
    a, b = params
    r = data[:, 1] - (a * data[:, 0] + b)
    return float(r @ r)
'''


def _linear_csvs(directory: Path, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, (a, b) in {"one": (2.0, 1.0), "two": (-1.5, 3.0)}.items():
        x = np.linspace(0.0, 5.0, 40)
        values = np.column_stack([x, a * x + b + rng.normal(0.0, 0.2, x.size)])
        write_csv(directory / "data" / f"{name}.csv", ["x", "y"], values)
        out[name] = values
    return out


def _user_tables(name: str, objective: str, **starts: Any) -> dict[str, dict[str, Any]]:
    return {
        "sweep": {"name": name, "seed": 11},
        "model": {"objective": objective},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0},
                       "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": "data/*.csv", "columns": ["x", "y"]},
        "starts": starts or {"n": 4, "sampler": "lhs"},
        "solver": {"method": "L-BFGS-B", "trace": True},
        "run": {"starts_per_task": 2},
    }


def test_user_objective_module_from_the_working_directory_runs_on_the_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dask_client: Any) -> None:
    module = "e2e_user_linear"
    write_module(tmp_path, module, USER_MODULE)
    data = _linear_csvs(tmp_path, seed=5)
    spec_path = write_spec(tmp_path, _user_tables("e2e-user", f"{module}:sse"))
    monkeypatch.chdir(tmp_path)
    try:
        report = run_sweep(load_spec(spec_path), "user.zarr", dask_client)
        # the workers' cwd is not tmp_path: they imported the file the runner uploaded
        files = dask_client.run(lambda: __import__("sys").modules[module].__file__)
    finally:
        forget_module(module)
    assert all(Path(f).name == f"{module}.py" and Path(f).parent != tmp_path
               for f in files.values())
    assert (report.tasks_run, report.starts_failed) == (4, 0)
    store = Store.open(tmp_path / "user.zarr")
    assert store.layout.datasets == ("one", "two") and store.done_chunks().all()
    for row in selection_rows(store):
        values = data[row["dataset"]]
        design = np.column_stack([values[:, 0], np.ones(len(values))])
        exact = np.linalg.lstsq(design, values[:, 1], rcond=None)[0]
        np.testing.assert_allclose([row["params"]["a"], row["params"]["b"]], exact,
                                   rtol=1e-4, atol=1e-5)
        assert row["hits"] == 4 and row["n_minima"] == 1


FLAKY_MODULE = '''
import math

def nll(params, data):
    """(a-1)^2 + (b-2)^2; raises for a > 5 (after a bogus -1e6 on b == 0), NaN for a < -5."""
    a, b = params
    if a > 5:
        if b == 0.0:
            return -1e6
        raise RuntimeError(f"boom at a={a:.3f}")
    if a < -5:
        return math.nan
    return float((a - 1.0) ** 2 + (b - 2.0) ** 2 + 0.0 * data[0, 0])
'''
# starts 0 (raises after a bogus -1e6) and 2 (NaN) fail at once; the others have |a - 1| < 3, and
# L-BFGS-B's first trial point on this quadratic is their mirror image through (1, 2): a stays in
# (-5, 5), so they never reach the failing regions
FLAKY_POINTS = [[8.0, 0.0], [0.0, 0.0], [-8.0, 1.0], [2.0, 3.0], [-1.0, -1.0], [3.0, 4.0]]


def test_failing_starts_are_recorded_and_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 dask_client: Any) -> None:
    module = "e2e_flaky"
    write_module(tmp_path, module, FLAKY_MODULE)
    _linear_csvs(tmp_path, seed=1)
    tables = _user_tables("e2e-flaky", f"{module}:nll", points=FLAKY_POINTS)
    spec_path = write_spec(tmp_path, tables)
    monkeypatch.chdir(tmp_path)
    try:
        result = _cli(["run", str(spec_path), "--scheduler", _address(dask_client)])
    finally:
        forget_module(module)
    assert result.exit_code == 1, result.output
    assert "4 of 12 starts failed" in result.stderr
    assert STORE_LINE.search(result.stdout)["run"] == "6"  # type: ignore[index]
    store = Store.open(tmp_path / "e2e-flaky.zarr")
    assert store.done_chunks().all()
    for d in range(2):
        a = store.read_dataset(d)
        np.testing.assert_array_equal(a.status, [FAILED, CONVERGED, FAILED, CONVERGED,
                                                    CONVERGED, CONVERGED])
        assert str(a.message[0]).startswith("RuntimeError: boom at a=8.000")
        assert a.fun[0] == -1e6  # the best value it saw before raising: not a minimum
        assert str(a.message[2]).startswith(MESSAGES["non_finite"].split("{")[0])
        assert not a.success[[0, 2]].any()
        np.testing.assert_allclose(a.x[[1, 3, 4, 5]], [[1.0, 2.0]] * 4, atol=1e-5)
    for row in selection_rows(store):
        assert row["start"] in (1, 3, 4, 5) and row["fun"] == pytest.approx(0.0, abs=1e-9)
        assert row["hits"] == 4 and row["n_minima"] == 1
        assert row["params"] == pytest.approx({"a": 1.0, "b": 2.0}, abs=1e-5)
    status = _cli(["status", str(tmp_path / "e2e-flaky.zarr")])
    assert [line.split()[3] for line in status.stdout.splitlines()[2:]] == ["2", "2"]
