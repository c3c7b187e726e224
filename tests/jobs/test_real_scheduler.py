"""The sweep on real ``dask scheduler`` / ``dask worker`` processes: the LocalCluster's results.

The `dask_processes` fixture (conftest) starts the scheduler and two single-threaded workers on
127.0.0.1; ``calib run`` runs as a subprocess against them, once by ``--scheduler`` and once by
``--scheduler-file``.  The results must be identical, array for array, to a run of the same spec
on the session LocalCluster, and every started process must be gone afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jobs.runner import run_sweep
from jobs.spec import load_spec
from jobs.store import Store
from tests.jobs.conftest import (STORE_LINE, DaskProcesses, assert_arrays_equal, calib_cli,
                                 ou_sweep_tables, read_arrays, write_csv, write_module,
                                 write_spec)

COMPARED = ("x0", "x", "fun", "status", "nit", "nfev", "message", "trace_len", "trace_f",
            "trace_x")

USER_MODULE = '''
def sse(params, data):
    a, b = params
    r = data[:, 1] - (a * data[:, 0] + b)
    return float(r @ r)
'''


def _cli_ok(args: list[str], cwd: Path, expected_run: int) -> None:
    out = calib_cli(args, cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    match = STORE_LINE.search(out.stdout)
    assert match is not None, out.stdout
    assert (int(match["run"]), int(match["skipped"])) == (expected_run, 0)


def test_real_scheduler_gives_the_local_cluster_results(tmp_path: Path, dask_client: Any,
                                                        dask_processes: DaskProcesses) -> None:
    spec_path = write_spec(tmp_path, ou_sweep_tables("real-ou"))
    local = tmp_path / "local.zarr"
    run_sweep(load_spec(spec_path), str(local), dask_client)
    expected = read_arrays(local, COMPARED)
    assert Store.open(local).done_chunks().all()

    _cli_ok(["run", str(spec_path), "--scheduler", dask_processes.address,
             "--store", "by-address.zarr"], tmp_path, expected_run=4)
    _cli_ok(["run", str(spec_path), "--scheduler-file", str(dask_processes.scheduler_file),
             "--store", "by-file.zarr"], tmp_path, expected_run=4)
    for name in ("by-address.zarr", "by-file.zarr"):
        assert Store.open(tmp_path / name).done_chunks().all(), name
        assert_arrays_equal(read_arrays(tmp_path / name, COMPARED), expected)

    # a user module in the client's directory reaches workers that run elsewhere
    module = "real_sched_linear"
    write_module(tmp_path, module, USER_MODULE)
    x = np.linspace(0.0, 1.0, 30)
    write_csv(tmp_path / "data" / "line.csv", ["x", "y"], np.column_stack([x, 3.0 * x - 2.0]))
    user_spec = write_spec(tmp_path, {
        "sweep": {"name": "real-user"}, "model": {"objective": f"{module}:sse"},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0}, "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": ["data/line.csv"], "columns": ["x", "y"]},
        "starts": {"n": 2}, "solver": {"method": "L-BFGS-B"}, "run": {"starts_per_task": 1},
    }, filename="user.toml")
    _cli_ok(["run", str(user_spec), "--scheduler", dask_processes.address], tmp_path,
            expected_run=2)
    user = Store.open(tmp_path / "real-user.zarr").read_dataset(0)
    np.testing.assert_array_equal(user.status, [1, 1])
    np.testing.assert_allclose(user.x, [[3.0, -2.0]] * 2, atol=1e-4)

    dask_processes.stop()
    assert dask_processes.leftover_pids() == []
    assert all(p.returncode is not None for p in dask_processes.popens)
    assert len(dask_processes.seen) >= 4  # scheduler, worker CLI (nannies), two workers
