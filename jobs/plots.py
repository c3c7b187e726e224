"""Plots of a sweep store (matplotlib, the ``plot`` extra): waterfall, traces, params, minima.

Each ``*_figure`` function returns a `matplotlib.figure.Figure` (no pyplot state: safe in
scripts, notebooks and threads); `save_plot` writes one to a file (PNG, SVG, PDF: by the
suffix).  Colours name the verified minima of the selection (`jobs.selection` rows' per-start
``labels``): minimum k is matplotlib's colour ``Ck``, an end point that is no verified minimum is
grey.  A y axis is logarithmic when its values are positive and span two decades or more;
convergence traces of an objective that is not positive everywhere show the distance to the
dataset's best value instead, on a log axis.  At most `MAX_PANELS` datasets are drawn (the title
says so when there are more).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from calib.status import StartStatus

from .errors import SpecError
from .export import MissingExtraError
from .store import Store

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PLOT_KINDS", "MAX_PANELS", "plot_figure", "save_plot", "waterfall_figure",
           "traces_figure", "params_figure", "minima_figure"]

#: the kinds `calib plot --kind` draws
PLOT_KINDS = ("waterfall", "traces", "params", "minima")
#: datasets drawn at most (one panel each)
MAX_PANELS = 12
#: end points that are no verified minimum
NO_MINIMUM_COLOUR = "0.6"

Row = Mapping[str, Any]


def _new_figure(n_panels: int, *, width: float = 4.2, height: float = 3.2,
                columns: int = 3) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` axes on a grid of at most ``columns`` columns."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("matplotlib", "plot", "plotting") from None
    cols = max(1, min(columns, n_panels))
    rows = max(1, math.ceil(n_panels / cols))
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n_panels)]
    return fig, axes


def _spans_decades(values: npt.ArrayLike) -> bool:
    """True when the finite values are all positive and max/min >= 100."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size and v.min() > 0 and v.max() / v.min() >= 100)


