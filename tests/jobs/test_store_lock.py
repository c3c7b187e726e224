"""One writer per store (issue 10, item 3).

- Two real ``calib run`` processes on one store: the second (``--overwrite``, another seed) is
  refused with exit 2 and one line naming the first (its host and pid) while the first holds
  the lease; the first finishes a whole store of its own sweep; afterwards the second runs.
- A process killed (SIGKILL) while it swaps a new store in (``--overwrite``) or creates one
  leaves the old store whole (or no store), and the next ``calib run`` takes the dead run's
  lease over and cleans up what it left.
- A half-created store (what a run killed during creation left before stores were built aside)
  is reported without ``--overwrite`` and rebuilt with it.
- The lease itself: live and dead holders on this host (pid check), fresh and stale
  heartbeats of holders on other hosts, release, heartbeat.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zarr

import jobs.lease
from jobs.errors import StoreConflictError, StoreLockedError
from jobs.lease import StoreLease, lease_path, process_start_time, read_holder, staging_dirs
from jobs.plan import plan_sweep
from jobs.runner import check_store, prepare_store
from jobs.spec import load_spec
from jobs.store import Store

from .conftest import (CALIB, STORE_LINE, calib_cli, cli_env, ou_sweep_tables, wait_until,
                       write_module, write_spec)

#: an objective that blocks in worker processes while the gate file exists (never in the
#: client, whose planning calls it too), so a run stays alive until the test lets it go
GATED = """
import os, time

GATE = {gate!r}
TEST_PID = {test_pid!r}


def nll(x, data):
    # every process but the calib client (the test's own child, which plans) waits at the gate:
    # Dask workers and the supervised children that run the starts
    if os.getppid() != TEST_PID:
        deadline = time.monotonic() + 60
        while os.path.exists(GATE) and time.monotonic() < deadline:
            time.sleep(0.05)
    a, b = x
    return float(((data[:, 0] - a) ** 2).sum() + (b - 1.0) ** 2)
"""


def _gated_spec(directory: Path, seed: int, name: str) -> Path:
    (directory / "d.csv").write_text("v\n" + "\n".join(str(0.1 * i) for i in range(20)) + "\n")
    return write_spec(directory, {
        "sweep": {"name": "gated", "seed": seed},
        "model": {"objective": "gated:nll"},
        "parameters": {"a": {"lower": -5.0, "upper": 5.0}, "b": {"lower": -5.0, "upper": 5.0}},
        "data": {"files": "d.csv", "columns": ["v"]},
        "starts": {"n": 4},
        "solver": {"method": "L-BFGS-B", "options": {"maxiter": 20}},
        "run": {"starts_per_task": 2},
    }, filename=name)


def test_a_second_run_on_a_held_store_is_refused_naming_the_holder(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    write_module(tmp_path, "gated", GATED.format(gate=str(gate), test_pid=os.getpid()))
    _gated_spec(tmp_path, 1, "first.toml")
    _gated_spec(tmp_path, 2, "second.toml")
    first = subprocess.Popen([CALIB, "run", "first.toml", "--store", "s.zarr", "--workers", "1"],
                             cwd=tmp_path, env=cli_env(tmp_path / "scratch"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: read_holder(tmp_path / "s.zarr") is not None
                          and (tmp_path / "s.zarr" / "zarr.json").exists(), 60)
        second = calib_cli(["run", "second.toml", "--store", "s.zarr", "--overwrite"], tmp_path)
        assert first.poll() is None, "the first run ended before the second was refused"
    finally:
        gate.unlink()
        out, err = first.communicate(timeout=120)
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert f"pid {first.pid}" in lines[0] and "being written by another calib run" in lines[0]
    assert first.returncode == 0, err
    assert STORE_LINE.search(out)["run"] == "2"  # type: ignore[index]
    store = Store.open(tmp_path / "s.zarr")
    assert store.spec_hash == load_spec(tmp_path / "first.toml").hash
    assert store.verify() == (2, 2)
    assert not lease_path(tmp_path / "s.zarr").exists()  # released at the end
    again = calib_cli(["run", "second.toml", "--store", "s.zarr", "--overwrite"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert Store.open(tmp_path / "s.zarr").spec_hash == load_spec(tmp_path / "second.toml").hash


#: runs in a child process: takes the lease, then builds a store and stops (for the test to
#: kill it) just before swapping it into place
_KILLED_WRITER = """
import sys, time
import jobs.store_files
from jobs.lease import StoreLease
from jobs.plan import plan_sweep
from jobs.runner import prepare_store
from jobs.spec import load_spec

