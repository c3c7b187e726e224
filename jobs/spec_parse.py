"""One ``parse_*`` function per sweep-spec section and field (parse, don't validate).

Each function takes the raw value of its section or field, returns a typed value, and raises
`SpecError` naming the field as the spec spells it (``[starts].n``).  `parse_sweep_spec` ties them
together; `jobs.spec.parse_spec` and `jobs.spec.load_spec` are the public entry points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.errors import SpecError
from jobs.option_values import check_option_value
from jobs.spec import (DataSpec, ModelSpec, OptionValue, ParameterSpec, RunSpec, SimulateSpec,
                       SolverSpec, StartsSpec, SweepSection, SweepSpec)
from jobs.spec_constraints import check_method_takes_constraints, parse_constraints
from jobs.spec_residuals import (RESIDUAL_KEYS, check_method_fits_model,
                                 check_no_residual_keys, parse_least_squares_options,
                                 parse_residual_model)
from calib.residuals import is_least_squares_method
from jobs.spec_fields import (parse_bool, parse_int, parse_number, parse_string,
                              parse_string_list, parse_table, show)

if TYPE_CHECKING:
    from calib.models.base import Model

__all__ = [
    "parse_sweep_spec", "parse_sweep", "parse_model", "parse_parameters", "parse_parameter",
    "parse_data", "parse_files", "parse_columns", "parse_simulate", "parse_starts", "parse_points",
    "parse_solver", "parse_method", "parse_options", "parse_run"]

TABLES = ("sweep", "model", "parameters", "data", "starts", "solver", "run", "constraints")
SAMPLERS = ("uniform", "lhs", "sobol")
DEFAULT_METHOD = "L-BFGS-B"
#: the default method of a spec with [[constraints]]
DEFAULT_CONSTRAINED_METHOD = "SLSQP"
_SWEEP_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OBJECTIVE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
#: options `minimize` accepts for every method but a sweep sets otherwise
_SWEEP_OPTIONS = {"trace": "is set by [solver].trace, not in options",
                  "disp": "is not supported in a sweep (workers do not print)",
                  "return_all": "is not supported in a sweep (only the trace is stored)"}


def parse_sweep(value: Any) -> SweepSection:
    """``[sweep]``: ``name`` (required, ``[A-Za-z0-9_.-]+``), ``seed`` (integer >= 0, default 0)."""
    table = parse_table(value, "[sweep]", known=("name", "seed"), required=("name",))
    name = parse_string(table["name"], "[sweep].name", pattern=_SWEEP_NAME,
                        what="a name of letters, digits, '_', '.' and '-'")
    return SweepSection(name=name, seed=parse_int(table.get("seed", 0), "[sweep].seed", minimum=0))


def parse_model(value: Any) -> ModelSpec:
    """``[model]``: exactly one of ``builtin`` and ``objective``; ``vectorized`` with the latter."""
    table = parse_table(value, "[model]", known=("builtin", "objective", "vectorized", "kind",
                                                 "gradient", "gradient_vectorized",
                                                 *RESIDUAL_KEYS))
    kind = None
    if "kind" in table:
        kind = parse_string(table["kind"], "[model].kind")
        if kind not in ("nll", "sse"):
            raise SpecError("[model].kind", f"must be 'nll' (a negative log-likelihood) or "
                            f"'sse' (a sum of squared residuals), got {kind!r}")
    if "residuals" in table:
        return parse_residual_model(table, kind)
    check_no_residual_keys(table)
    if ("builtin" in table) == ("objective" in table):
        raise SpecError("[model]", "must give exactly one of 'builtin' (a built-in model name), "
                        "'objective' ('package.module:function') and 'residuals' (the same, "
                        "returning the residual vector)")
    path_kind = "an import path 'package.module:function'"
    if "builtin" in table:
        if "vectorized" in table:
            raise SpecError("[model].vectorized", "is only for a user objective (a built-in "
                            "model has its own vectorized evaluation)")
        for key in ("gradient", "gradient_vectorized"):
            if key in table:
                raise SpecError(f"[model].{key}", "is only for a user objective (a built-in "
                                "model's gradient is taken by finite differences)")
        name = parse_string(table["builtin"], "[model].builtin")
        model = _builtin_model(name)  # raises SpecError for an unknown name
        if kind is not None and kind != model.kind:
            raise SpecError("[model].kind", f"the built-in model {name!r} is {model.kind!r} "
                            f"(its objective is fixed); drop 'kind' or use {model.kind!r}")
        return ModelSpec(builtin=name)
    objective = parse_string(table["objective"], "[model].objective", pattern=_OBJECTIVE_PATH,
                             what=path_kind)
    vectorized = None
    if "vectorized" in table:
        vectorized = parse_string(table["vectorized"], "[model].vectorized",
                                  pattern=_OBJECTIVE_PATH, what=path_kind)
    gradients = {key: parse_string(table[key], f"[model].{key}", pattern=_OBJECTIVE_PATH,
                                   what=path_kind)
                 for key in ("gradient", "gradient_vectorized") if key in table}
    if "gradient_vectorized" in gradients and "gradient" not in gradients:
        raise SpecError("[model].gradient_vectorized", "needs [model].gradient (its one-point "
                        "twin, used by the per-start path) as well")
    return ModelSpec(objective=objective, vectorized=vectorized, kind=kind, **gradients)


def _builtin_model(name: str) -> Model:
    """The built-in model called ``name``, or `SpecError` naming ``[model].builtin``."""
    from calib.errors import CalibError
    from calib.models import get_model

    try:
        return get_model(name)
    except CalibError as exc:
        raise SpecError("[model].builtin", f"names no built-in model: {exc}") from exc


def parse_parameter(value: Any, name: str, *,
                    default: ParameterSpec | None = None) -> ParameterSpec:
    """One ``[parameters].<name> = { lower, upper, log, fixed }`` entry.

    Fields missing from the entry come from ``default`` (a built-in model's own bounds); without
    a default ``lower`` and ``upper`` are required and ``log`` defaults to false.  With
    ``fixed`` the parameter is held at that value; the bounds may then be left out (a missing
    one is the fixed value), and a given or default box must contain the value.
    """
    field = f"[parameters].{name}"
    if not _IDENTIFIER.fullmatch(name):
        raise SpecError(field, "is not a valid parameter name (letters, digits and '_', "
                        "not starting with a digit)")
    table = parse_table(value, field, known=("lower", "upper", "log", "fixed"),
                        required=() if default or (isinstance(value, Mapping) and "fixed" in value)
                        else ("lower", "upper"))
    if "fixed" in table:
        return _parse_fixed_parameter(table, name, default)
    base = default or ParameterSpec(name, math.nan, math.nan)  # nan: required, never used
    spec = ParameterSpec(
        name=name,
        lower=parse_number(table.get("lower", base.lower), f"{field}.lower"),
        upper=parse_number(table.get("upper", base.upper), f"{field}.upper"),
        log=parse_bool(table.get("log", base.log), f"{field}.log"))
    if not spec.lower < spec.upper:
        raise SpecError(field, f"must have lower < upper, got lower = {spec.lower!r}, "
                        f"upper = {spec.upper!r}")
    if spec.log and spec.lower <= 0:
        raise SpecError(f"{field}.lower", f"must be > 0 when log = true, got {spec.lower!r}")
    return spec


def _parse_fixed_parameter(table: Mapping[str, Any], name: str,
                           default: ParameterSpec | None) -> ParameterSpec:
    """A ``[parameters].<name>`` entry with ``fixed``: the value, within the (default) bounds."""
    field = f"[parameters].{name}"
    fixed = parse_number(table["fixed"], f"{field}.fixed")
    lower = parse_number(table.get("lower", fixed if default is None else default.lower),
                         f"{field}.lower")
    upper = parse_number(table.get("upper", fixed if default is None else default.upper),
                         f"{field}.upper")
    if not lower <= fixed <= upper:
        source = "" if "lower" in table or "upper" in table or default is None else \
            " (the built-in model's default bounds; give lower/upper to widen them)"
        raise SpecError(f"{field}.fixed", f"must lie within the bounds [{lower!r}, {upper!r}]"
                        f"{source}, got {fixed!r}")
    log = parse_bool(table.get("log", False if default is None else default.log), f"{field}.log")
    return ParameterSpec(name=name, lower=lower, upper=upper, log=log, fixed=fixed)


def _check_some_free(parameters: tuple[ParameterSpec, ...]) -> tuple[ParameterSpec, ...]:
    if all(p.fixed is not None for p in parameters):
        raise SpecError("[parameters]", "fixes every parameter: leave at least one free "
                        "(without 'fixed') to solve for")
    return parameters


def parse_parameters(value: Any, *, model: Model | None) -> tuple[ParameterSpec, ...]:
    """``[parameters]``: overrides of a built-in ``model``'s defaults, or a user objective's list.

    For a built-in model the result is in the model's order, every parameter present; for a
    user objective it is in the order written, and the table is required.
    """
    if model is None:
        if value is None:
            raise SpecError("[parameters]", "is required for a user objective (one entry per "
                            "parameter, in the order the objective reads them)")
        table = parse_table(value, "[parameters]", known=None)
        if not table:
            raise SpecError("[parameters]", "must name at least one parameter")
        return _check_some_free(tuple(parse_parameter(entry, name)
                                      for name, entry in table.items()))
    defaults = {p.name: ParameterSpec(p.name, float(p.lower), float(p.upper), bool(p.log))
                for p in model.parameters}
    overrides = {} if value is None else parse_table(value, "[parameters]", known=None)
    for name in overrides:
        if name not in defaults:
            raise SpecError(f"[parameters].{name}",
                            f"is not a parameter of the built-in model {model.name!r} "
                            f"(its parameters: {', '.join(defaults)})")
    return _check_some_free(tuple(parse_parameter(overrides[name], name, default=spec)
                                  if name in overrides else spec
                                  for name, spec in defaults.items()))


def parse_files(value: Any) -> str | tuple[str, ...]:
    """``[data].files``: one glob string, or a non-empty array of paths or globs."""
    if isinstance(value, str):
        return parse_string(value, "[data].files", what="a glob or an array of paths")
    if isinstance(value, (list, tuple)):
        return parse_string_list(value, "[data].files", what="paths")
    raise SpecError("[data].files", f"must be a glob string or an array of paths, "
                    f"got {show(value)}")


def parse_columns(value: Any, *, model: Model | None, simulated: bool) -> tuple[str, ...]:
    """``[data].columns``: distinct column names, defaulting to a built-in model's columns."""
    field = "[data].columns"
    if value is None:
        if model is None:
            raise SpecError(field, "is required for a user objective (the data columns it "
                            "reads, in order)")
        return tuple(model.columns)
    columns = parse_string_list(value, field, what="column names")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise SpecError(field, f"must not repeat a column, got {', '.join(repeated)} twice")
    if model is not None:
        expected = tuple(model.columns)
        if simulated and columns != expected:
            raise SpecError(field, f"must be {list(expected)} (the columns model {model.name!r} "
                            f"simulates) or left out, got {list(columns)}")
        if len(columns) != len(expected):
            raise SpecError(field, f"must name {len(expected)} column(s) for model "
                            f"{model.name!r} (read as {', '.join(expected)}), got {len(columns)}")
    return columns


def parse_simulate(value: Any, parameters: Sequence[ParameterSpec]) -> SimulateSpec:
    """``[data].simulate = { datasets, points, truth }``; truth gives every parameter in bounds."""
    field = "[data].simulate"
    table = parse_table(value, field, known=("datasets", "points", "truth"),
                        required=("points", "truth"))
    datasets = parse_int(table.get("datasets", 1), f"{field}.datasets", minimum=1)
    points = parse_int(table["points"], f"{field}.points", minimum=2)
    names = [p.name for p in parameters]
    truth = parse_table(table["truth"], f"{field}.truth", known=names, required=names)
    values = []
    for p in parameters:
        v = parse_number(truth[p.name], f"{field}.truth.{p.name}")
        if not p.lower <= v <= p.upper:
            raise SpecError(f"{field}.truth.{p.name}", f"must lie within the bounds of "
                            f"{p.name} [{p.lower!r}, {p.upper!r}], got {v!r}")
        values.append((p.name, v))
    return SimulateSpec(datasets=datasets, points=points, truth=tuple(values))


def parse_data(value: Any, *, model: Model | None, parameters: Sequence[ParameterSpec],
               base_dir: Path) -> DataSpec:
    """``[data]``: ``files`` (+ ``columns``) or, for a built-in model, ``simulate``."""
    table = parse_table(value, "[data]", known=("files", "columns", "simulate"))
    if "simulate" in table and model is None:
        raise SpecError("[data].simulate", "is only for built-in models (they have a "
                        "simulator); a user objective needs [data].files")
    if "files" in table and "simulate" in table:
        raise SpecError("[data].simulate", "cannot be given together with [data].files")
    if "simulate" in table:
        simulate = parse_simulate(table["simulate"], parameters)
        columns = parse_columns(table.get("columns"), model=model, simulated=True)
        return DataSpec(base_dir=str(base_dir), columns=columns, simulate=simulate)
    if "files" not in table:
        hint = " (or [data].simulate for a built-in model)" if model is not None else ""
        raise SpecError("[data].files", f"is required{hint}")
    files = parse_files(table["files"])
    columns = parse_columns(table.get("columns"), model=model, simulated=False)
    return DataSpec(base_dir=str(base_dir), files=files, columns=columns)


def parse_points(value: Any, parameters: Sequence[ParameterSpec]) -> tuple[tuple[float, ...], ...]:
    """``[starts].points``: explicit start points, one value per free parameter (the fixed ones
    are left out), within the bounds."""
    field = "[starts].points"
    parameters = [p for p in parameters if p.fixed is None]
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(field, f"must be a non-empty array of points, got {show(value)}")
    names = ", ".join(p.name for p in parameters)
    out = []
    for i, point in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(point, (list, tuple)) or len(point) != len(parameters):
            got = f"{len(point)} value(s)" if isinstance(point, (list, tuple)) else show(point)
            raise SpecError(where, f"must have {len(parameters)} value(s), one per parameter "
                            f"({names}), got {got}")
        coords = tuple(parse_number(v, f"{where}[{j}]") for j, v in enumerate(point))
        for p, v in zip(parameters, coords):
            if not p.lower <= v <= p.upper:
                raise SpecError(where, f"must lie within the bounds: {p.name} = {v!r} is "
                                f"outside [{p.lower!r}, {p.upper!r}]")
        out.append(coords)
    return tuple(out)


def parse_starts(value: Any, parameters: Sequence[ParameterSpec]) -> StartsSpec:
    """``[starts]``: ``n`` and ``sampler`` (default sobol), or explicit ``points``."""
    table = parse_table(value, "[starts]", known=("n", "sampler", "points"))
    if "points" in table:
        if "sampler" in table:
            raise SpecError("[starts].sampler", "cannot be given together with [starts].points")
        points = parse_points(table["points"], parameters)
        if "n" in table and parse_int(table["n"], "[starts].n", minimum=1) != len(points):
            raise SpecError("[starts].n", f"must equal the number of [starts].points "
                            f"({len(points)}) or be left out, got {table['n']}")
        return StartsSpec(n=len(points), sampler=None, points=points)
    if "n" not in table:
        raise SpecError("[starts].n", "is required (or explicit [starts].points)")
    n = parse_int(table["n"], "[starts].n", minimum=1)
    sampler = table.get("sampler", "sobol")
    if sampler not in SAMPLERS:
        raise SpecError("[starts].sampler",
                        f"must be one of {', '.join(SAMPLERS)}, got {show(sampler)}")
    return StartsSpec(n=n, sampler=sampler)


def parse_method(value: Any) -> str:
    """``[solver].method``: a `solvers.minimize` method that is available now; canonical name."""
    from solvers import get_method, method_options

    name = parse_string(value, "[solver].method", what="a solver method name")
    if is_least_squares_method(name):
        return name.lower()
    try:
        spec = get_method(name)
        method_options(spec.name)
    except ValueError as exc:
        raise SpecError("[solver].method", f"is not a solver method: {exc}") from exc
    except NotImplementedError as exc:
        raise SpecError("[solver].method", f"is not available yet: {exc}") from exc
    except (ImportError, AttributeError) as exc:
        raise SpecError("[solver].method",
                        f"is not available yet: {name!r} does not import ({exc})") from exc
    return spec.name


def parse_options(value: Any, method: str) -> tuple[tuple[str, OptionValue], ...]:
    """``[solver].options``: a table of scalars whose names are options of ``method``."""
    from solvers import method_options

    table = parse_table(value, "[solver].options", known=None)
    if is_least_squares_method(method):
        return parse_least_squares_options(table, method)
    known = method_options(method)
    out = []
    for name, option in table.items():
        field = f"[solver].options.{name}"
        if name in _SWEEP_OPTIONS:
            raise SpecError(field, _SWEEP_OPTIONS[name])
        if name not in known:
            raise SpecError(field, f"is not an option of {method}; its options: "
                            f"{', '.join(sorted(known))}")
        if not isinstance(option, (bool, int, float, str)) or (
                isinstance(option, float) and math.isnan(option)):
            raise SpecError(field, f"must be a number, string or boolean, got {show(option)}")
        check_option_value(method, name, option)  # a value the method would reject
        out.append((name, option))
    return tuple(out)


def parse_solver(value: Any, *, constrained: bool = False) -> SolverSpec:
    """``[solver]`` (optional): ``method``, ``options``, ``trace`` (false).

    ``method`` defaults to L-BFGS-B, or SLSQP when the spec has ``[[constraints]]``
    (``constrained``); then a method that cannot handle constraints is refused.
    """
    table = parse_table({} if value is None else value, "[solver]",
                        known=("method", "options", "trace"))
    default = DEFAULT_CONSTRAINED_METHOD if constrained else DEFAULT_METHOD
    method = parse_method(table.get("method", default))
    if constrained and not is_least_squares_method(method):
        check_method_takes_constraints(method)
    options = parse_options(table.get("options", {}), method)
    return SolverSpec(method=method, options=options,
                      trace=parse_bool(table.get("trace", False), "[solver].trace"))


def parse_run(value: Any) -> RunSpec:
    """``[run]`` (optional): ``starts_per_task`` (default: chosen by the planner),
    ``time_limit_per_start`` (s), ``batch`` (default true), ``isolate`` (default true)."""
    table = parse_table({} if value is None else value, "[run]",
                        known=("starts_per_task", "time_limit_per_start", "batch", "isolate"))
    per_task = table.get("starts_per_task")
    limit = table.get("time_limit_per_start")
    return RunSpec(
        starts_per_task=None if per_task is None else
        parse_int(per_task, "[run].starts_per_task", minimum=1),
        time_limit_per_start=None if limit is None else
        parse_number(limit, "[run].time_limit_per_start", positive=True),
        batch=parse_bool(table.get("batch", True), "[run].batch"),
        isolate=parse_bool(table.get("isolate", True), "[run].isolate"))


def parse_sweep_spec(tables: Any, base_dir: str | Path) -> SweepSpec:
    """Parse every section of a spec, in the order sweep, model, parameters, constraints, data,
    starts, solver, run; see `jobs.spec.parse_spec`."""
    if not isinstance(tables, Mapping):
        raise SpecError("spec", f"must be a table of tables, got {show(tables)}")
    for key in tables:
        if key not in TABLES:
            raise SpecError(f"[{key}]", "is not a known table; known tables: "
                            + ", ".join(f"[{t}]" for t in TABLES))
    for key in ("sweep", "model", "data", "starts"):
        if key not in tables:
            raise SpecError(f"[{key}]", "is required")
    sweep = parse_sweep(tables["sweep"])
    model_spec = parse_model(tables["model"])
    model = _builtin_model(model_spec.builtin) if model_spec.builtin else None
    parameters = parse_parameters(tables.get("parameters"), model=model)
    constraints = parse_constraints(tables.get("constraints"), [p.name for p in parameters])
    if constraints and any(p.fixed is not None for p in parameters):
        raise SpecError("[[constraints]]", "cannot be combined with fixed parameters yet: "
                        "drop 'fixed' (or the constraints)")
    data = parse_data(tables["data"], model=model, parameters=parameters,
                      base_dir=Path(base_dir).expanduser().resolve())
    starts = parse_starts(tables["starts"], parameters)
    solver = parse_solver(tables.get("solver"), constrained=bool(constraints))
    check_method_fits_model(solver.method, model_spec, bool(constraints))
    return SweepSpec(sweep=sweep, model=model_spec, parameters=parameters, data=data,
                     starts=starts, solver=solver,
                     run=parse_run(tables.get("run")), constraints=constraints)
