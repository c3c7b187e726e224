"""Text, CSV and JSON views of a store for the CLI (pure functions: data in, strings out)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from calib.status import FAILURE_CODES

from .store import StartStatus, StartTrace, Store

__all__ = ["status_rows", "format_number", "format_table", "best_table", "best_csv",
           "best_json", "best_warnings", "show_text", "trace_text", "with_standard_errors"]


def format_number(value: Any) -> str:
    """A table cell: ``-`` for None, ``nan``, 6 significant digits for a float, else str."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in header]] + [[format_number(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def status_rows(store: Store) -> list[dict[str, Any]]:
    """Per dataset: starts done / failed / pending, and chunks done of total."""
    status = store.read_status()
    done_chunks = store.done_chunks()
    rows = []
    for d, name in enumerate(store.layout.datasets):
        s = status[d]
        rows.append({
            "dataset": name,
            "converged": int((s == StartStatus.CONVERGED.code).sum()),
            "not_converged": int((s == StartStatus.NOT_CONVERGED.code).sum()),
            "failed": int(np.isin(s, FAILURE_CODES).sum()),
            "pending": int((s == StartStatus.PENDING.code).sum()),
            "chunks": f"{int(done_chunks[d].sum())}/{done_chunks.shape[1]}",
        })
    return rows


