"""Exit codes a script can trust (issue 10, item 5): 130 after Ctrl-C with one line and no
worker tracebacks, then a resume equal to an uninterrupted run; 3 with one line when the
scheduler goes away mid-run.

``calib run`` runs as a subprocess (embedded LocalCluster, or a real ``dask scheduler`` started
by the test); SIGINT goes to the ``calib run`` process group (``calib run`` and its embedded
workers, as a terminal's Ctrl-C), SIGKILL to the scheduler's pid.  Before this
item Ctrl-C gave ``Aborted!``, exit 1 and worker tracebacks, and a lost scheduler a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from jobs.runner import run_sweep
from jobs.spec import load_spec

from .conftest import (CALIB, RESULT_ARRAYS, STORE_LINE, TRACE_ARRAYS, DaskProcesses,
                       assert_arrays_equal, calib_cli, cli_env, read_arrays, wait_until,
                       write_csv, write_module, write_spec)

SLOW = '''
import time

def sse(params, data):
    time.sleep(0.01)
    a, b = params
    r = data[:, 1] - (a * data[:, 0] + b)
    return float(r @ r)
'''

COMPARED = tuple(n for n in RESULT_ARRAYS + TRACE_ARRAYS if n != "seconds")
INTERRUPTED = re.compile(r"^interrupted: (\d+) of (\d+) tasks done; run the same command to "
                         r"resume$")


def slow_sweep(directory: Path, name: str, *, n: int = 24, per_task: int = 2) -> Path:
    """A sweep of ``n / per_task`` tasks of about 0.4 s each (a user objective that sleeps)."""
    write_module(directory, "slow_objective", SLOW)
    x = np.linspace(0.0, 1.0, 30)
    write_csv(directory / "line.csv", ["x", "y"], np.column_stack([x, 3.0 * x - 2.0]))
    return write_spec(directory, {
        "sweep": {"name": name, "seed": 5}, "model": {"objective": "slow_objective:sse"},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0}, "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": ["line.csv"], "columns": ["x", "y"]},
        "starts": {"n": n}, "solver": {"method": "L-BFGS-B", "trace": True},
        "run": {"starts_per_task": per_task},
    }, filename=f"{name}.toml")


def chunks_done(store: Path) -> int:
    try:
        return int((np.asarray(zarr.open_group(str(store), mode="r")["chunk_done"][...])
                    == 1).sum())
    except Exception:  # noqa: BLE001 - not created yet
        return 0


def start_run(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``calib ARGS`` started in a process group of its own (as a terminal's foreground job)."""
    return subprocess.Popen([CALIB, *args], cwd=cwd, env=cli_env(cwd / ".dask-scratch"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_ctrl_c_exits_130_with_one_line_and_the_resume_equals_a_full_run(
        tmp_path: Path, dask_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_path = slow_sweep(tmp_path, "sigint")
    store = tmp_path / "sigint.zarr"
    proc = start_run(["run", str(spec_path), "--workers", "2"], tmp_path)
    assert wait_until(lambda: chunks_done(store) >= 1, timeout=60), proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: calib run and its workers get it
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    lines = err.strip().splitlines()
    match = INTERRUPTED.match(lines[-1])
    assert match is not None, err
    assert int(match[2]) == 12 and 1 <= int(match[1]) < 12
    assert "Traceback" not in err and "Aborted" not in err

    resumed = calib_cli(["run", str(spec_path), "--workers", "2"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    summary = STORE_LINE.search(resumed.stdout)
    assert summary is not None and int(summary["skipped"]) >= int(match[1])
    assert int(summary["run"]) + int(summary["skipped"]) == 12

    monkeypatch.chdir(tmp_path)  # reference: one uninterrupted run on the session cluster
    run_sweep(load_spec(spec_path), str(tmp_path / "reference.zarr"), dask_client)
    assert_arrays_equal(read_arrays(store, COMPARED),
                        read_arrays(tmp_path / "reference.zarr", COMPARED))


def test_a_lost_scheduler_exits_3_with_one_line(tmp_path: Path,
                                               dask_processes: DaskProcesses) -> None:
    spec_path = slow_sweep(tmp_path, "lost", n=40)
    store = tmp_path / "lost.zarr"
    proc = start_run(["run", str(spec_path), "--scheduler", dask_processes.address], tmp_path)
    assert wait_until(lambda: chunks_done(store) >= 1, timeout=60), proc.communicate()
    os.kill(dask_processes.popens[0].pid, signal.SIGKILL)  # the scheduler
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert err.strip().splitlines()[-1].startswith(
        "calib: error: the run could not finish: lost the Dask scheduler"), err
    assert "Traceback" not in err
    assert chunks_done(store) < 20  # it stopped, keeping what was done