def stop_before_swap(staging, path):
    print("building", flush=True)
    time.sleep(600)

jobs.store_files.swap_into_place = stop_before_swap
spec_path, store, overwrite = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
StoreLease.acquire(store)
prepare_store(plan_sweep(load_spec(spec_path)), store, overwrite=overwrite)
"""


def _start_killed_writer(directory: Path, spec: str, store: str,
                         overwrite: bool) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, spec, store,
                             "1" if overwrite else "0"], cwd=directory, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "building", proc.stderr.read() if proc.stderr else ""
    return proc


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def test_a_kill_during_overwrite_keeps_the_old_store_and_the_next_run_takes_over(
        tmp_path: Path) -> None:
    write_spec(tmp_path, ou_sweep_tables("old"), filename="old.toml")
    write_spec(tmp_path, ou_sweep_tables("new", starts=4, starts_per_task=2), filename="new.toml")
    old_spec = load_spec(tmp_path / "old.toml")
    plan = plan_sweep(old_spec)
    prepare_store(plan, str(tmp_path / "s.zarr"), overwrite=False)  # a (pending) old store
    before = Store.open(tmp_path / "s.zarr").spec_hash
    proc = _start_killed_writer(tmp_path, "new.toml", "s.zarr", overwrite=True)
    assert staging_dirs(tmp_path / "s.zarr"), "the new store is built aside"
    _kill(proc)
    assert Store.open(tmp_path / "s.zarr").spec_hash == before == old_spec.hash
    holder = read_holder(tmp_path / "s.zarr")
    assert holder is not None and holder.pid == proc.pid and not holder.is_live()
    done = calib_cli(["run", "new.toml", "--store", "s.zarr", "--overwrite", "--workers", "1"],
                     tmp_path)
    assert done.returncode == 0, done.stderr
    assert Store.open(tmp_path / "s.zarr").verify() == (4, 4)
    assert Store.open(tmp_path / "s.zarr").spec_hash == load_spec(tmp_path / "new.toml").hash
    assert staging_dirs(tmp_path / "s.zarr") == []  # the dead run's leftovers removed
    assert not lease_path(tmp_path / "s.zarr").exists()


def test_a_kill_during_creation_leaves_no_store_and_the_next_run_creates_it(
        tmp_path: Path) -> None:
    write_spec(tmp_path, ou_sweep_tables("fresh"), filename="fresh.toml")
    proc = _start_killed_writer(tmp_path, "fresh.toml", "s.zarr", overwrite=False)
    _kill(proc)
    assert not (tmp_path / "s.zarr").exists()
    plan = plan_sweep(load_spec(tmp_path / "fresh.toml"))
    check_store(plan, str(tmp_path / "s.zarr"), overwrite=False)  # no --overwrite needed
    with StoreLease.acquire(tmp_path / "s.zarr"):  # the dead run's lease is taken over
        assert staging_dirs(tmp_path / "s.zarr") == []
        store = prepare_store(plan, str(tmp_path / "s.zarr"), overwrite=False)
    assert store.spec_hash == plan.spec.hash


def _half_created(path: Path) -> None:
    """What a run killed during creation left before stores were built aside: a group
    without the sweep's attributes and some of the arrays."""
    group = zarr.open_group(str(path), mode="w")
    group.create_array("x0", shape=(2, 6, 3), chunks=(1, 3, 3), dtype="f8")
    group.create_array("x", shape=(2, 6, 3), chunks=(1, 3, 3), dtype="f8")


def test_a_half_created_store_is_reported_and_rebuilt_with_overwrite(tmp_path: Path) -> None:
    _half_created(tmp_path / "s.zarr")
    plan = plan_sweep(load_spec(write_spec(tmp_path, ou_sweep_tables("half"))))
    with pytest.raises(StoreConflictError, match="incomplete .*pass --overwrite to rebuild it"):
        check_store(plan, str(tmp_path / "s.zarr"), overwrite=False)
    check_store(plan, str(tmp_path / "s.zarr"), overwrite=True)
    store = prepare_store(plan, str(tmp_path / "s.zarr"), overwrite=True)
    assert store.spec_hash == plan.spec.hash and store.verify() == (0, 4)


