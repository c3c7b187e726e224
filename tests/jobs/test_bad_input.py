"""Bad input through the `calib` CLI: exit status 2, one stderr line naming the problem, and
nothing changed on disk (issue 3, "Bad input").

Every case here fails before a cluster is needed, and the `no_cluster` fixture proves that no
cluster is started (nor any scheduler contacted) on the way to the error.  The only test that
runs a sweep (a store replaced with ``--overwrite``) patches `jobs.cluster.connect` to hand out
the session's shared `LocalCluster` client.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from click.testing import CliRunner, Result

import jobs.cluster
from jobs.cli import main
from jobs.plan import pending_tasks, plan_sweep
from jobs.runner import prepare_store, write_selection
from jobs.spec import load_spec
from jobs.store import Store
from jobs.task import TaskInput, run_chunk

SPEC = """
[sweep]
name = "bad-input"
seed = 3

[model]
builtin = "linear"

[data]
files = "data/*.csv"

[starts]
n = 4

[solver]
method = "L-BFGS-B"
options = {{ maxiter = 50 }}
trace = true

[run]
starts_per_task = 2
{extra}
"""

USER_SPEC = """
[sweep]
name = "user-objective"

[model]
objective = "{objective}"

[parameters]
a = {{ lower = -10.0, upper = 10.0 }}
b = {{ lower = -10.0, upper = 10.0 }}

[data]
files = "data/*.csv"
columns = ["x", "y"]

[starts]
n = 4