def _offset_view(values: npt.ArrayLike) -> tuple[bool, float, float]:
    """How to show objective values on a log axis: (offset?, best, floor).

    Positive values spanning decades are shown as they are (offset False); otherwise as their
    distance to the best (smallest finite) value, clipped below at ``floor``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    best = float(v.min()) if v.size else 0.0
    return not _spans_decades(v), best, max(1e-12, 1e-12 * abs(best))


def _colour(label: int) -> str:
    return f"C{label % 10}" if label >= 0 else NO_MINIMUM_COLOUR


def _labels(row: Row, n: int) -> npt.NDArray[np.int64]:
    labels = np.asarray(row.get("labels") or [], dtype=np.int64)
    return labels if labels.size == n else np.full(n, -1, dtype=np.int64)


def _shown(names: Sequence[str]) -> tuple[list[int], str]:
    """Indices of the datasets drawn, and a title suffix when some are left out."""
    shown = list(range(min(len(names), MAX_PANELS)))
    note = f" (first {len(shown)} of {len(names)} datasets)" if len(names) > len(shown) else ""
    return shown, note


def waterfall_figure(store: Store, rows: Sequence[Row]) -> Figure:
    """Final objective values of every finished start, sorted, one panel per dataset; points
    coloured by the verified minimum they reached, dotted lines at the minima."""
    names = store.layout.datasets
    shown, note = _shown(names)
    fig, axes = _new_figure(len(shown))
    for ax, d in zip(axes, shown):
        a = store.read_dataset(d)
        labels = _labels(rows[d], len(a.fun))
        ran = (a.status != StartStatus.PENDING.code) & np.isfinite(a.fun)
        order = np.argsort(a.fun[ran], kind="stable")
        fun, lab = a.fun[ran][order], labels[ran][order]
        rank = np.arange(1, fun.size + 1)
        minima = [float(m["fun"]) for m in rows[d].get("minima") or []]
        offset, best, floor = _offset_view(np.concatenate([fun, minima]))
        shown_fun = np.maximum(fun - best, floor) if offset else fun
        ax.plot(rank, shown_fun, color="0.8", linewidth=1, zorder=1)
        ax.scatter(rank, shown_fun, c=[_colour(int(v)) for v in lab], s=22, zorder=2)
        for k, minimum in enumerate(minima):
            ax.axhline(max(minimum - best, floor) if offset else minimum, color=_colour(k),
                       linestyle=":", linewidth=1, label=f"minimum {k}: {minimum:.6g}")
        if fun.size:
            ax.set_yscale("log")
        ax.set_title(f"{names[d]}: {int(ran.sum())} starts, minima: "
                     f"{rows[d].get('n_minima', 0)}")
        ax.set_xlabel("start, sorted by final value")
        ax.set_ylabel(f"final value − best ({best:.6g})" if offset else "final objective value")
        if rows[d].get("minima"):
            ax.legend(fontsize="small")
    fig.suptitle(f"waterfall: {store.path.name}{note}")
    return fig


def traces_figure(store: Store, rows: Sequence[Row], *, by: str = "iteration") -> Figure:
    """Objective per iteration (``by="iteration"``) or per objective evaluation
    (``by="evaluations"``) of every traced start, one panel per dataset, coloured by minimum.

    Raises `SpecError` for another ``by``, or when the store holds no traces.
    """
    if by not in ("iteration", "evaluations"):
        raise SpecError("--by", f"must be iteration or evaluations, got {by!r}")
    if not store.layout.trace_length:
        raise SpecError("--kind traces", f"store {str(store.path)!r} holds no traces "
                        "([solver].trace = false)")
    names = store.layout.datasets
    shown, note = _shown(names)
    fig, axes = _new_figure(len(shown))
    for ax, d in zip(axes, shown):
        traces = [(s, store.read_trace(d, s)) for s in range(store.layout.n_starts)]
        found = [(s, t) for s, t in traces if t is not None and len(t.f)]
        labels = _labels(rows[d], store.layout.n_starts)
        values = np.concatenate([t.f for _, t in found]) if found else np.zeros(0)
        offset, best, floor = _offset_view(values)
        for s, t in found:
            x = np.arange(len(t.f)) if by == "iteration" else t.nfev
            y = np.maximum(t.f - best, floor) if offset else t.f
            ax.plot(x, y, color=_colour(int(labels[s])), linewidth=1, alpha=0.8)
        if found:
            ax.set_yscale("log")
        ax.set_title(f"{names[d]}: {len(found)} traces")
        ax.set_xlabel("iteration" if by == "iteration" else "objective evaluations")
        ax.set_ylabel(f"objective − best ({best:.6g})" if offset else "objective")
    fig.suptitle(f"convergence traces: {store.path.name}{note}")
    return fig


def params_figure(store: Store, rows: Sequence[Row], dataset: int = 0) -> Figure:
    """End points of one dataset's converged starts: each pair of (the first four) parameters
    as a scatter (one parameter: against the final value), coloured by minimum; a star at the
    best point."""
    a = store.read_dataset(dataset)
    params = store.layout.parameters
    row = rows[dataset]
    labels = _labels(row, len(a.fun))
    ok = a.converged & np.all(np.isfinite(a.x), axis=1)
    pairs = ([(i, j) for i in range(min(len(params), 4)) for j in range(i + 1, min(len(params), 4))]
             or [(0, -1)])
    fig, axes = _new_figure(len(pairs), width=3.8, height=3.4)
    colours = [_colour(int(v)) for v in labels[ok]]
    best = row.get("params") or {}
    for ax, (i, j) in zip(axes, pairs):
        xs = a.x[ok, i]
        ys = a.fun[ok] if j < 0 else a.x[ok, j]
        ax.scatter(xs, ys, c=colours, s=24, edgecolors="black", linewidths=0.3, zorder=3)
        if params[i] in best:
            by = row["fun"] if j < 0 else best.get(params[j], np.nan)
            ax.scatter([best[params[i]]], [by], marker="*", s=260, c="gold",
                       edgecolors="black", linewidths=0.8, zorder=2, label="best")
        ax.set_xlabel(params[i])
        ax.set_ylabel("final objective value" if j < 0 else params[j])
        for axis, values in (("x", xs), ("y", ys)):
            if _spans_decades(values):
                getattr(ax, f"set_{axis}scale")("log")
    axes[0].legend(handles=_minimum_handles(row, labels[ok]), fontsize="small")
    fig.suptitle(f"end points of {store.layout.datasets[dataset]}: {int(ok.sum())} converged "
                 f"starts, verified minima: {row.get('n_minima', 0)}")
    return fig


def _minimum_handles(row: Row, labels: npt.NDArray[np.int64]) -> list[Any]:
    from matplotlib.lines import Line2D

    def handle(colour: str, text: str) -> Any:
        return Line2D([], [], marker="o", linestyle="", color=colour, label=text)

    handles = [handle(_colour(k), f"minimum {k}: {float(m['fun']):.6g}")
               for k, m in enumerate(row.get("minima") or [])]
    if (labels < 0).any():
        handles.append(handle(NO_MINIMUM_COLOUR, "no verified minimum"))
    handles.append(Line2D([], [], marker="*", linestyle="", color="gold",
                          markeredgecolor="black", markersize=12, label="best"))
    return handles


def minima_figure(rows: Sequence[Row], parameters: Sequence[str]) -> Figure:
    """The best value of each parameter across datasets, one panel per parameter, with error
    bars of one standard error where the rows carry ``std_errors``
    (`jobs.report.with_standard_errors`)."""
    fig, axes = _new_figure(len(parameters), width=max(3.6, 0.45 * len(rows) + 1.5),
                            columns=2)
    names = [str(r["dataset"]) for r in rows]
    positions = np.arange(len(rows))
    with_errors = any(r.get("std_errors") for r in rows)
    for k, (ax, p) in enumerate(zip(axes, parameters)):
        values = np.array([(r.get("params") or {}).get(p, np.nan) for r in rows], dtype=float)
        errors = np.array([_se(r, p) for r in rows], dtype=float)
        ax.errorbar(positions, values, yerr=errors if with_errors else None, fmt="o",
                    color=f"C{k % 10}", ecolor="black", elinewidth=1, capsize=4, markersize=6)
        ax.set_xticks(positions, names, rotation=45 if len(rows) > 4 else 0,
                      ha="right" if len(rows) > 4 else "center")
        ax.set_xlabel("dataset")
        ax.set_ylabel(f"best {p}" + (" ± 1 s.e." if with_errors else ""))
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("best parameters per dataset" + (" (error bars: one standard error)"
                                                  if with_errors else ""))
    return fig


def _se(row: Row, name: str) -> float:
    errors = row.get("std_errors") or {}
    value = errors.get(name)
    return float("nan") if value is None else float(value)


def plot_figure(store: Store, kind: str, *, rows: Sequence[Row] | None = None,
                dataset: int = 0, by: str = "iteration", errors: bool = False) -> Figure:
    """The figure of one of `PLOT_KINDS` for a store.

    ``rows`` is the selection (default: the stored one, else computed); ``errors`` adds
    standard errors to it (``minima`` error bars); ``dataset`` (index) is the dataset of the
    ``params`` plot; ``by`` the x axis of ``traces``.

    Raises `SpecError` for an unknown kind (or as the figure functions).
    """
    if kind not in PLOT_KINDS:
        raise SpecError("--kind", f"must be one of {', '.join(PLOT_KINDS)}, got {kind!r}")
    if rows is None:
        from .selection import selection_rows, stored_selection

        rows = stored_selection(store) or selection_rows(store)
    if errors:
        from .report import with_standard_errors

        rows = with_standard_errors(store, [dict(r) for r in rows])
    if kind == "waterfall":
        return waterfall_figure(store, rows)
    if kind == "traces":
        return traces_figure(store, rows, by=by)
    if kind == "params":
        return params_figure(store, rows, dataset)
    return minima_figure(rows, store.sweep_spec.parameter_names)


def save_plot(figure: Figure, path: str | Path, *, dpi: int = 100) -> Path:
    """Write ``figure`` to ``path`` (format from the suffix: .png, .svg, .pdf); returns it."""
    path = Path(path)
    figure.savefig(str(path), dpi=dpi)
    return path