def test_a_foreign_directory_is_still_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "s.zarr").mkdir()
    (tmp_path / "s.zarr" / "precious.txt").write_text("keep me")
    plan = plan_sweep(load_spec(write_spec(tmp_path, ou_sweep_tables("foreign"))))
    with pytest.raises(StoreConflictError, match="never replaced"):
        check_store(plan, str(tmp_path / "s.zarr"), overwrite=True)
    assert (tmp_path / "s.zarr" / "precious.txt").read_text() == "keep me"


# -- the lease ------------------------------------------------------------------------------
def _plant(store: Path, **fields: object) -> None:
    holder = {"host": "elsewhere.example", "pid": 4242, "pid_started": 0.0,
              "started": "2026-01-01T00:00:00Z", "heartbeat": time.time(), "token": "t" * 32}
    holder.update(fields)
    lease_path(store).write_text(json.dumps(holder))


def test_a_fresh_lease_of_another_host_is_refused_naming_it(tmp_path: Path) -> None:
    _plant(tmp_path / "s.zarr")
    with pytest.raises(StoreLockedError, match=r"host elsewhere\.example, pid 4242, started "
                                               r"2026-01-01T00:00:00Z"):
        StoreLease.acquire(tmp_path / "s.zarr")


def test_a_stale_lease_of_another_host_is_taken_over(tmp_path: Path) -> None:
    _plant(tmp_path / "s.zarr", heartbeat=time.time() - jobs.lease.STALE_SECONDS - 1)
    with StoreLease.acquire(tmp_path / "s.zarr") as lease:
        assert read_holder(tmp_path / "s.zarr") == lease.holder
        assert lease.holder.pid == os.getpid()
    assert not lease_path(tmp_path / "s.zarr").exists()


def test_a_lease_of_a_live_process_here_is_refused_and_of_a_dead_one_taken(
        tmp_path: Path) -> None:
    import socket

    parent = os.getppid()
    started = process_start_time(parent)
    assert started is not None
    _plant(tmp_path / "s.zarr", host=socket.gethostname(), pid=parent, pid_started=started,
           heartbeat=0.0)  # alive: its heartbeat does not matter
    with pytest.raises(StoreLockedError, match=f"pid {parent}"):
        StoreLease.acquire(tmp_path / "s.zarr")
    _plant(tmp_path / "s.zarr", host=socket.gethostname(), pid=parent,
           pid_started=started - 100)  # that pid, but another process: the pid was reused
    StoreLease.acquire(tmp_path / "s.zarr").release()


def test_a_malformed_lease_file_is_replaced(tmp_path: Path) -> None:
    lease_path(tmp_path / "s.zarr").write_text("{not json")
    with StoreLease.acquire(tmp_path / "s.zarr") as lease:
        assert read_holder(tmp_path / "s.zarr") == lease.holder


def test_the_heartbeat_renews_the_lease_and_notices_a_take_over(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs.lease, "HEARTBEAT_SECONDS", 0.05)
    lease = StoreLease.acquire(tmp_path / "s.zarr")
    first = lease.holder.heartbeat
    assert wait_until(lambda: (read_holder(tmp_path / "s.zarr") or lease.holder).heartbeat
                      > first, 10)
    _plant(tmp_path / "s.zarr")  # someone took it over
    assert wait_until(lambda: lease.lost, 10)
    lease.release()
    assert read_holder(tmp_path / "s.zarr") is not None  # not ours: left alone


def test_a_run_whose_lease_was_taken_over_writes_nothing_more(tmp_path: Path) -> None:
    # a successor judged this run dead and took the lease: every write checks the token first
    gate = tmp_path / "gate"
    gate.touch()
    write_module(tmp_path, "gated", GATED.format(gate=str(gate), test_pid=os.getpid()))
    _gated_spec(tmp_path, 1, "first.toml")
    first = subprocess.Popen([CALIB, "run", "first.toml", "--store", "s.zarr", "--workers", "1"],
                             cwd=tmp_path, env=cli_env(tmp_path / "scratch"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: read_holder(tmp_path / "s.zarr") is not None
                          and (tmp_path / "s.zarr" / "zarr.json").exists(), 60)
        lease = lease_path(tmp_path / "s.zarr")
        record = json.loads(lease.read_text())
        record["token"] = "f" * 32  # the successor's
        lease.write_text(json.dumps(record))
    finally:
        gate.unlink()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 3, err
    assert "was taken over by another calib run" in err
    assert not Store.open(tmp_path / "s.zarr").done_chunks().any()  # no chunk written after
    assert json.loads(lease.read_text())["token"] == "f" * 32  # the successor's lease stays
