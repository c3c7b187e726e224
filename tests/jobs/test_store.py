"""The sweep store (`jobs.store`): create/open, resume or refuse, chunk writes and the completion
marker, partial chunks, trace truncation, strings, xarray, and JSON-only metadata."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import zarr

from calib.run import StartOutcome
from jobs.errors import StoreConflictError, StoreCorruptError
from jobs.report import show_text, trace_text
from jobs.store import STATUS_CODES, StartStatus, Store, StoreLayout
from solvers import TraceArrays

PARAMS = ("theta", "mu")
SPEC = {"sweep": {"name": "store-test", "seed": 1}, "model": {"builtin": "ou"}}

#: the documented dimension names of every array (docs/store.md)
DIMS = {
    "x0": ("dataset", "start", "param"), "x": ("dataset", "start", "param"),
    "fun": ("dataset", "start"), "success": ("dataset", "start"),
    "status": ("dataset", "start"), "message": ("dataset", "start"),
    "nit": ("dataset", "start"), "nfev": ("dataset", "start"),
    "seconds": ("dataset", "start"), "trace_len": ("dataset", "start"),
    "chunk_digest": ("dataset", "chunk"),
    "chunk_done": ("dataset", "chunk"),
    "trace_f": ("dataset", "start", "iter"), "trace_grad": ("dataset", "start", "iter"),
    "trace_nfev": ("dataset", "start", "iter"),
    "trace_x": ("dataset", "start", "iter", "param"),
}
#: the coordinate arrays (labels of the dimensions; tests/jobs/test_xarray_coords.py)
COORDS = {"dataset": ("dataset",), "param": ("param",), "start": ("start",),
          "chunk": ("chunk",), "iter": ("iter",), "status_code": ("status_code",),
          "status_name": ("status_code",)}


def layout(n_starts: int = 5, per_task: int = 2, trace_length: int = 4) -> StoreLayout:
    return StoreLayout(datasets=("alpha", "beta"), parameters=PARAMS, n_starts=n_starts,
                       starts_per_task=per_task, trace_length=trace_length)


def create(path: Path, lay: StoreLayout | None = None, spec_hash: str = "a" * 64,
           **kwargs: bool) -> Store:
    return Store.create(path, lay or layout(), spec=SPEC, spec_hash=spec_hash,
                        engine_version="9.9.9", **kwargs)


def outcome(start: int, *, trace_rows: int | None = 3, status: str = "converged",
            message: str = "ok", seed: int = 0) -> StartOutcome:
    """A made-up outcome of ``start`` with a trace of ``trace_rows`` iterations (None: none)."""
    rng = np.random.default_rng([seed, start])
    trace = None
    if trace_rows is not None:
        trace = TraceArrays(x=rng.normal(size=(trace_rows, len(PARAMS))),
                            f=np.linspace(10.0, 1.0, trace_rows) + start,
                            grad_norm=np.geomspace(1.0, 1e-6, trace_rows),
                            nfev=np.arange(1, trace_rows + 1, dtype=np.int64) * 3)
    return StartOutcome(dataset="alpha", start=start, x0=rng.uniform(size=2),
                        x=rng.normal(size=2), fun=float(start) + 0.5,
                        success=status == "converged", status=StartStatus(status),
                        message=message,
                        nit=7 + start, nfev=20 + start, seconds=0.01 * (start + 1), trace=trace)


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- create / open ---------------------------------------------------------------------------
def test_create_open_round_trip(tmp_path: Path) -> None:
    lay = layout()
    made = create(tmp_path / "s.zarr", lay)
    opened = Store.open(tmp_path / "s.zarr")
    assert opened.layout == made.layout == lay
    assert opened.spec == SPEC
    assert opened.spec_hash == "a" * 64
    attrs = opened.group.attrs.asdict()
    assert attrs["engine_version"] == "9.9.9"
    assert attrs["status_codes"] == STATUS_CODES
    assert attrs["datasets"] == ["alpha", "beta"] and attrs["parameters"] == list(PARAMS)
    assert lay.n_chunks == 3 and opened.done_chunks().shape == (2, 3)
    assert not opened.done_chunks().any()
    # fresh arrays hold their fill values: pending, NaN, -1
    arrays = opened.read_dataset(1)
    assert np.all(arrays.status == STATUS_CODES["pending"])
    assert np.isnan(arrays.fun).all() and np.isnan(arrays.x).all()
    assert np.all(arrays.nit == -1) and np.all(arrays.trace_len == -1)
    assert arrays.x.shape == (5, 2) and arrays.fun.shape == (5,)


def test_open_read_only_refuses_writes(tmp_path: Path) -> None:
    create(tmp_path / "s.zarr")
    with pytest.raises(ValueError):
        Store.open(tmp_path / "s.zarr").write_chunk(0, 0, [outcome(0), outcome(1)])


def test_create_same_spec_reopens_to_resume(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr")
    store.write_chunk(0, 1, [outcome(2), outcome(3)])
    before = hashes(tmp_path / "s.zarr")
    again = create(tmp_path / "s.zarr")
    assert hashes(tmp_path / "s.zarr") == before  # nothing rewritten
    assert again.done_chunks().tolist() == [[False, True, False], [False, False, False]]
    np.testing.assert_array_equal(again.read_dataset(0).fun[2:4], [2.5, 3.5])


def test_create_other_spec_raises_and_changes_nothing(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr")
    store.write_chunk(0, 0, [outcome(0), outcome(1)])
    before = hashes(tmp_path / "s.zarr")
    with pytest.raises(StoreConflictError, match="holds a different sweep.*--overwrite"):
        create(tmp_path / "s.zarr", spec_hash="b" * 64)
    assert hashes(tmp_path / "s.zarr") == before


def test_create_same_spec_other_data_raises(tmp_path: Path) -> None:
    # the same spec whose glob now matches other files: resuming would mix two data sets
    create(tmp_path / "s.zarr")
    before = hashes(tmp_path / "s.zarr")
    other = StoreLayout(datasets=("alpha", "gamma"), parameters=PARAMS, n_starts=5,
                        starts_per_task=2, trace_length=4)
    with pytest.raises(StoreConflictError, match="other data.*'gamma'"):
        create(tmp_path / "s.zarr", other)
    assert hashes(tmp_path / "s.zarr") == before


def test_create_other_spec_with_overwrite_replaces(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr")
    store.write_chunk(0, 0, [outcome(0), outcome(1)])
    replaced = create(tmp_path / "s.zarr", layout(n_starts=3, per_task=3), spec_hash="b" * 64,
                      overwrite=True)
    reopened = Store.open(tmp_path / "s.zarr")
    assert replaced.spec_hash == reopened.spec_hash == "b" * 64
    assert reopened.layout.n_starts == 3 and reopened.done_chunks().shape == (2, 1)
    assert not reopened.done_chunks().any()
    assert np.isnan(reopened.read_dataset(0).fun).all()


@pytest.mark.parametrize("overwrite", [False, True])
def test_create_refuses_a_foreign_directory(tmp_path: Path, overwrite: bool) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.txt").write_text("precious")
    with pytest.raises(StoreConflictError, match="not a calib store"):
        create(target, overwrite=overwrite)
    assert (target / "thesis.txt").read_text() == "precious"
    assert sorted(p.name for p in target.iterdir()) == ["thesis.txt"]


def test_create_in_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "s.zarr").mkdir()
    create(tmp_path / "s.zarr")
    assert Store.open(tmp_path / "s.zarr").layout == layout()


def test_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreCorruptError, match="is a file"):
        create(tmp_path / "f")
    with pytest.raises(StoreCorruptError, match="is a file"):
        Store.open(tmp_path / "f")
    with pytest.raises(StoreCorruptError, match="which is a file"):
        create(tmp_path / "f" / "s.zarr")
    assert (tmp_path / "f").read_text() == "x"


def test_open_refuses_what_is_not_a_calib_store(tmp_path: Path) -> None:
    with pytest.raises(StoreCorruptError, match="no store at"):
        Store.open(tmp_path / "missing.zarr")
    zarr.open_group(str(tmp_path / "g.zarr"), mode="w").attrs["x"] = 1
    with pytest.raises(StoreCorruptError, match="not a calib sweep store"):
        Store.open(tmp_path / "g.zarr")


# -- writing chunks --------------------------------------------------------------------------
def test_write_chunk_then_done_chunks(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr")
    outs = [outcome(2), outcome(3, status="failed", message="ValueError: boom")]
    store.write_chunk(1, 1, outs)
    assert store.done_chunks().tolist() == [[False, False, False], [False, True, False]]
    arrays = Store.open(tmp_path / "s.zarr").read_dataset(1)
    for name in ("x0", "x"):
        np.testing.assert_array_equal(getattr(arrays, name)[2:4], np.stack([getattr(o, name) for o in outs]))
    np.testing.assert_array_equal(arrays.fun[2:4], [2.5, 3.5])
    assert arrays.status[2:4].tolist() == [STATUS_CODES["converged"], STATUS_CODES["failed"]]
    assert arrays.success[2:4].tolist() == [True, False]
    assert arrays.message[2:4].tolist() == ["ok", "ValueError: boom"]
    assert arrays.nit[2:4].tolist() == [9, 10] and arrays.nfev[2:4].tolist() == [22, 23]
    np.testing.assert_allclose(arrays.seconds[2:4], [0.03, 0.04])
    assert arrays.trace_len[2:4].tolist() == [3, 3]
    # the other starts (and the other dataset) are untouched
    assert np.all(arrays.status[[0, 1, 4]] == STATUS_CODES["pending"])
    assert np.all(store.read_dataset(0).status == STATUS_CODES["pending"])


def test_rewriting_a_chunk_is_idempotent(tmp_path: Path) -> None:
    # a task may run twice (a worker died after it wrote): the second write changes nothing
    store = create(tmp_path / "s.zarr")
    outs = [outcome(0), outcome(1)]
    store.write_chunk(0, 0, outs)
    first = hashes(tmp_path / "s.zarr")
    store.write_chunk(0, 0, outs)
    assert hashes(tmp_path / "s.zarr") == first


def test_partial_last_chunk(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr", layout(n_starts=5, per_task=2))
    assert store.layout.chunk_slice(2) == slice(4, 5)
    with pytest.raises(ValueError, match="chunk 2 needs 1 outcomes, got 2"):
        store.write_chunk(0, 2, [outcome(4), outcome(5)])
    assert not store.done_chunks().any()
    store.write_chunk(0, 2, [outcome(4)])
    assert store.done_chunks()[0].tolist() == [False, False, True]
    arrays = store.read_dataset(0)
    assert arrays.fun[4] == 4.5 and np.isnan(arrays.fun[:4]).all()
    assert store.read_trace(0, 4).f.tolist() == [14.0, 9.5, 5.0]


def test_chunk_marker_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a task killed half-way (here: after its result and trace arrays, before status) leaves
    # its chunk marked not done
    store = create(tmp_path / "s.zarr")
    write_together = Store._write_together

    def die(self: Store, *args: Any) -> None:
        write_together(self, *args)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(Store, "_write_together", die)
    with pytest.raises(KeyboardInterrupt):
        store.write_chunk(0, 0, [outcome(0), outcome(1)])
    reopened = Store.open(tmp_path / "s.zarr")
    assert not reopened.done_chunks().any()
    assert np.all(reopened.read_dataset(0).status == STATUS_CODES["pending"])
    assert not np.isnan(reopened.read_dataset(0).fun[:2]).any()  # it had started writing


# -- traces ------------------------------------------------------------------------------------
def test_traces_are_padded_truncated_and_keep_their_true_length(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr", layout(trace_length=4))
    outs = [outcome(0, trace_rows=7), outcome(1, trace_rows=2)]
    store.write_chunk(0, 0, outs)
    assert store.read_dataset(0).trace_len[:2].tolist() == [7, 2]
    long = store.read_trace(0, 0)
    assert int(long.length) == 7
    assert long.f.shape == (4,) and long.x.shape == (4, 2)
    np.testing.assert_array_equal(long.f, outs[0].trace.f[:4])
    np.testing.assert_array_equal(long.x, outs[0].trace.x[:4])
    np.testing.assert_array_equal(long.grad_norm, outs[0].trace.grad_norm[:4])
    np.testing.assert_array_equal(long.nfev, outs[0].trace.nfev[:4])
    assert "trace truncated: 7 iterations, first 4 stored" in trace_text(long, PARAMS)
    short = store.read_trace(0, 1)
    np.testing.assert_array_equal(short.f, outs[1].trace.f)
    assert "truncated" not in trace_text(short, PARAMS)
    # padding: NaN for floats, -1 for the evaluation counts
    raw_f = np.asarray(store.group["trace_f"][0, 1])
    assert np.isnan(raw_f[2:]).all()
    assert np.asarray(store.group["trace_nfev"][0, 1])[2:].tolist() == [-1, -1]


def test_no_trace_and_traces_off(tmp_path: Path) -> None:
    store = create(tmp_path / "s.zarr")
    store.write_chunk(0, 0, [outcome(0, trace_rows=None), outcome(1)])
    assert store.read_trace(0, 0) is None
    assert store.read_trace(0, 1) is not None
    assert store.read_trace(0, 4) is None  # pending
    off = create(tmp_path / "off.zarr", layout(trace_length=0))
    assert not any(name.startswith("trace_") and name != "trace_len"
                   for name in off.group.array_keys())
    off.write_chunk(0, 0, [outcome(0), outcome(1)])
    assert off.read_trace(0, 0) is None
    assert off.read_dataset(0).trace_len[:2].tolist() == [-1, -1]


def test_messages_of_different_lengths(tmp_path: Path) -> None:
    messages = ["", "x", "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH",
                "ünïcödé — " * 60, "line one\nline two"]
    store = create(tmp_path / "s.zarr", layout(n_starts=5, per_task=5))
    store.write_chunk(1, 0, [outcome(i, message=m) for i, m in enumerate(messages)])
    assert Store.open(tmp_path / "s.zarr").read_dataset(1).message.tolist() == messages


# -- readers other than ours -----------------------------------------------------------------
def _filled(path: Path) -> Store:
    store = create(path)
    store.write_chunk(0, 0, [outcome(0), outcome(1, trace_rows=6)])
    store.write_chunk(1, 2, [outcome(4, message="a longer message")])
    return store


def test_xarray_reads_the_store_with_the_documented_dimensions(tmp_path: Path) -> None:
    store = _filled(tmp_path / "s.zarr")
    ds = xr.open_zarr(str(tmp_path / "s.zarr"), consolidated=False)
    assert set(ds.data_vars) == set(DIMS)
    for name, dims in DIMS.items():
        assert ds[name].dims == dims, name
        np.testing.assert_array_equal(ds[name].values, np.asarray(store.group[name][...]),
                                      err_msg=name)
    assert ds.sizes == {"dataset": 2, "start": 5, "param": 2, "iter": 4, "chunk": 3,
                        "status_code": 5}
    assert ds["message"].values[1, 4] == "a longer message"
    assert ds.attrs["spec_hash"] == "a" * 64 and ds.attrs["datasets"] == ["alpha", "beta"]


def test_zarr_alone_reads_the_store(tmp_path: Path) -> None:
    _filled(tmp_path / "s.zarr")
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert set(group.array_keys()) == set(DIMS) | set(COORDS)
    for name, dims in {**DIMS, **COORDS}.items():
        assert tuple(group[name].metadata.dimension_names) == dims, name
    chunks = {name: group[name].chunks for name in ("x", "fun", "chunk_done", "trace_x")}
    assert chunks == {"x": (1, 2, 2), "fun": (1, 2), "chunk_done": (1, 1), "trace_x": (1, 2, 4, 2)}


def test_metadata_is_json_and_nothing_is_pickled(tmp_path: Path) -> None:
    _filled(tmp_path / "s.zarr")
    Store.open(tmp_path / "s.zarr", mode="r+").write_selection(
        [{"dataset": "alpha", "fun": np.float64(0.5), "params": {"theta": 1.0, "mu": 2.0},
          "start": 0, "n_minima": 1, "hits": 2, "success": True, "warning": None}])
    metadata = sorted((tmp_path / "s.zarr").rglob("zarr.json"))
    assert len(metadata) == 1 + len(DIMS) + len(COORDS)
    for path in metadata:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)  # plain JSON, every one
        assert "pickle" not in text.lower(), path
        if doc["node_type"] == "array":
            assert doc["data_type"] in {"float64", "int8", "int32", "int64", "bool", "string"}
            assert {c["name"] for c in doc["codecs"]} <= {"bytes", "zstd", "vlen-utf8",
                                                          "transpose"}, path
    root = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())
    attrs = root["attributes"]
    assert attrs["spec"] == SPEC
    assert attrs["selection"][0]["fun"] == 0.5 and attrs["selection"][0]["params"]["mu"] == 2.0
    assert not [p for p in (tmp_path / "s.zarr").rglob("*") if p.suffix in (".pkl", ".pickle")]



@pytest.mark.parametrize("spread, bars", [(4e-15, ["#"] * 3), (1.0, ["#", "#" * 16, "#" * 31])])
def test_show_waterfall_bars(tmp_path: Path, spread: float, bars: list[str]) -> None:
    # objective values equal up to rounding get equal bars; a real spread is scaled to 30
    store = create(tmp_path / "s.zarr", layout(n_starts=3, per_task=3))
    store.write_chunk(0, 0, [dataclasses.replace(outcome(i), fun=3.0 + i * spread)
                             for i in range(3)])
    lines = show_text(store, 0).splitlines()[2:]
    assert [line.split()[0] for line in lines] == ["0", "1", "2"]
    assert [line.split()[6] for line in lines] == bars  # after start fun status minimum nit nfev
