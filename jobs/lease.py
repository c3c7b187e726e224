"""One writer per store: a lease file in the store with a heartbeat.

`StoreLease.acquire(path)` takes the lease of a store for this process or raises
`StoreLockedError` naming the live holder (host, pid, start time).  The lease is the JSON file
``<store>.lease`` next to the store directory (``plants.zarr.lease``; not inside it: zarr warns
about every non-zarr entry of a group, and a store swapped in by ``--overwrite`` keeps the same
lease): ``host``, ``pid``, ``pid_started`` (the process's start
time in clock ticks since boot, so a reused pid is not taken for the holder), ``started`` (ISO 8601, UTC), ``heartbeat``
(seconds since the epoch, rewritten every `HEARTBEAT_SECONDS` by a daemon thread) and a random
``token``.  A lease is **live** when its holder runs on this host and its pid is alive with the
recorded start time, or, for a holder on another host, when its heartbeat is younger than
`STALE_SECONDS`.  A successor takes over a lease that is not live.

Acquirers on one host are serialised by ``flock`` on the directory holding the store; a new
lease file appears atomically (written aside, then hard-linked into place, which fails when one
exists), so two runs racing to create one store meet at the same lease.  `StoreLease.release`
removes the file; a killed holder leaves it, and its successor takes it over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .errors import StoreLockedError

__all__ = ["LEASE_SUFFIX", "HEARTBEAT_SECONDS", "STALE_SECONDS", "LeaseHolder", "StoreLease",
           "process_start_time", "lease_path", "read_holder", "staging_dirs"]

#: the suffix of the lease file next to a store (``plants.zarr`` -> ``plants.zarr.lease``)
LEASE_SUFFIX = ".lease"
#: seconds between two heartbeats of a holder (``CALIB_LEASE_HEARTBEAT`` overrides)
HEARTBEAT_SECONDS = float(os.environ.get("CALIB_LEASE_HEARTBEAT", "5"))
#: a lease held from another host is stale after this many seconds without a heartbeat
#: (``CALIB_LEASE_STALE`` overrides)
STALE_SECONDS = float(os.environ.get("CALIB_LEASE_STALE", "60"))
#: the prefix of the sibling directories a store is built in (see `jobs.store`)
STAGING_MARK = ".calib-"


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a store's lease (the content of ``calib.lease``)."""

    host: str
    pid: int
    pid_started: float
    started: str
    heartbeat: float
    token: str

    def describe(self, now: float | None = None) -> str:
        """``host H, pid P, started T, last heartbeat N s ago`` (for one-line messages)."""
        age = (time.time() if now is None else now) - self.heartbeat
        return (f"host {self.host}, pid {self.pid}, started {self.started}, last heartbeat "
                f"{max(age, 0.0):.0f} s ago")

    def is_live(self, *, now: float | None = None, stale_after: float | None = None) -> bool:
        """True while the holder may still write: its process alive (this host), or a
        heartbeat younger than ``stale_after`` seconds (another host)."""
        if self.host == socket.gethostname():
            return _process_alive(self.pid, self.pid_started)
        limit = STALE_SECONDS if stale_after is None else stale_after
        return (time.time() if now is None else now) - self.heartbeat < limit


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat``, field
    22); None when it does not exist or is a zombie.  Where there is no ``/proc``, 0.0 for any
    process that exists (the pid check alone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0.0
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    if fields[0] == "Z":
        return None
    return float(fields[19])


def _process_alive(pid: int, started: float) -> bool:
    return process_start_time(pid) == started


def _this_process(token: str) -> LeaseHolder:
    now = time.time()
    started = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return LeaseHolder(host=socket.gethostname(), pid=os.getpid(),
                       pid_started=process_start_time(os.getpid()) or 0.0, started=started,
                       heartbeat=now, token=token)


def lease_path(store: str | Path) -> Path:
    """The lease file of ``store``: ``<store>.lease`` beside it (absolute)."""
    path = Path(store).absolute()
    return path.with_name(path.name + LEASE_SUFFIX)


def read_holder(store: str | Path) -> LeaseHolder | None:
    """The holder recorded in ``store``'s lease file, None when there is none.

    An unreadable or malformed lease file (a holder killed while writing it cannot leave one:
    it is written aside and linked) is taken as held by nobody: `StoreLease.acquire` replaces
    it.
    """
    try:
        data = json.loads(lease_path(store).read_text(encoding="utf-8"))
        return LeaseHolder(host=str(data["host"]), pid=int(data["pid"]),
                           pid_started=float(data["pid_started"]), started=str(data["started"]),
                           heartbeat=float(data["heartbeat"]), token=str(data["token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_aside(store: Path, holder: LeaseHolder) -> Path:
    lease = lease_path(store)
    tmp = lease.with_name(f".{lease.name}.{secrets.token_hex(6)}")
    tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
    return tmp


@contextlib.contextmanager
def _host_lock(store: Path) -> Iterator[None]:
    """``flock`` on the directory holding the store: one acquirer at a time on this host."""
    fd = os.open(lease_path(store).parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def staging_dirs(store: str | Path) -> list[Path]:
    """Sibling directories ``.<name>.calib-*`` in which runs built (or swapped out) ``store``."""
    path = Path(store).absolute()
    prefix = f".{path.name}{STAGING_MARK}"
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def check_lease(store: str | Path, token: str) -> None:
    """Raise `StoreLeaseLostError` unless the lease of ``store`` still carries ``token``.

    Called by every task before it writes its chunk, and by the client before it writes the
    selection, so that a run whose lease another run took over (it was thought dead) never
    writes into the store its successor now owns.
    """
    from .errors import StoreLeaseLostError

    current = read_holder(store)
    if current is None or current.token != token:
        holder = "no lease" if current is None else current.describe()
        raise StoreLeaseLostError(f"store {str(store)!r} was taken over by another calib run "
                                  f"({holder}): this run stops and writes nothing more to it")


class StoreLease:
    """The lease of one store held by this process; a context manager that releases it."""

    def __init__(self, store: Path, holder: LeaseHolder) -> None:
        self.store = store
        self.holder = holder
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="calib-lease-heartbeat",
                                        daemon=True)

    @classmethod
    def acquire(cls, store: str | Path) -> StoreLease:
        """Take the lease of ``store`` (which need not exist yet) and start its heartbeat.

        Raises
        ------
        StoreLockedError
            A live holder has it (the message names its host, pid and start time).
        """
        path = Path(store)
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        mine = _this_process(secrets.token_hex(16))
        with _host_lock(path):
            current = read_holder(path)
            if current is not None and current.is_live():
                raise StoreLockedError(
                    f"store {str(path)!r} is being written by another calib run ("
                    f"{current.describe()}); wait for it to end, or choose another --store")
            tmp = _write_aside(path, mine)
            try:
                if current is None and not lease_path(path).exists():
                    try:
                        os.link(tmp, lease_path(path))  # fails when a lease exists
                    except FileExistsError:
                        other = read_holder(path)
                        raise StoreLockedError(
                            f"store {str(path)!r} is being written by another calib run ("
                            f"{other.describe() if other else 'unreadable lease'}); wait for "
                            "it to end, or choose another --store") from None
                else:  # a dead holder's (or a malformed) lease: replaced under the host lock
                    os.replace(tmp, lease_path(path))
            finally:
                tmp.unlink(missing_ok=True)
        lease = cls(path, mine)
        lease._remove_dead_staging()
        lease._thread.start()
        return lease

    def _remove_dead_staging(self) -> None:
        """Delete what killed runs left beside the store (we hold the lease, so they are dead)."""
        for leftover in staging_dirs(self.store):
            shutil.rmtree(leftover, ignore_errors=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            current = read_holder(self.store)
            if current is None or current.token != self.holder.token:
                self.lost = True  # taken over (we were thought dead): stop writing it
                return
            beat = replace(self.holder, heartbeat=time.time())
            try:
                os.replace(_write_aside(self.store, beat), lease_path(self.store))
            except OSError:
                continue  # e.g. a full disk: the next beat tries again

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file (when it is still ours)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=HEARTBEAT_SECONDS + 1)
        with _host_lock(self.store):
            current = read_holder(self.store)
            if current is not None and current.token == self.holder.token:
                lease_path(self.store).unlink(missing_ok=True)

    def __enter__(self) -> StoreLease:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

