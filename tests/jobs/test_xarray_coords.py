"""The store carries its coordinates: `xarray.open_zarr` gives a labelled Dataset (issue 13.2)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from jobs import open_results
from jobs.store import STATUS_CODES, Store

from .api_store import finished_store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> Path:
    return finished_store(tmp_path_factory, dask_client)


def test_open_zarr_gives_labelled_coordinates(store_path: Path) -> None:
    ds = xr.open_zarr(str(store_path), consolidated=False)
    assert ds["dataset"].values.tolist() == ["sim-000", "sim-001"]
    assert ds["param"].values.tolist() == ["theta", "mu", "sigma"]
    assert ds["start"].values.tolist() == list(range(6))
    assert ds["iter"].values.tolist() == list(range(101))  # maxiter 100 + the start row
    assert ds["chunk"].values.tolist() == [0, 1]
    assert dict(zip(ds["status_name"].values.tolist(), ds["status_code"].values.tolist())) \
        == STATUS_CODES
    assert {"dataset", "param", "start", "iter", "chunk", "status_code", "status_name"} \
        <= set(ds.coords)
    assert "status_name" not in ds.data_vars  # a coordinate, through the CF attribute


def test_labelled_selection_round_trips_the_store_values(store_path: Path) -> None:
    ds = xr.open_zarr(str(store_path), consolidated=False)
    store = Store.open(store_path)
    arrays = store.read_dataset(1)
    np.testing.assert_array_equal(ds.x.sel(dataset="sim-001").values, arrays.x)
    assert float(ds.x.sel(dataset="sim-001", param="mu", start=4)) == arrays.x[4, 1]
    np.testing.assert_array_equal(ds.message.sel(dataset="sim-001").values, arrays.message)
    converged = ds.status == STATUS_CODES["converged"]
    best = ds.fun.where(converged).argmin("start").values
    assert best.tolist() == [int(np.nanargmin(np.where(store.read_dataset(d).converged,
                                                        store.read_dataset(d).fun, np.nan)))
                             for d in range(2)]
    trace = store.read_trace(0, 3)
    assert trace is not None
    np.testing.assert_array_equal(
        ds.trace_f.sel(dataset="sim-000", start=3).isel(iter=slice(0, len(trace.f))).values,
        trace.f)


def test_a_store_without_coordinate_arrays_still_opens_labelled(store_path: Path,
                                                                tmp_path: Path) -> None:
    """A store made before the coordinate arrays (format 2 still): readers keep working, and
    SweepResults.to_xarray labels it from its attributes."""
    old = tmp_path / "old.zarr"
    shutil.copytree(store_path, old)
    for name in ("dataset", "param", "start", "chunk", "iter", "status_code", "status_name"):
        shutil.rmtree(old / name)
    bare = xr.open_zarr(str(old), consolidated=False)
    assert "dataset" not in bare.coords
    results = open_results(old)
    ds = results.to_xarray()
    assert ds["dataset"].values.tolist() == ["sim-000", "sim-001"]
    assert ds["param"].values.tolist() == ["theta", "mu", "sigma"]
    assert [b.dataset for b in results.selection()] == ["sim-000", "sim-001"]
