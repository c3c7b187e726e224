"""A sweep store as one self-contained HTML page (`calib report STORE -o report.html`).

The page holds the spec, the status counts, each dataset's best point with its standard errors
(when the spec declares ``[model] kind``), the plots of `jobs.plots` as inline base64 PNG images
(a note instead when matplotlib or `jobs.plots` is missing) and the failed starts grouped by
reason.  It links nothing outside itself: no scripts, style sheets, fonts or images by URL.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calib.errors import CalibError

from .report import format_number
from .store import Store

__all__ = ["FailureGroup", "PlotImage", "failure_groups", "plot_images", "report_html",
           "spec_text",
           "SECTION_IDS", "PLOT_KINDS"]

#: the ``id`` of each section of the page, in order
SECTION_IDS = ("spec", "status", "best", "plots", "failures")
#: the plots the page shows, in order (`jobs.plots` kinds)
PLOT_KINDS = ("waterfall", "traces", "params", "minima")
#: example starts listed per failure reason
_EXAMPLES = 5

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:90em;color:#222;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #446;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;color:#335}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccd;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#eef}td.name,th.name{text-align:left}
pre{background:#f6f6f9;border:1px solid #dde;padding:.8em;overflow-x:auto;font-size:.85em}
.note{color:#664;background:#fff8e0;border-left:4px solid #db4;padding:.4em .8em}
.wide{overflow-x:auto}.warn{color:#933}figure{margin:1em 0}img{max-width:100%;border:1px solid #dde}
"""


@dataclass(frozen=True)
class FailureGroup:
    """Failed (or timed-out) starts that ended with the same message.

    ``reason`` is the message's first line; ``starts`` lists (dataset name, start index) of the
    first few (`_EXAMPLES`) of ``count`` starts.
    """

    reason: str
    status: str
    count: int
    datasets: tuple[str, ...]
    starts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PlotImage:
    """One rendered plot: its kind, a caption and the PNG bytes."""

    kind: str
    caption: str
    png: bytes