[solver]
method = "L-BFGS-B"
"""


# -- helpers -----------------------------------------------------------------------------------
def _csv(rows: list[tuple[Any, ...]], header: str = "x,y") -> str:
    return "\n".join([header, *(",".join(str(v) for v in row) for row in rows)]) + "\n"


def _linear_rows(n: int = 20, a: float = 2.0, b: float = 1.0) -> list[tuple[float, float]]:
    x = np.linspace(0.0, 5.0, n)
    noise = np.random.default_rng(0).normal(0.0, 0.1, n)
    return [(float(xi), float(a * xi + b + e)) for xi, e in zip(x, noise)]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root``: relative path -> sha256 (or 'dir')."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_bad_input(result: Result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line 'calib: error: ...' with ``needles``."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("calib: error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    assert result.stdout == "", result.stdout
    return line


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (the current directory) with two good CSV files under data/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "first.csv").write_text(_csv(_linear_rows()))
    (tmp_path / "data" / "second.csv").write_text(_csv(_linear_rows(a=-1.0, b=3.0)))
    return tmp_path


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record (and refuse) any attempt to start a cluster or reach a scheduler."""
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def stand_in(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called for a bad input")
        return stand_in

    monkeypatch.setattr(jobs.cluster, "connect", refuse("connect"))
    monkeypatch.setattr(jobs.cluster, "LocalCluster", refuse("LocalCluster"))
    monkeypatch.setattr(jobs.cluster, "Client", refuse("Client"))
    yield calls
    assert calls == [], f"a cluster was started for a bad input: {calls}"


def write_spec(root: Path, extra: str = "", *, name: str = "spec.toml",
               replace: tuple[tuple[str, str], ...] = ()) -> Path:
    """Write `SPEC` (plus ``extra`` lines, with each ``(old, new)`` of ``replace`` applied)."""
    body = SPEC.format(extra=extra)
    for old, new in replace:
        assert old in body, old
        body = body.replace(old, new, 1)
    path = root / name
    path.write_text(body)
    return path


def fill_store(spec_path: Path, store_path: Path) -> Store:
    """Run every chunk of a sweep in this process (no Dask) to make a complete store."""
    spec = load_spec(spec_path)
    plan = plan_sweep(spec)
    store = prepare_store(plan, str(store_path), overwrite=False)
    for task in pending_tasks(plan, store.done_chunks()):
        run_chunk(TaskInput.of(plan, task, str(store.path)), plan.datasets[task.dataset])
    write_selection(store)
    return store


def run_bad(work: Path, *args: str, needles: tuple[str, ...]) -> str:
    """Invoke the CLI on a bad input; assert the error and that nothing under ``work`` changed."""
    before = snapshot(work)
    line = assert_bad_input(invoke(*args), *needles)
    assert snapshot(work) == before
    assert not (work / "bad-input.zarr").exists()
    return line


# -- the spec ----------------------------------------------------------------------------------
@pytest.mark.parametrize("old, new, field", [
    ("n = 4\n", "", "[starts].n is required"),
    ('name = "bad-input"\n', "", "[sweep].name is required"),
    ('builtin = "linear"\n', "", "[model] must give exactly one of"),
])
def test_missing_field(work: Path, no_cluster: list[str], old: str, new: str, field: str) -> None:
    spec = write_spec(work, replace=((old, new),))
    run_bad(work, "run", str(spec), needles=(field,))


@pytest.mark.parametrize("extra, field", [
    ("count = 3", "[run].count is not a known field"),
    ("[output]\npath = 'x'", "[output] is not a known table"),
])
def test_unknown_field(work: Path, no_cluster: list[str], extra: str, field: str) -> None:
    run_bad(work, "run", str(write_spec(work, extra)), needles=(field,))


def test_unknown_solver_option(work: Path, no_cluster: list[str]) -> None:
    spec = write_spec(work, replace=(("maxiter =", "maxiterr ="),))
    run_bad(work, "run", str(spec), needles=("[solver].options.maxiterr is not an option of "
                                             "L-BFGS-B",))


@pytest.mark.parametrize("old, new, needles", [
    ("n = 4", 'n = "four"', ("[starts].n must be a positive integer", "'four' (a string)")),
    ("seed = 3", "seed = 2.5", ("[sweep].seed must be a non-negative integer", "2.5")),
    ("trace = true", 'trace = "yes"', ("[solver].trace must be true or false",)),
    ('files = "data/*.csv"', "files = 3", ("[data].files must be a glob string or an array",)),
])
def test_mistyped_field(work: Path, no_cluster: list[str], old: str, new: str,
                        needles: tuple[str, ...]) -> None:
    spec = write_spec(work, replace=((old, new),))
    run_bad(work, "run", str(spec), needles=needles)


@pytest.mark.parametrize("old, new, needles", [
    ("n = 4", "n = -3", ("[starts].n must be a positive integer, got -3",)),
    ("starts_per_task = 2", "starts_per_task = 0",
     ("[run].starts_per_task must be a positive integer, got 0",)),
    ("seed = 3", "seed = -1", ("[sweep].seed must be a non-negative integer, got -1",)),
])
def test_out_of_range_field(work: Path, no_cluster: list[str], old: str, new: str,
                            needles: tuple[str, ...]) -> None:
    spec = write_spec(work, replace=((old, new),))
    run_bad(work, "run", str(spec), needles=needles)


@pytest.mark.parametrize("lower, upper", [(5.0, 1.0), (2.0, 2.0)])
def test_bounds_lower_not_below_upper(work: Path, no_cluster: list[str], lower: float,
                                      upper: float) -> None:
    spec = write_spec(work, f"\n[parameters]\na = {{ lower = {lower}, upper = {upper} }}")
    run_bad(work, "run", str(spec), needles=(
        "[parameters].a must have lower < upper", f"lower = {lower!r}", f"upper = {upper!r}"))


def test_spec_that_is_not_toml(work: Path, no_cluster: list[str]) -> None:
    spec = work / "spec.toml"
    spec.write_text("[sweep]\nname = \n")
    run_bad(work, "run", str(spec), needles=("spec.toml", "is not valid TOML", "line 2"))


def test_spec_file_missing(work: Path, no_cluster: list[str]) -> None:
    run_bad(work, "run", "nowhere.toml", needles=("nowhere.toml", "does not exist"))


# -- the objective ---------------------------------------------------------------------------
def test_objective_module_does_not_import(work: Path, no_cluster: list[str]) -> None:
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="no_such_module_xyz:nll"))
    run_bad(work, "run", str(spec), needles=("'no_such_module_xyz:nll'",
                                             "cannot import module 'no_such_module_xyz'"))


def test_objective_module_raises_on_import(work: Path, no_cluster: list[str]) -> None:
    # a multi-line error from the user's module still gives exactly one stderr line
    (work / "broken_objective.py").write_text(
        "raise RuntimeError('first line\\nsecond line')\n")
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="broken_objective:nll"))
    run_bad(work, "run", str(spec), needles=("cannot import module 'broken_objective'",
                                             "RuntimeError: first line second line"))


