"""The planner's probe of a start's cost never hangs `calib run` (issue 10, item 2).

Without ``[run].starts_per_task`` the planner times the objective on the client before the sweep
starts; an objective that never returns used to hang the client there, before any worker ran.
The probe now gives up after `jobs.plan.PROBE_TIMEOUT` seconds (or the per-start time limit),
and the sweep's own starts time out, contained, on the workers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from jobs.store import Store

from .conftest import calib_cli, write_csv, write_module, write_spec

HANGS = '''
import time

def nll(params, data):
    time.sleep(3600)                 # never returns, on the client and on the workers alike
    return 0.0
'''


def test_a_hanging_objective_does_not_hang_planning(tmp_path: Path) -> None:
    write_module(tmp_path, "hangs", HANGS)
    write_csv(tmp_path / "d.csv", ["y"], np.arange(10.0).reshape(-1, 1))
    spec = write_spec(tmp_path, {
        "sweep": {"name": "hangs", "seed": 1},
        "model": {"objective": "hangs:nll"},
        "parameters": {"a": {"lower": -1.0, "upper": 1.0}},
        "data": {"files": "d.csv", "columns": ["y"]},
        "starts": {"n": 2},
        "solver": {"method": "L-BFGS-B"},
        "run": {"time_limit_per_start": 1.0},  # no starts_per_task: the planner probes
    })
    began = time.monotonic()
    ran = calib_cli(["run", spec.name, "--workers", "1"], tmp_path, timeout=120)
    took = time.monotonic() - began
    assert ran.returncode == 1, ran.stderr  # done, some starts failed
    arrays = Store.open(tmp_path / "hangs.zarr").read_dataset(0)
    assert [str(arrays.status_of(i)) for i in range(2)] == ["timeout", "timeout"]
    assert all("time limit" in str(m) for m in arrays.message)
    assert took < 60, took  # the probe gave up after 1 s, each start after 1.5 s


EXITS = '''
import os

def nll(params, data):
    os._exit(7)                      # kills whatever process calls it: client or worker
'''


def test_an_objective_that_exits_does_not_kill_the_client(tmp_path: Path) -> None:
    write_module(tmp_path, "exits", EXITS)
    write_csv(tmp_path / "d.csv", ["y"], np.arange(10.0).reshape(-1, 1))
    spec = write_spec(tmp_path, {
        "sweep": {"name": "exits", "seed": 1},
        "model": {"objective": "exits:nll"},
        "parameters": {"a": {"lower": -1.0, "upper": 1.0}},
        "data": {"files": "d.csv", "columns": ["y"]},
        "starts": {"n": 2},
        "solver": {"method": "L-BFGS-B"},  # no starts_per_task: the planner probes
    })
    ran = calib_cli(["run", spec.name, "--workers", "1"], tmp_path, timeout=120)
    assert ran.returncode == 1, ran.stderr  # done: both starts failed, with the reason
    arrays = Store.open(tmp_path / "exits.zarr").read_dataset(0)
    assert [str(arrays.status_of(i)) for i in range(2)] == ["failed", "failed"]
    assert all("exit" in str(m) for m in arrays.message), list(arrays.message)
