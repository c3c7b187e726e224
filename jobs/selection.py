"""Per-dataset selection of a store: verified minima, best point, hits, premature stops.

A finished sweep's selection is computed once, on the client, by `calib.minima.verify_minima`
on each dataset's converged end points (stationarity test and polish of the best distinct
candidates; the objective is evaluated, so the problem is rebuilt from the stored spec) and kept
as the store's ``selection`` attribute; `calib best` and `calib show` read it from there. A store
still running (or interrupted) is selected from what it holds now, the same way.

One row per dataset (a JSON-ready dict; `best_json` keeps today's keys first):
``dataset``, ``fun`` (the polished best value), ``params`` ({name: value} or None), ``start``
(the start whose end point gave the best minimum), ``n_minima`` (verified distinct minima),
``hits`` (starts whose own end point is the best minimum), ``success``, then ``n_premature``,
``n_converged``, ``at_bound`` (parameter names), ``warnings`` (list of str), ``minima`` (each
verified minimum's ``fun`` and ``params``), ``warning`` (the warnings joined, or None),
``labels`` (per start: the index of the verified minimum its end point is, or -1), ``fixed``
(names of the fixed parameters: ``params`` holds every parameter, the fixed ones at their
values; the store's own arrays hold the free ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calib.minima import MinimaReport, verify_minima

from .convergence import no_convergence_text
from .plan import load_sweep_datasets
from .spec import SweepSpec
from .store import StartStatus, Store
from .task import build_problem

__all__ = ["selection_rows", "stored_selection", "write_selection"]


def _row(report: MinimaReport, names: tuple[str, ...], n_converged: int,
         spec: SweepSpec) -> dict[str, Any]:
    fixed = spec.fixed_values

    def params(x: np.ndarray | None) -> dict[str, float] | None:
        if x is None:
            return None
        free = dict(zip(names, map(float, x)))
        return {name: fixed[name] if name in fixed else free[name]
                for name in spec.parameter_names}  # every parameter, in spec order

    return {
        "dataset": report.dataset, "fun": float(report.fun), "params": params(report.x),
        "start": report.best_start, "n_minima": report.n_minima, "hits": report.hits,
        "success": report.best_start is not None, "n_premature": report.n_premature,
        "n_converged": n_converged, "at_bound": list(report.at_bound),
        "warnings": list(report.warnings),
        "minima": [{"fun": float(f), "params": params(x)}
                   for f, x in zip(report.minima_fun, report.minima_x)],
        "warning": "; ".join(report.warnings) or None,
        "labels": [int(v) for v in report.labels],
        "fixed": list(fixed),
    }


def selection_rows(store: Store, spec: SweepSpec | None = None) -> list[dict[str, Any]]:
    """Verified per-dataset selection from whatever the store holds now (see module)."""
    spec = spec or store.sweep_spec
    datasets = {d.name: d for d in load_sweep_datasets(spec)}
    x, fun = store.read_final_points()
    status = store.read_status()
    converged = status == StartStatus.CONVERGED.code
    rows: list[dict[str, Any]] = []
    for d, name in enumerate(store.layout.datasets):
        problem = build_problem(spec, datasets[name])
        report = verify_minima(problem, x[d], fun[d], converged[d])
        row = _row(report, problem.names, int(np.count_nonzero(converged[d])), spec)
        if not converged[d].any():  # say how the starts ended instead
            text = no_convergence_text(status[d], store.read_dataset(d).message)
            row.update(warnings=[text], warning=text)
        rows.append(row)
    return rows


def stored_selection(store: Store) -> list[dict[str, Any]] | None:
    """The selection a finished sweep stored, or None when it is not (or no longer) current."""
    rows = store.group.attrs.get("selection")
    if not isinstance(rows, list) or not bool(np.all(store.done_chunks())):
        return None
    if any(not isinstance(r, dict) or "n_premature" not in r for r in rows):
        return None  # written before minima were verified: recompute
    return [dict(r) for r in rows]


def write_selection(store: Store, spec: SweepSpec | None = None) -> None:
    """Compute the selection and store it as the ``selection`` attribute (client only)."""
    store.write_selection(selection_rows(store, spec))