def test_objective_attribute_missing(work: Path, no_cluster: list[str]) -> None:
    (work / "objective_module.py").write_text("def other(params, data):\n    return 0.0\n")
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="objective_module:nll"))
    run_bad(work, "run", str(spec), needles=("'objective_module' has no attribute 'nll'",))


def test_objective_not_callable(work: Path, no_cluster: list[str]) -> None:
    (work / "not_callable_module.py").write_text("nll = 3.5\n")
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="not_callable_module:nll"))
    run_bad(work, "run", str(spec), needles=("'not_callable_module:nll' is not callable",
                                             "float"))


def test_objective_path_malformed(work: Path, no_cluster: list[str]) -> None:
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="no colon here"))
    run_bad(work, "run", str(spec), needles=("[model].objective must be an import path",))


# -- the data --------------------------------------------------------------------------------
def test_glob_matches_nothing(work: Path, no_cluster: list[str]) -> None:
    spec = write_spec(work, replace=(("*.csv", "*.parquet"),))
    run_bad(work, "run", str(spec), needles=("data glob", "data/*.parquet", "matches no file"))


def test_listed_file_missing(work: Path, no_cluster: list[str]) -> None:
    spec = write_spec(work, replace=(('"data/*.csv"', '["data/first.csv", "data/gone.csv"]'),))
    run_bad(work, "run", str(spec), needles=("gone.csv", "does not exist"))


def test_csv_without_the_named_column(work: Path, no_cluster: list[str]) -> None:
    (work / "data" / "third.csv").write_text(_csv(_linear_rows(), header="x,z"))
    run_bad(work, "run", str(write_spec(work)),
            needles=("third.csv", "has no column 'y'", "columns present: ['x', 'z']"))


def test_csv_with_a_non_numeric_cell(work: Path, no_cluster: list[str]) -> None:
    rows = _linear_rows()
    rows[2] = (rows[2][0], "abc")
    (work / "data" / "third.csv").write_text(_csv(rows))
    run_bad(work, "run", str(write_spec(work)),
            needles=("third.csv", "data row 3", "line 4", "column 'y'", "'abc' is not a number"))


def test_csv_with_an_infinite_cell(work: Path, no_cluster: list[str]) -> None:
    rows = _linear_rows()
    rows[5] = ("inf", rows[5][1])
    (work / "data" / "third.csv").write_text(_csv(rows))
    run_bad(work, "run", str(write_spec(work)),
            needles=("third.csv", "data row 6", "column 'x'", "is not a finite number"))


# -- the store -------------------------------------------------------------------------------
def test_store_path_is_a_file(work: Path, no_cluster: list[str]) -> None:
    (work / "results.zarr").write_text("not a store\n")
    run_bad(work, "run", str(write_spec(work)), "--store", "results.zarr",
            needles=("results.zarr", "is a file"))


def test_store_path_inside_a_file(work: Path, no_cluster: list[str]) -> None:
    (work / "plain").write_text("a file\n")
    run_bad(work, "run", str(write_spec(work)), "--store", "plain/results.zarr",
            needles=("plain/results.zarr", "which is a file"))


def test_store_path_is_a_foreign_directory_even_with_overwrite(
        work: Path, no_cluster: list[str]) -> None:
    (work / "mine").mkdir()
    (work / "mine" / "thesis.txt").write_text("precious\n")
    for extra in ((), ("--overwrite",)):
        run_bad(work, "run", str(write_spec(work)), "--store", "mine", *extra,
                needles=("'mine' exists and is not a calib store",))


def _other_store(work: Path) -> Path:
    """A complete store made by a spec that differs from ``write_spec(work)`` (4 -> 6 starts)."""
    other = write_spec(work, name="other.toml", replace=(("n = 4", "n = 6"),))
    store = work / "bad-input.zarr"
    fill_store(other, store)
    other.unlink()
    return store


def test_store_of_another_spec_is_refused(work: Path, no_cluster: list[str]) -> None:
    store = _other_store(work)
    spec = write_spec(work)
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec)), "bad-input.zarr", "holds a different sweep",
                     "--overwrite")
    assert snapshot(work) == before