def with_standard_errors(store: Store, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (from the selection) with the uncertainty of each dataset's best point.

    Each dataset's problem is rebuilt from the stored spec on the client and the errors come
    from the Hessian at the (polished) best point (`calib.uncertainty.standard_errors`, with the
    objective's kind: the spec's ``[model] kind`` or the built-in model's). Added keys:
    ``std_errors`` ({name: se}), ``correlation`` (p x p nested lists), ``hessian_pd``,
    ``hessian_message``, ``kind``, ``aic``, ``bic``, ``one_sided`` (parameter names). A dataset
    without a best point gets ``std_errors`` None and ``hessian_pd`` False.
    """
    from calib.uncertainty import standard_errors

    from .plan import load_sweep_datasets
    from .task import build_problem

    from .errors import SpecError

    spec = store.sweep_spec
    kind = spec.model.objective_kind
    if kind is None:
        raise SpecError("[model].kind", "is not declared, so the standard errors cannot be "
                        "formed: declare kind = \"nll\" (the objective is a negative "
                        "log-likelihood) or \"sse\" (a sum of squared residuals) in the spec")
    datasets = {d.name: d for d in load_sweep_datasets(spec)}
    out = []
    for row in rows:
        extra: dict[str, Any] = {"std_errors": None, "correlation": None, "hessian_pd": False,
                                 "hessian_message": "no best point", "kind": kind,
                                 "aic": None, "bic": None, "one_sided": []}
        if row["params"] is not None and row["dataset"] in datasets:
            problem = build_problem(spec, datasets[row["dataset"]])
            x = np.clip([row["params"][name] for name in problem.names], problem.lower,
                        problem.upper)  # a stored point is inside its bounds to the last ulp
            errors = standard_errors(problem, x, kind=kind)
            extra = {"std_errors": {**errors.as_dict(),  # a fixed parameter has none
                                    **{name: None for name in row.get("fixed") or []}},
                     "correlation": None if errors.correlation is None
                     else errors.correlation.tolist(),
                     "hessian_pd": errors.positive_definite, "hessian_message": errors.message,
                     "kind": kind, "aic": errors.aic, "bic": errors.bic,
                     "one_sided": list(errors.one_sided)}
        out.append({**row, **extra})
    return out


def _se_values(row: dict[str, Any], parameters: Sequence[str]) -> list[Any]:
    errors = row.get("std_errors") or {}
    return [errors.get(p) for p in parameters]


def best_warnings(rows: Sequence[dict[str, Any]], *, errors: bool = False) -> list[str]:
    """One line per warning of each dataset (``warning: DATASET: text``), for stderr."""
    lines = [f"warning: {r['dataset']}: {text}" for r in rows
             for text in (r.get("warnings") or ([r["warning"]] if r.get("warning") else []))]
    if errors:
        lines += [f"warning: {r['dataset']}: {r['hessian_message']}" for r in rows
                  if r["params"] is not None and not r["hessian_pd"]]
    return lines


def best_table(rows: Sequence[dict[str, Any]], parameters: Sequence[str], *,
               errors: bool = False) -> str:
    """The selection as an aligned table (warnings apart: `best_warnings`)."""
    se_header = [f"se({p})" for p in parameters] if errors else []
    ic_header = ["aic", "bic"] if errors else []
    fixed = {name for r in rows for name in r.get("fixed") or []}
    header = ["dataset", "fun", *[f"{p} (fixed)" if p in fixed else p for p in parameters],
              *se_header, *ic_header, "start", "n_minima", "hits", "premature"]
    body = [[r["dataset"], r["fun"], *[(r["params"] or {}).get(p) for p in parameters],
             *(_se_values(r, parameters) if errors else []),
             *([r.get("aic"), r.get("bic")] if errors else []),
             r["start"], r["n_minima"], r["hits"], r.get("n_premature")] for r in rows]
    return format_table(header, body)


def best_csv(rows: Sequence[dict[str, Any]], parameters: Sequence[str], *,
             errors: bool = False) -> str:
    """The selection as CSV; ``at_bound`` (and ``fixed``, a column only when some parameter is
    fixed) list parameter names separated by ``;``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    any_fixed = any(r.get("fixed") for r in rows)
    se_header = ([*[f"se_{p}" for p in parameters], "hessian_pd", "kind", "aic", "bic"]
                 if errors else [])
    writer.writerow(["dataset", "fun", *parameters, "start", "n_minima", "hits", "success",
                     "n_premature", "at_bound", *(["fixed"] if any_fixed else []), *se_header])
    for r in rows:
        params = r["params"] or {}
        ses = _se_values(r, parameters)
        se_cells = ([*(_blank(v) for v in ses), r["hessian_pd"], r["kind"], _blank(r["aic"]),
                     _blank(r["bic"])] if errors else [])
        writer.writerow([r["dataset"], r["fun"], *[params.get(p, "") for p in parameters],
                         "" if r["start"] is None else r["start"], r["n_minima"], r["hits"],
                         r["success"], r.get("n_premature", ""),
                         ";".join(r.get("at_bound") or []),
                         *([";".join(r.get("fixed") or [])] if any_fixed else []), *se_cells])
    return out.getvalue().rstrip("\n")


def _blank(value: Any) -> Any:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


_BEST_KEYS = ("dataset", "fun", "params", "start", "n_minima", "hits", "success",
              "n_premature", "n_converged", "at_bound", "warnings", "minima")
_ERROR_KEYS = ("std_errors", "hessian_pd", "hessian_message", "kind", "correlation", "aic",
               "bic", "one_sided")


def best_json(rows: Sequence[dict[str, Any]], *, errors: bool = False) -> str:
    """The selection as JSON: a list of objects with `_BEST_KEYS` (and `_ERROR_KEYS`)."""
    keys = _BEST_KEYS + (_ERROR_KEYS if errors else ())

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(item) for k, item in v.items()}
        if isinstance(v, list):
            return [clean(item) for item in v]
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return json.dumps([{**{k: clean(r.get(k)) for k in keys},
                        **({"fixed": r["fixed"]} if r.get("fixed") else {})}  # names, if any
                       for r in rows], indent=2)


def show_text(store: Store, dataset: int, selection: dict[str, Any] | None = None) -> str:
    """Every start of one dataset, sorted by objective, with a text waterfall bar.

    With the dataset's ``selection`` row, a ``minimum`` column says which verified minimum each
    converged start's end point is (0 the best; ``premature`` for a stop that is none), and a
    last line sums it up.
    """
    arrays = store.read_dataset(dataset)
    fun = arrays.fun
    order = np.argsort(np.where(np.isnan(fun), np.inf, fun), kind="stable")
    finite = fun[np.isfinite(fun)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    flat = hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi))  # equal up to rounding: equal bars
    rows = []
    for i in order:
        f = float(fun[i])
        width = 0 if not math.isfinite(f) or flat else int(round(30 * (f - lo) / (hi - lo)))
        bar = "#" * (width + 1) if math.isfinite(f) else ""
        rows.append([int(i), f, str(arrays.status_of(int(i))), _minimum_label(selection, int(i),
                                                                   arrays.status_of(int(i))),
                     int(arrays.nit[i]), int(arrays.nfev[i]), bar, str(arrays.message[i])[:60]])
    header = ["start", "fun", "status", "minimum", "nit", "nfev", "waterfall", "message"]
    text = format_table(header, rows)
    if selection is not None and selection.get("params") is not None:
        text += (f"\nbest: fun {format_number(selection['fun'])} (polished, from start "
                 f"{selection['start']}); verified minima {selection['n_minima']}; hits "
                 f"{selection['hits']}; premature stops {selection.get('n_premature')}")
    return text


def _minimum_label(selection: dict[str, Any] | None, start: int, status: StartStatus) -> str:
    labels = (selection or {}).get("labels")
    if not labels or start >= len(labels):
        return "-"
    if labels[start] >= 0:
        return str(labels[start])
    return "premature" if status == StartStatus.CONVERGED else "-"


def trace_text(trace: StartTrace, parameters: Sequence[str]) -> str:
    """One row per recorded iteration: objective, gradient norm, evaluations, parameters."""
    rows = [[k, float(trace.f[k]), float(trace.grad_norm[k]), int(trace.nfev[k]),
             *map(float, trace.x[k])] for k in range(len(trace.f))]
    text = format_table(["iter", "fun", "grad_norm", "nfev", *parameters], rows)
    if trace.truncated:
        text += f"\n(trace truncated: {trace.length} iterations, first {len(trace.f)} stored)"
    return text
