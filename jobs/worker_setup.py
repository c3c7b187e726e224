"""Setup of the embedded cluster's worker processes (a Dask worker preload).

The embedded `LocalCluster`'s workers share the terminal's process group with ``calib run``,
so a Ctrl-C reaches them too: without this they die printing a traceback each while the
client stops them in order anyway.  `dask_setup` makes a worker process ignore SIGINT; the
client (`jobs.cli`) handles Ctrl-C and closes the cluster.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    """Ignore SIGINT in this worker process (Dask calls it once per worker at start)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