def test_store_of_another_spec_is_replaced_with_overwrite(
        work: Path, dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _other_store(work)
    old_hash = Store.open(store).spec_hash
    spec = write_spec(work)

    @contextlib.contextmanager
    def use_shared(**kwargs: Any) -> Iterator[Any]:
        yield dask_client

    monkeypatch.setattr(jobs.cluster, "connect", use_shared)
    result = invoke("run", str(spec), "--overwrite")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "store: bad-input.zarr (4 tasks run, 0 already done)" in result.stdout
    opened = Store.open(store)
    assert opened.spec_hash == load_spec(spec).hash != old_hash
    assert opened.layout.n_starts == 4
    assert opened.done_chunks().all()
    assert np.all(np.asarray(opened.group["status"][:]) == 1)


def test_scheduler_and_scheduler_file_together(work: Path, no_cluster: list[str]) -> None:
    (work / "scheduler.json").write_text('{"address": "tcp://127.0.0.1:1"}\n')
    run_bad(work, "run", str(write_spec(work)), "--scheduler", "tcp://127.0.0.1:1",
            "--scheduler-file", "scheduler.json",
            needles=("--scheduler and --scheduler-file are mutually exclusive",))


def test_workers_not_positive(work: Path, no_cluster: list[str]) -> None:
    run_bad(work, "run", str(write_spec(work)), "--workers", "0",
            needles=("--workers must be a positive integer, got 0",))


# -- reading a store -------------------------------------------------------------------------
@pytest.fixture
def full_store(work: Path) -> Path:
    return fill_store(write_spec(work), work / "bad-input.zarr").path


def test_trace_unknown_dataset(work: Path, full_store: Path, no_cluster: list[str]) -> None:
    before = snapshot(work)
    assert_bad_input(invoke("trace", str(full_store), "--dataset", "third", "--start", "0"),
                     "--dataset 'third' is not in the store", "first, second")
    assert snapshot(work) == before


@pytest.mark.parametrize("start", ["4", "-1", "100"])
def test_trace_start_out_of_range(work: Path, full_store: Path, no_cluster: list[str],
                                  start: str) -> None:
    before = snapshot(work)
    assert_bad_input(invoke("trace", str(full_store), "--dataset", "first", "--start", start),
                     f"--start must be in 0..3, got {start}")
    assert snapshot(work) == before


def test_trace_of_a_good_start_works(work: Path, full_store: Path, no_cluster: list[str]) -> None:
    # the control for the two tests above: the same store and dataset, a start in range
    result = invoke("trace", str(full_store), "--dataset", "first", "--start", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["iter", "fun", "grad_norm", "nfev", "a", "b"]


def _not_a_store(work: Path, kind: str) -> Path:
    path = work / f"{kind}.zarr"
    if kind == "file":
        path.write_text("hello\n")
    elif kind == "directory":
        path.mkdir()
        (path / "notes.txt").write_text("hello\n")
    elif kind == "empty":
        path.mkdir()
    elif kind == "zarr-group":
        zarr.open_group(str(path), mode="w").attrs["owner"] = "someone else"
    return path


@pytest.mark.parametrize("command", [["show", "--dataset", "first"], ["best"], ["status"],
                                     ["trace", "--dataset", "first", "--start", "0"]])
@pytest.mark.parametrize("kind, needle", [
    ("missing", "no store at"), ("file", "is a file"), ("directory", "is not a zarr store"),
    ("empty", "is not a zarr store"), ("zarr-group", "is not a calib sweep store")])
def test_reading_a_path_that_is_not_a_store(work: Path, no_cluster: list[str],
                                            command: list[str], kind: str, needle: str) -> None:
    path = _not_a_store(work, kind)
    before = snapshot(work)
    assert_bad_input(invoke(command[0], str(path), *command[1:]), f"{kind}.zarr", needle)
    assert snapshot(work) == before


# -- a real process --------------------------------------------------------------------------
def test_real_process_exit_status_and_stderr(work: Path) -> None:
    """The installed `calib` executable: status 2, one stderr line, stdout empty, no store."""
    spec = write_spec(work, replace=(("*.csv", "*.parquet"),))
    calib = Path(sys.executable).with_name("calib")
    before = snapshot(work)
    done = subprocess.run([str(calib), "run", str(spec)], capture_output=True, text=True,
                          timeout=120, cwd=work)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"calib: error: data glob {str(work / 'data' / '*.parquet')!r} matches no file"]
    assert snapshot(work) == before

