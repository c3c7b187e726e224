"""A store knows when it is damaged (issue 10, item 4).

One real ``calib run`` (a subprocess on the embedded cluster) makes a pristine store; each test
damages a copy of it: a deleted chunk file, a truncated one and a bit-flipped one.  Every
reading command then exits 2 with one line naming exactly the damaged chunks it reads,
``calib verify`` names them all, and a ``calib run`` of the same spec recomputes only those
chunks, giving back the pristine arrays bit for bit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner, Result

from jobs.cli import main
from jobs.errors import StoreDamagedError
from jobs.integrity import chunk_digests, parse_digests, value_digest
from jobs.store import Store

from .conftest import (STORE_LINE, assert_arrays_equal, calib_cli, ou_sweep_tables, read_arrays,
                       write_spec)

#: (array, dataset, chunk) of the three damaged chunk files, and how each is damaged
DELETED = ("fun", 1, 1)
TRUNCATED = ("x", 0, 0)
FLIPPED = ("status", 1, 0)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished store of the small OU sweep (2 datasets x 2 chunks), made by `calib run`."""
    root = tmp_path_factory.mktemp("pristine")
    write_spec(root, ou_sweep_tables("damage"))
    done = calib_cli(["run", "sweep.toml", "--store", "s.zarr", "--workers", "2"], root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the pristine project (spec file and store) to damage."""
    target = tmp_path / "project"
    shutil.copytree(pristine, target, ignore=shutil.ignore_patterns(".dask-scratch"))
    return target


def _chunk_file(store: Path, array: str, dataset: int, chunk: int) -> Path:
    path = store / array / "c" / str(dataset) / str(chunk)
    if path.is_dir():  # arrays with a third axis: the first piece along it
        path = sorted(p for p in path.rglob("*") if p.is_file())[0]
    assert path.is_file(), f"no chunk file {path}"
    return path


def damage(store: Path) -> None:
    """Delete, truncate and bit-flip one chunk file each (see DELETED, TRUNCATED, FLIPPED)."""
    _chunk_file(store, *DELETED).unlink()
    truncated = _chunk_file(store, *TRUNCATED)
    truncated.write_bytes(truncated.read_bytes()[:5])
    flipped = _chunk_file(store, *FLIPPED)
    data = bytearray(flipped.read_bytes())
    data[-1] ^= 0x01
    flipped.write_bytes(bytes(data))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("calib: error: "), lines[0]
    return lines[0]


def test_verify_passes_on_the_pristine_store(project: Path) -> None:
    result = invoke("verify", str(project / "s.zarr"))
    assert result.exit_code == 0, result.output
    assert "4 of 4 chunks done, all intact" in result.output


def test_verify_names_every_damaged_chunk_and_nothing_else(project: Path) -> None:
    damage(project / "s.zarr")
    line = error_line(invoke("verify", str(project / "s.zarr")))
    assert "3 chunk(s) fail their checksums" in line
    for part in ("sim-001 chunk 1 (fun)", "sim-000 chunk 0 (x)", "sim-001 chunk 0 (status)"):
        assert part in line, line
    assert "sim-000 chunk 1" not in line


@pytest.mark.parametrize(("args", "named", "not_named"), [
    (("status",), ["sim-001 chunk 0 (status)"], ["(fun)", "(x)"]),
    (("best",), ["sim-001 chunk 1 (fun)", "sim-000 chunk 0 (x)", "sim-001 chunk 0 (status)"],
     []),
    (("best", "--json"), ["sim-000 chunk 0 (x)"], []),
    (("best", "--csv"), ["sim-000 chunk 0 (x)"], []),
    (("show", "--dataset", "sim-000"), ["sim-000 chunk 0 (x)"], ["sim-001"]),
    (("trace", "--dataset", "sim-001", "--start", "4"), ["sim-001 chunk 1 (fun)"], ["sim-000"]),
])
def test_each_reading_command_refuses_the_damaged_chunks_it_reads(
        project: Path, args: tuple[str, ...], named: list[str], not_named: list[str]) -> None:
    damage(project / "s.zarr")
    command, *rest = args
    line = error_line(invoke(command, str(project / "s.zarr"), *rest))
    for part in named:
        assert part in line, line
    for part in not_named:
        assert part not in line, line


def test_a_reader_of_intact_chunks_only_is_not_refused(project: Path) -> None:
    damage(project / "s.zarr")
    result = invoke("trace", str(project / "s.zarr"), "--dataset", "sim-000", "--start", "4")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:3] == ["iter", "fun", "grad_norm"]


def test_run_recomputes_exactly_the_damaged_chunks_bit_for_bit(project: Path,
                                                                pristine: Path) -> None:
    store = project / "s.zarr"
    damage(store)
    rerun = calib_cli(["run", "sweep.toml", "--store", "s.zarr", "--workers", "1"], project)
    assert rerun.returncode == 0, rerun.stderr
    line = STORE_LINE.search(rerun.stdout)
    assert line is not None and (line["run"], line["skipped"]) == ("3", "1"), rerun.stdout
    assert invoke("verify", str(store)).exit_code == 0
    assert_arrays_equal(read_arrays(store), read_arrays(pristine / "s.zarr"))


def test_a_chunk_without_a_recorded_digest_is_damaged(project: Path) -> None:
    store = project / "s.zarr"
    zarr.open_array(str(store / "chunk_digest"), mode="r+")[0, 1] = ""
    with pytest.raises(StoreDamagedError, match=r"sim-000 chunk 1 \(chunk_digest\)"):
        Store.open(store).require_intact()


def test_a_garbled_completion_marker_is_damaged(project: Path) -> None:
    store = project / "s.zarr"
    zarr.open_array(str(store / "chunk_done"), mode="r+")[1, 1] = 7
    damaged = Store.open(store).damaged_chunks()
    assert [(c.dataset, c.chunk, c.arrays) for c in damaged] == [(1, 1, ("chunk_done",))]


def test_intact_done_chunks_resets_the_markers_of_damaged_chunks(project: Path) -> None:
    store = project / "s.zarr"
    damage(store)
    intact = Store.open(store, mode="r+").intact_done_chunks()
    assert intact.tolist() == [[False, True], [False, False]]
    assert np.asarray(zarr.open_array(str(store / "chunk_done"))[:]).tolist() == [[0, 1], [0, 0]]


def test_an_edited_spec_attribute_is_refused_and_its_objective_never_imported(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored spec must hash to ``spec_hash``: `best --errors` rebuilds problems from it,
    so an edited spec naming some other code is refused before anything is imported."""
    marker = project / "imported.txt"
    (project / "planted.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef nll(x, data):\n    return 0.0\n")
    (project / "d.csv").write_text("v\n1.0\n2.0\n3.0\n")
    group = zarr.open_group(str(project / "s.zarr"), mode="r+")
    spec = dict(group.attrs["spec"])
    spec["model"] = {"objective": "planted:nll", "kind": "nll"}
    spec["data"] = {"files": "d.csv", "columns": ["v"], "base_dir": str(project)}
    group.attrs["spec"] = spec
    monkeypatch.chdir(project)  # where `planted` would import from
    line = error_line(invoke("best", str(project / "s.zarr"), "--errors"))
    assert "does not match its spec hash" in line
    assert not marker.exists()


def test_digests_are_of_values_so_nan_signs_do_not_matter() -> None:
    a = np.array([1.0, np.nan, 3.0])
    b = a.copy()
    b[1] = -np.nan
    assert value_digest(a) == value_digest(b)
    assert value_digest(a) != value_digest(np.array([1.0, np.nan, 3.5]))
    assert value_digest(np.array(["ab", "c"])) != value_digest(np.array(["a", "bc"]))
    assert parse_digests(chunk_digests({"x": a})) == {"x": value_digest(a)}
    assert parse_digests("not json") is None and parse_digests("") is None
