"""Where a sweep runs: an embedded `LocalCluster`, a ``tcp://`` scheduler, or a scheduler file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import dask.config
from distributed import Client, LocalCluster

from .errors import SpecError

__all__ = ["check_options", "connect", "dashboard_problem", "default_workers",
           "EMBEDDED_WORKER_CONFIG"]

#: Dask settings of the embedded cluster's workers: no statistical profiler (it samples the
#: solving thread's stack every 10 ms) and a 1 s event-loop health tick (20 ms by default);
#: measured on 2 cores, the same starts ran ~5 % faster in a task with both off
EMBEDDED_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                          "distributed.admin.tick.interval": "1000ms",
                          # no MALLOC_TRIM_THRESHOLD_=65536 (Dask's default) in the workers'
                          # environment (nor, through the nanny, in this process's): setting it
                          # fixes glibc's mmap threshold, so every numpy temporary over 128 KiB
                          # is mapped, faulted in and unmapped again; measured on 2 cores, a
                          # batched OU task (64 starts, 1000 points) took 4x the CPU with it
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                          # Ctrl-C is the client's: workers ignore SIGINT (no tracebacks)
                          "distributed.worker.preload": ["jobs.worker_setup"]}


def default_workers() -> int:
    """Worker processes for the embedded cluster: one per core."""
    return max(1, os.cpu_count() or 1)


def _dashboard_address() -> str:
    # a free port, so that parallel sweeps and tests never fight over :8787; on the loopback
    # interface only: the dashboard has no authentication (docs/security.md)
    return "127.0.0.1:0"


#: what distributed serves at the dashboard's address when bokeh is missing on the scheduler
_MISSING_BOKEH_PAGE = "for the dashboard.</p>"


def dashboard_problem(link: str, *, timeout: float = 2.0) -> str | None:
    """Why the Dask dashboard at ``link`` does not work, or None when it serves its page.

    An HTTP GET of ``link``: no answer, an HTTP error, or distributed's stand-in page for a
    scheduler without bokeh (it answers 200 with "Dask needs bokeh... for the dashboard") are
    each a problem, named in a short phrase.
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(link, timeout=timeout) as response:  # the user's scheduler
            body = response.read(65536).decode("utf-8", errors="replace")
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{link} answers HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{link} does not answer ({exc})"
    if status != 200:
        return f"{link} answers HTTP {status}"
    if _MISSING_BOKEH_PAGE in body:
        return "bokeh is not installed where the scheduler runs (pip install 'calib[dashboard]')"
    return None


def check_options(*, scheduler: str | None = None, scheduler_file: str | None = None,
                  workers: int | None = None) -> None:
    """Check `connect`'s arguments without connecting (the CLI does it before anything else).

    Raises
    ------
    SpecError
        For both ``scheduler`` and ``scheduler_file``, a non-positive ``workers``, or a missing
        scheduler file (the message names the option).
    """
    if scheduler and scheduler_file:
        raise SpecError("--scheduler", "and --scheduler-file are mutually exclusive")
    if workers is not None and workers < 1:
        raise SpecError("--workers", f"must be a positive integer, got {workers}")
    if scheduler_file is not None and not os.path.isfile(scheduler_file):
        raise SpecError("--scheduler-file", f"{scheduler_file!r} does not exist")


@contextlib.contextmanager
def connect(*, scheduler: str | None = None, scheduler_file: str | None = None,
            workers: int | None = None, timeout: float = 30.0) -> Iterator[Client]:
    """Yield a Dask client; an embedded `LocalCluster` unless an address or file is given.

    The embedded cluster uses worker processes (one thread each; BLAS pinned to one thread by
    the nanny), ``workers`` of them (default: one per core), and closes on exit.  A remote
    scheduler is left running.

    Raises
    ------
    SpecError
        For both ``scheduler`` and ``scheduler_file``, a non-positive ``workers``, an unreachable
        scheduler or a missing scheduler file (the message names the option).
    """
    check_options(scheduler=scheduler, scheduler_file=scheduler_file, workers=workers)
    if scheduler or scheduler_file:
        try:
            client = Client(address=scheduler, scheduler_file=scheduler_file,
                            timeout=f"{timeout}s")
        except OSError as exc:
            where = scheduler or scheduler_file
            option = "--scheduler" if scheduler else "--scheduler-file"
            raise SpecError(option, f"could not reach a Dask scheduler at {where!r}: {exc}") \
                from exc
        try:
            yield client
        finally:
            client.close()
        return
    with dask.config.set(EMBEDDED_WORKER_CONFIG):  # workers take the config they start with
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=True, dashboard_address=_dashboard_address())
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
