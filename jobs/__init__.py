"""Sweeps: the planner, the Dask runner, the zarr store and the `calib` command line.

The Python API (docs/python.md) is re-exported here from `jobs.api`, `jobs.export` and
`jobs.plots`, loaded on first use (``import jobs`` stays cheap, and worker processes that
import ``jobs.task`` do not load Dask's client side or matplotlib for it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import (DatasetBest, StatusCounts, SweepResults, embedded_client, load_sweep,
                      open_results, run_sweep_to)
    from .export import MissingExtraError, Table
    from .plots import PLOT_KINDS, plot_figure, save_plot

__all__ = ["load_sweep", "run_sweep_to", "open_results", "embedded_client", "SweepResults",
           "DatasetBest", "StatusCounts", "Table", "MissingExtraError", "PLOT_KINDS",
           "plot_figure", "save_plot"]

_HOMES = {"load_sweep": "api", "run_sweep_to": "api", "open_results": "api",
          "embedded_client": "api", "SweepResults": "api", "DatasetBest": "api",
          "StatusCounts": "api", "Table": "export", "MissingExtraError": "export",
          "PLOT_KINDS": "plots", "plot_figure": "plots", "save_plot": "plots"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jobs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"jobs.{home}"), name)
