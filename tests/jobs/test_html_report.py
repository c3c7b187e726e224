"""`calib report STORE -o report.html`: one self-contained HTML page, checked structurally.

Two small sweeps run once on the session cluster: the normal model (its kind is known, so the
best points carry standard errors) and a user objective that raises on some starts (no kind
declared: a note instead of errors; failures grouped by reason).  The page is parsed with
`html.parser`: every section is there, every image decodes as a PNG, nothing points outside
the page.  A real browser renders it in `deploy/check_report.sh` (docs/images/report.png).
"""

from __future__ import annotations

import base64
import io
import re
import struct
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from jobs.cli import main
from jobs.html_report import (PLOT_KINDS, SECTION_IDS, failure_groups, plot_images,
                              report_html)
from jobs.runner import run_sweep
from jobs.spec import load_spec
from jobs.store import Store
from tests.jobs.conftest import forget_module, write_csv, write_module, write_spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

FLAKY_MODULE = '''
def nll(params, data):
    """(a-1)^2 + (b-2)^2; raises for a > 5 and for a < -5 (two different reasons)."""
    a, b = params
    if a > 5:
        raise RuntimeError("too far right")
    if a < -5:
        raise ValueError("too far left")
    return float((a - 1.0) ** 2 + (b - 2.0) ** 2 + 0.0 * data[0, 0])
'''
# starts 0 and 1 raise "too far right", start 2 "too far left"; the rest converge
FLAKY_POINTS = [[8.0, 0.0], [7.0, 1.0], [-8.0, 1.0], [2.0, 3.0], [-1.0, -1.0], [3.0, 4.0]]


class PageParser(HTMLParser):
    """Collects section ids, image sources, every URL-valued attribute and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "section":
            self.sections.append(str(values.get("id")))
        if tag == "img":
            self.images.append(str(values.get("src")))
        self.urls += [str(v) for k, v in attrs if k in ("src", "href", "action", "data")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _render(store: Store, kind: str) -> bytes:
    """A small real matplotlib plot per kind (the report's default is `jobs.plots`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    for d in range(len(store.layout.datasets)):
        fun = store.read_dataset(d).fun
        ax.plot(np.sort(fun[np.isfinite(fun)]), marker="o")
    ax.set_title(kind)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    plt.close(fig)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, dask_client: Any) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("html-report")
    normal = write_spec(root, {
        "sweep": {"name": "report-normal", "seed": 5},
        "model": {"builtin": "normal"},
        "data": {"simulate": {"datasets": 2, "points": 200, "truth": {"mu": 1.0, "sigma": 0.5}}},
        "starts": {"n": 4, "sampler": "sobol"},
        "solver": {"method": "L-BFGS-B", "trace": True},
        "run": {"starts_per_task": 2},
    }, filename="normal.toml")
    run_sweep(load_spec(normal), str(root / "normal.zarr"), dask_client)
    module = "report_flaky"
    write_module(root, module, FLAKY_MODULE)
    rng = np.random.default_rng(2)
    write_csv(root / "data" / "one.csv", ["x", "y"], rng.normal(size=(10, 2)))
    flaky = write_spec(root, {
        "sweep": {"name": "report-flaky", "seed": 1},
        "model": {"objective": f"{module}:nll"},
        "parameters": {"a": {"lower": -10.0, "upper": 10.0}, "b": {"lower": -10.0, "upper": 10.0}},
        "data": {"files": "data/*.csv", "columns": ["x", "y"]},
        "starts": {"points": FLAKY_POINTS},
        "solver": {"method": "L-BFGS-B"},
        "run": {"starts_per_task": 3},
    }, filename="flaky.toml")
    with pytest.MonkeyPatch.context() as patch:  # the runner uploads the module from the cwd
        patch.chdir(root)
        try:
            run_sweep(load_spec(flaky), str(root / "flaky.zarr"), dask_client)
        finally:
            forget_module(module)
    return {"normal": root / "normal.zarr", "flaky": root / "flaky.zarr", "root": root}


def test_page_has_every_section_inline_png_images_and_no_external_url(
        stores: dict[str, Path]) -> None:
    page = report_html(Store.open(stores["normal"]), render=_render)
    parsed = _parse(page)
    assert parsed.sections == list(SECTION_IDS)
    assert len(parsed.images) == len(PLOT_KINDS)
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        width, height = _png_size(base64.b64decode(src.split(",", 1)[1], validate=True))
        assert width > 50 and height > 50
    assert all(url.startswith(("data:", "#")) for url in parsed.urls), parsed.urls
    assert not {"script", "link", "iframe", "object"} & set(parsed.tags)
    assert "http://" not in page and "https://" not in page and "url(" not in page


def test_best_section_carries_standard_errors_when_the_kind_is_known(
        stores: dict[str, Path]) -> None:
    store = Store.open(stores["normal"])
    text = " ".join(_parse(report_html(store, render=_render)).text)
    estimates = re.findall(r"[-\d.e+]+ ± [\d.e+-]+", text)
    assert len(estimates) == 2 * len(store.layout.datasets)  # mu and sigma per dataset
    assert "No standard errors" not in text
    assert "report-normal" in text  # the spec, shown whole
    assert "starts_per_task" in text


def test_undeclared_kind_gives_a_note_and_failures_are_grouped_by_reason(
        stores: dict[str, Path]) -> None:
    store = Store.open(stores["flaky"])
    groups = failure_groups(store)
    assert [(g.reason, g.status, g.count) for g in groups] == [
        ("RuntimeError: too far right", "failed", 2), ("ValueError: too far left", "failed", 1)]
    assert groups[0].starts == (("one", 0), ("one", 1))
    text = " ".join(_parse(report_html(store, render=_render)).text)
    assert "No standard errors: the spec does not declare [model] kind" in text
    assert "too far right" in text and "too far left" in text
    assert "±" not in text


def test_plots_section_says_why_when_matplotlib_is_missing(
        stores: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    images, notes = plot_images(Store.open(stores["normal"]))
    assert images == []
    assert notes == ["plots left out: matplotlib is not installed (pip install 'calib[plot]')"]
    parsed = _parse(report_html(Store.open(stores["normal"])))
    assert parsed.images == [] and parsed.sections == list(SECTION_IDS)
    assert "matplotlib is not installed" in " ".join(parsed.text)


def test_a_plot_that_fails_is_left_out_with_its_reason(stores: dict[str, Path]) -> None:
    def render(store: Store, kind: str) -> bytes:
        if kind == "traces":
            raise ValueError("no traces stored")
        return _render(store, kind)

    images, notes = plot_images(Store.open(stores["flaky"]), render)
    assert [i.kind for i in images] == ["waterfall", "params", "minima"]
    assert notes == ["plot 'traces' left out: no traces stored"]


def test_cli_writes_the_page(stores: dict[str, Path]) -> None:
    out = stores["root"] / "out" / "report.html"
    out.parent.mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["report", str(stores["normal"]), "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report: {out}"
    assert _parse(out.read_text(encoding="utf-8")).sections == list(SECTION_IDS)


def test_cli_on_a_path_that_is_not_a_store_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path / "missing.zarr"), "-o",
                                       str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert result.stderr.startswith("calib: error: no store at")
    assert not (tmp_path / "r.html").exists()