def _reason(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return first[:300]


def failure_groups(store: Store) -> list[FailureGroup]:
    """The failed and timed-out starts of every dataset grouped by status and reason, the
    largest group first."""
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for d, name in enumerate(store.layout.datasets):
        arrays = store.read_dataset(d)
        for i in np.flatnonzero(arrays.failed):
            key = (str(arrays.status_of(int(i))), _reason(str(arrays.message[i])))
            found.setdefault(key, []).append((name, int(i)))
    groups = [FailureGroup(reason=reason, status=status, count=len(starts),
                           datasets=tuple(dict.fromkeys(n for n, _ in starts)),
                           starts=tuple(starts[:_EXAMPLES]))
              for (status, reason), starts in found.items()]
    return sorted(groups, key=lambda g: (-g.count, g.status, g.reason))


def plot_images(store: Store, render: Callable[[Store, str], bytes] | None = None, *,
                rows: Sequence[dict[str, Any]] | None = None) -> tuple[list[PlotImage],
                                                                     list[str]]:
    """Each `PLOT_KINDS` plot of ``store`` as PNG bytes, and notes for those that could not be
    drawn (matplotlib or `jobs.plots` missing, or a plot that failed: the note says why).

    ``render(store, kind) -> PNG bytes`` defaults to `jobs.plots.plot_figure` drawn from the
    selection ``rows`` (those of `report_html`, standard errors included when it has them).
    """
    if render is None:
        try:
            importlib.import_module("matplotlib")
        except ImportError:
            return [], ["plots left out: matplotlib is not installed "
                        "(pip install 'calib[plot]')"]
        try:
            plots = importlib.import_module("jobs.plots")
        except ImportError as exc:
            return [], [f"plots left out: jobs.plots could not be imported ({exc})"]
        render = _jobs_plots_renderer(plots, rows)
    images, notes = [], []
    for kind in PLOT_KINDS:
        try:
            images.append(PlotImage(kind=kind, caption=_CAPTIONS[kind], png=render(store, kind)))
        except (CalibError, ValueError, TypeError, KeyError) as exc:
            notes.append(f"plot {kind!r} left out: {' '.join(str(exc).split())}")
    return images, notes


_CAPTIONS = {
    "waterfall": "Waterfall: final objective of every start, sorted, per dataset; verified "
                 "minima marked",
    "traces": "Convergence: objective against iteration, per dataset",
    "params": "End points of the first dataset's starts, coloured by the verified minimum "
              "they reached",
    "minima": "Best parameters across datasets with standard errors",
}


def _jobs_plots_renderer(plots: Any, rows: Sequence[dict[str, Any]] | None
                         ) -> Callable[[Store, str], bytes]:
    """``render(store, kind)``: `jobs.plots.plot_figure` saved as a 100 dpi PNG."""
    def render(store: Store, kind: str) -> bytes:
        figure = plots.plot_figure(store, kind, rows=rows)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()
    return render


def spec_text(spec: dict[str, Any]) -> str:
    """The stored spec one field a line (``[table] key = JSON value``; a list of tables, such
    as the parameters, one entry a line), sorted by table and key."""
    lines = []
    for table in sorted(spec):
        value = spec[table]
        if isinstance(value, dict):
            lines += [f"[{table}] {key} = {json.dumps(value[key], sort_keys=True)}"
                      for key in sorted(value)]
        elif isinstance(value, list):
            lines += [f"[{table}] {json.dumps(item, sort_keys=True)}" for item in value]
        else:
            lines.append(f"[{table}] = {json.dumps(value, sort_keys=True)}")
    return "\n".join(lines)


# -- HTML pieces --------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, names: int = 1) -> str:
    def cell(tag: str, i: int, value: Any) -> str:
        cls = ' class="name"' if i < names else ""
        return f"<{tag}{cls}>{_e(format_number(value))}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{_e(title)}</h2>{body}</section>'


def _status_body(status: Sequence[dict[str, Any]]) -> str:
    keys = ["dataset", "converged", "not_converged", "failed", "pending", "chunks"]
    rows = [[r[k] for k in keys] for r in status]
    totals = ["all", *(sum(int(r[k]) for r in status) for k in keys[1:5]), ""]
    return _table(keys, [*rows, totals])


def _estimate(row: dict[str, Any], name: str) -> str:
    value = (row["params"] or {}).get(name)
    se = (row.get("std_errors") or {}).get(name)
    if value is None:
        return "-"
    if name in (row.get("fixed") or []):
        return f"{format_number(value)} (fixed)"
    return f"{format_number(value)} ± {format_number(se)}" if se is not None else format_number(value)


def _best_body(rows: Sequence[dict[str, Any]], parameters: Sequence[str],
               errors_note: str | None) -> str:
    with_errors = errors_note is None
    header = ["dataset", "fun", *parameters, *(["aic", "bic"] if with_errors else []),
              "start", "n_minima", "hits", "premature"]
    body = [[r["dataset"], r["fun"], *(_estimate(r, p) for p in parameters),
             *([r.get("aic"), r.get("bic")] if with_errors else []),
             r["start"], r["n_minima"], r["hits"], r.get("n_premature")] for r in rows]
    text = _table(header, body)
    if errors_note is None:
        text = "<p>Estimates ± standard errors from the Hessian at the best point.</p>" + text
    else:
        text += _note(errors_note)
    warnings = [f"{r['dataset']}: {w}" for r in rows
                for w in (r.get("warnings") or ([r["warning"]] if r.get("warning") else []))]
    warnings += [f"{r['dataset']}: {r['hessian_message']}" for r in rows
                 if with_errors and r["params"] is not None and not r.get("hessian_pd")]
    if warnings:
        text += "<ul>" + "".join(f'<li class="warn">{_e(w)}</li>' for w in warnings) + "</ul>"
    return text


def _plots_body(images: Sequence[PlotImage], notes: Sequence[str]) -> str:
    figures = "".join(
        f'<figure id="plot-{_e(i.kind)}"><img alt="{_e(i.kind)} plot" '
        f'src="data:image/png;base64,{base64.b64encode(i.png).decode("ascii")}">'
        f"<figcaption>{_e(i.caption)}</figcaption></figure>" for i in images)
    return figures + "".join(_note(n) for n in notes)


def _failures_body(groups: Sequence[FailureGroup]) -> str:
    if not groups:
        return "<p>No start failed or timed out.</p>"
    rows = [[g.reason, g.status, g.count, ", ".join(g.datasets),
             ", ".join(f"{d}#{s}" for d, s in g.starts) + (" …" if g.count > len(g.starts)
                                                         else "")] for g in groups]
    return _table(["reason", "status", "starts", "datasets", "examples"], rows, names=1)


def _best_rows(store: Store) -> tuple[list[dict[str, Any]], str | None]:
    """The selection rows with standard errors, or without and a note saying why."""
    from .report import with_standard_errors
    from .selection import selection_rows, stored_selection

    rows = stored_selection(store) or selection_rows(store)
    if store.sweep_spec.model.objective_kind is None:
        return rows, ("No standard errors: the spec does not declare [model] kind "
                      "(\"nll\" or \"sse\"), so the Hessian cannot be turned into errors.")
    try:
        return with_standard_errors(store, rows), None
    except CalibError as exc:  # the data or the objective module cannot be loaded here
        return rows, f"No standard errors: {' '.join(str(exc).split())}"


def report_html(store: Store, *, title: str | None = None,
                render: Callable[[Store, str], bytes] | None = None) -> str:
    """The whole report page of ``store`` as one HTML document (UTF-8 text).

    ``render(store, kind) -> PNG bytes`` draws the plots (default: `jobs.plots`, see
    `plot_images`).  Raises what `Store.require_intact` raises for damaged chunks.
    """
    from .report import status_rows

    store.require_intact(("x", "fun", "status", "message"))
    spec = store.spec
    name = str(spec.get("sweep", {}).get("name", store.path.name))
    status = status_rows(store)
    rows, errors_note = _best_rows(store)
    images, notes = plot_images(store, render, rows=rows)
    done = store.done_chunks()
    sections = [
        _section("spec", "Spec", f"<pre>{_e(spec_text(spec))}</pre>"),
        _section("status", "Status", f"<p>{int(done.sum())} of {done.size} tasks done.</p>"
                 + _status_body(status)),
        _section("best", "Best point per dataset",
                 _best_body(rows, store.sweep_spec.parameter_names, errors_note)),
        _section("plots", "Plots", _plots_body(images, notes)),
        _section("failures", "Failures by reason", _failures_body(failure_groups(store))),
    ]
    heading = title or f"calib sweep {name}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(heading)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{_e(heading)}</h1><p>Store <code>{_e(store.path)}</code>; "
            f"{len(store.layout.datasets)} datasets × {store.layout.n_starts} starts.</p>" + "".join(sections) + "</body></html>\n")
