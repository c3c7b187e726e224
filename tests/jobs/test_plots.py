"""`calib plot` (jobs.plots): each kind renders a non-trivial PNG (Agg, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from matplotlib.image import imread

from jobs.cli import main
from jobs.plots import _offset_view, _spans_decades

from .api_store import finished_store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> Path:
    return finished_store(tmp_path_factory, dask_client)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def colours(path: Path) -> tuple[tuple[int, int], int, float]:
    """(height, width), distinct RGB colours, and the share of the most common colour."""
    pixels = (imread(str(path))[..., :3] * 255).round().astype(np.uint8)
    flat = pixels.reshape(-1, 3)
    _, counts = np.unique(flat, axis=0, return_counts=True)
    return pixels.shape[:2], len(counts), float(counts.max() / counts.sum())


@pytest.mark.parametrize("kind, extra", [
    ("waterfall", []), ("traces", []), ("traces", ["--by", "evaluations"]),
    ("params", ["--dataset", "sim-001"]), ("minima", ["--errors"]),
])
def test_each_kind_renders_a_non_trivial_png(store_path: Path, tmp_path: Path, kind: str,
                                             extra: list[str]) -> None:
    out = tmp_path / f"{kind}.png"
    done = invoke("plot", str(store_path), "--kind", kind, "-o", str(out), *extra)
    assert done.exit_code == 0, done.output
    assert done.output == f"wrote {out}\n"
    (height, width), n_colours, background = colours(out)
    assert height >= 300 and width >= 400
    assert n_colours >= 20  # lines, markers, text anti-aliasing: not one or two colours
    assert background < 0.97  # not (almost) all white
    # the minimum colours are there: matplotlib's C0 (blue) at least
    pixels = (imread(str(out))[..., :3] * 255).round().astype(int)
    c0 = np.array([31, 119, 180])
    assert (np.abs(pixels - c0).sum(axis=-1) < 30).sum() > 20


def test_minima_with_errors_differs_from_without(store_path: Path, tmp_path: Path) -> None:
    for name, extra in (("plain", []), ("errors", ["--errors"])):
        assert invoke("plot", str(store_path), "--kind", "minima", "-o",
                      str(tmp_path / f"{name}.png"), *extra).exit_code == 0
    assert (tmp_path / "plain.png").read_bytes() != (tmp_path / "errors.png").read_bytes()


def test_bad_plot_options_are_one_line(store_path: Path, tmp_path: Path) -> None:
    done = invoke("plot", str(store_path), "--kind", "params", "--dataset", "nope", "-o",
                  str(tmp_path / "p.png"))
    assert done.exit_code == 2 and "'nope' is not in the store" in done.output
    assert not (tmp_path / "p.png").exists()
    assert invoke("plot", str(store_path), "--kind", "pie", "-o",
                  str(tmp_path / "p.png")).exit_code == 2


def test_log_scale_rules() -> None:
    assert _spans_decades([1.0, 50.0, 250.0]) and not _spans_decades([1.0, 50.0])
    assert not _spans_decades([-1.0, 1e6])
    offset, best, floor = _offset_view([-300.0, -299.0, 1e4])
    assert offset and best == -300.0 and floor == pytest.approx(3e-10)
    assert _offset_view([1.0, 1e3])[0] is False
