"""One finished sweep store shared by the API, export, plot and xarray tests (built once per
session through `jobs.run_sweep_to` on the session `dask_client`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .conftest import ou_sweep_tables

#: the shared sweep: OU on 2 simulated datasets, 6 starts each in chunks of 3, traces on
TABLES = ou_sweep_tables("api-ou", datasets=2, starts=6, starts_per_task=3)


@functools.cache
def _build(root: str, client: Any) -> Path:
    from jobs import run_sweep_to

    store = Path(root) / "api-ou.zarr"
    run_sweep_to(TABLES, store, client=client)
    return store


def finished_store(tmp_path_factory: Any, client: Any) -> Path:
    """The path of the shared finished store (made on the first call of the session)."""
    return _build(str(tmp_path_factory.getbasetemp() / "api-store"), client)
