"""The sweep spec: parsing, defaults, every bad input naming its field, round trips and hashing."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from calib.errors import CalibError
from calib.models import get_model
from calib.parameters import Parameter
from jobs.errors import SpecError, StoreConflictError, StoreCorruptError
from jobs.spec import ParameterSpec, SweepSpec, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]

METHOD = "L-BFGS-B"

BUILTIN_SPEC = f"""
[sweep]
name = "garch-demo"
seed = 7

[model]
builtin = "garch11"

[parameters]
omega = {{ lower = 1e-6, upper = 1.0, log = true }}
alpha = {{ lower = 0.0, upper = 1.0 }}
beta  = {{ lower = 0.0, upper = 1.0 }}

[data]
simulate = {{ datasets = 4, points = 2000, truth = {{ omega = 0.05, alpha = 0.1, beta = 0.85 }} }}

[starts]
n = 32
sampler = "sobol"

[solver]
method = "{METHOD}"
options = {{ maxiter = 500 }}
trace = true

[run]
starts_per_task = 8
time_limit_per_start = 60
"""

USER_SPEC = f"""
[sweep]
name = "decay"

[model]
objective = "mypkg.fits:decay_loss"
vectorized = "mypkg.fits:decay_loss_batch"

[parameters]
rate = {{ lower = 1e-3, upper = 10.0, log = true }}
level = {{ lower = -5, upper = 5 }}

[data]
files = ["data/a.csv", "data/b.csv"]
columns = ["t", "y"]

[starts]
points = [[0.1, 0.0], [1.0, 2.5], [5.0, -1.0]]

[solver]
method = "{METHOD}"
"""


def _tables(text: str = BUILTIN_SPEC) -> dict[str, Any]:
    return tomllib.loads(text)


def _set(tables: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """Return a copy of ``tables`` with the value at ``path`` replaced (deleted if DELETE)."""
    out = copy.deepcopy(tables)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


DELETE = object()


def _spec_error(tables: dict[str, Any], tmp_path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(tables, tmp_path)
    return info.value


# ---------------------------------------------------------------- valid specs

def test_full_builtin_spec_parses_to_the_written_values(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(BUILTIN_SPEC)
    spec = load_spec(path)
    assert spec.sweep.name == "garch-demo" and spec.sweep.seed == 7
    assert spec.model.builtin == "garch11" and spec.model.objective is None
    assert spec.parameters == (ParameterSpec("omega", 1e-6, 1.0, True),
                               ParameterSpec("alpha", 0.0, 1.0, False),
                               ParameterSpec("beta", 0.0, 1.0, False))
    sim = spec.data.simulate
    assert sim is not None and (sim.datasets, sim.points) == (4, 2000)
    assert sim.truth == (("omega", 0.05), ("alpha", 0.1), ("beta", 0.85))
    assert spec.data.columns == ("r",) and spec.data.files is None
    assert spec.data.base_dir == str(tmp_path.resolve())
    assert (spec.starts.n, spec.starts.sampler, spec.starts.points) == (32, "sobol", None)
    assert spec.solver.method == METHOD and spec.solver.options_dict() == {"maxiter": 500}
    assert spec.solver.trace is True
    assert spec.run.starts_per_task == 8 and spec.run.time_limit_per_start == 60.0


def test_user_objective_keeps_parameter_order_paths_and_points(tmp_path: Path) -> None:
    spec = parse_spec(_tables(USER_SPEC), tmp_path)
    assert spec.parameter_names == ("rate", "level")
    assert spec.parameters[1] == ParameterSpec("level", -5.0, 5.0, False)
    assert spec.model.vectorized == "mypkg.fits:decay_loss_batch"
    assert spec.data.files == ("data/a.csv", "data/b.csv")
    assert spec.data.file_patterns() == (str(tmp_path.resolve() / "data/a.csv"),
                                         str(tmp_path.resolve() / "data/b.csv"))
    assert spec.data.columns == ("t", "y")
    assert spec.starts.n == 3 and spec.starts.sampler is None
    assert spec.starts.points == ((0.1, 0.0), (1.0, 2.5), (5.0, -1.0))


def test_defaults_are_applied(tmp_path: Path) -> None:
    tables = _tables(USER_SPEC)
    del tables["solver"], tables["model"]["vectorized"]
    tables["starts"] = {"n": 5}
    tables["parameters"]["level"] = {"lower": -5, "upper": 5}
    tables["data"]["files"] = "data/*.csv"
    spec = parse_spec(tables, tmp_path)
    assert spec.sweep.seed == 0
    assert spec.model.vectorized is None
    assert spec.parameters[1].log is False
    assert spec.data.files == "data/*.csv"
    assert (spec.starts.n, spec.starts.sampler) == (5, "sobol")
    assert spec.run.starts_per_task is None and spec.run.time_limit_per_start is None
    assert spec.run.batch is True and "batch" not in spec.to_dict()["run"]
    assert spec.solver.method == "L-BFGS-B"
    assert spec.solver.options == () and spec.solver.trace is False


def test_builtin_defaults_are_merged_with_overrides_in_model_order(tmp_path: Path) -> None:
    tables = _tables()
    tables["parameters"] = {"beta": {"upper": 0.99}, "alpha": {"lower": 0.01, "log": True}}
    spec = parse_spec(tables, tmp_path)
    defaults = {p.name: p for p in get_model("garch11").parameters}
    assert spec.parameter_names == tuple(defaults)
    omega, alpha, beta = spec.parameters
    assert (omega.lower, omega.upper, omega.log) == (
        defaults["omega"].lower, defaults["omega"].upper, defaults["omega"].log)
    assert (alpha.lower, alpha.upper, alpha.log) == (0.01, defaults["alpha"].upper, True)
    assert (beta.lower, beta.upper, beta.log) == (defaults["beta"].lower, 0.99,
                                                  defaults["beta"].log)


def test_builtin_without_parameters_and_columns_uses_the_model_defaults(tmp_path: Path) -> None:
    tables = _tables()
    del tables["parameters"]
    tables["data"] = {"files": "returns/*.csv"}
    spec = parse_spec(tables, tmp_path)
    model = get_model("garch11")
    assert spec.parameter_objects() == model.parameters
    assert spec.data.columns == model.columns


def test_builtin_columns_may_rename_the_model_columns(tmp_path: Path) -> None:
    tables = _set(_tables(), ("data",), {"files": ["r.csv"], "columns": ["log_return"]})
    assert parse_spec(tables, tmp_path).data.columns == ("log_return",)


def test_method_name_is_spelled_as_the_solver_core_spells_it(tmp_path: Path) -> None:
    tables = _set(_tables(), ("solver", "method"), METHOD.lower())
    assert parse_spec(tables, tmp_path).solver.method == METHOD


def test_parameter_objects_are_calib_parameters(tmp_path: Path) -> None:
    spec = parse_spec(_tables(USER_SPEC), tmp_path)
    assert spec.parameter_objects() == (Parameter("rate", 1e-3, 10.0, log=True),
                                        Parameter("level", -5.0, 5.0))


def test_parameter_objects_name_the_parameter_when_bounds_are_bad(tmp_path: Path) -> None:
    spec = parse_spec(_tables(), tmp_path)
    crossed = dataclasses.replace(spec, parameters=(ParameterSpec("omega", 1.0, 1.0, True),))
    with pytest.raises(SpecError, match=r"^\[parameters\]\.omega must have lower < upper"):
        crossed.parameter_objects()
    log_at_zero = dataclasses.replace(spec, parameters=(ParameterSpec("alpha", 0.0, 1.0, True),))
    with pytest.raises(SpecError) as info:
        log_at_zero.parameter_objects()
    assert info.value.field == "[parameters].alpha"


# ---------------------------------------------------------------- round trips and hashing

@pytest.mark.parametrize("text", [BUILTIN_SPEC, USER_SPEC], ids=["builtin", "user"])
def test_to_dict_from_dict_round_trips_through_json(text: str, tmp_path: Path) -> None:
    spec = parse_spec(_tables(text), tmp_path)
    assert SweepSpec.from_dict(spec.to_dict()) == spec
    assert SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_canonical_json_is_sorted_and_independent_of_how_the_toml_is_written(
        tmp_path: Path) -> None:
    spec = parse_spec(_tables(), tmp_path)
    reordered = {key: _tables()[key] for key in reversed(list(_tables()))}
    reordered["run"]["time_limit_per_start"] = 60.0  # 60 and 60.0 are the same limit
    other = parse_spec(reordered, tmp_path / "elsewhere")  # the base dir is not part of it
    assert other.canonical_json() == spec.canonical_json()
    assert other.hash == spec.hash
    assert spec.canonical_json() == json.dumps(json.loads(spec.canonical_json()),
                                               sort_keys=True, separators=(",", ":"))
    assert re.fullmatch(r"[0-9a-f]{64}", spec.hash)


@pytest.mark.parametrize("path, value", [
    (("starts", "n"), 33),
    (("sweep", "seed"), 8),
    (("solver", "trace"), False),
    (("parameters", "alpha", "upper"), 0.9),
    (("data", "simulate", "truth", "beta"), 0.8),
], ids=lambda v: str(v))
def test_hash_changes_with_any_field(path: tuple[str, ...], value: Any, tmp_path: Path) -> None:
    base = parse_spec(_tables(), tmp_path)
    changed = parse_spec(_set(_tables(), path, value), tmp_path)
    assert changed.hash != base.hash


def test_hash_changes_with_user_parameter_order(tmp_path: Path) -> None:
    tables = _tables(USER_SPEC)
    del tables["starts"]["points"]
    tables["starts"]["n"] = 4
    swapped = copy.deepcopy(tables)
    swapped["parameters"] = dict(reversed(list(tables["parameters"].items())))
    assert parse_spec(swapped, tmp_path).hash != parse_spec(tables, tmp_path).hash


# ---------------------------------------------------------------- the file

def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.toml' does not exist$"):
        load_spec(tmp_path / "nope.toml")


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[sweep]\nname = "x"\nseed = \n')
    with pytest.raises(SpecError, match=r"bad\.toml' is not valid TOML: .*line 3, column 8"):
        load_spec(path)


def test_spec_error_is_a_calib_error_and_pickles() -> None:
    err = SpecError("[starts].n", "must be a positive integer, got -3")
    assert isinstance(err, CalibError)
    assert str(err) == "[starts].n must be a positive integer, got -3"
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.problem, str(back)) == (err.field, err.problem, str(err))
    assert issubclass(StoreConflictError, CalibError) and issubclass(StoreCorruptError, CalibError)


# ---------------------------------------------------------------- bad input: change, field, message

_ = DELETE
BAD_BUILTIN = [
    # unknown tables and fields
    (("extra",), {"a": 1}, "[extra]", "is not a known table"),
    (("starts", "count"), 3, "[starts].count", "is not a known field; known fields: n, sampler"),
    (("parameters", "omega", "init"), 0.1, "[parameters].omega.init", "is not a known field"),
    (("data", "simulate", "noise"), 0.1, "[data].simulate.noise", "is not a known field"),
    # missing required
    (("sweep",), _, "[sweep]", "is required"),
    (("sweep", "name"), _, "[sweep].name", "is required"),
    (("data",), _, "[data]", "is required"),
    (("starts", "n"), _, "[starts].n", "is required"),
    (("data", "simulate", "points"), _, "[data].simulate.points", "is required"),
    (("data", "simulate", "truth", "beta"), _, "[data].simulate.truth.beta", "is required"),
    (("model", "builtin"), _, "[model]", "must give exactly one of 'builtin'"),
    # wrong type
    (("sweep",), "x", "[sweep]", "must be a table, got 'x' (a string)"),
    (("sweep", "name"), "my sweep", "[sweep].name", "must be a name of letters, digits"),
    (("sweep", "seed"), True, "[sweep].seed", "must be a non-negative integer, got true"),
    (("starts", "n"), "32", "[starts].n", "must be a positive integer, got '32' (a string)"),
    (("starts", "n"), 2.5, "[starts].n", "must be a positive integer, got 2.5"),
    (("parameters", "alpha", "lower"), "0", "[parameters].alpha.lower", "must be a finite"),
    (("parameters", "omega", "log"), 1, "[parameters].omega.log", "must be true or false, got 1"),
    (("solver", "trace"), "yes", "[solver].trace", "must be true or false"),
    (("solver", "options"), [1], "[solver].options", "must be a table, got an array"),
    (("solver", "options", "maxiter"), [1], "[solver].options.maxiter", "must be a number"),
    (("run", "starts_per_task"), 4.0, "[run].starts_per_task", "must be a positive integer"),
    (("data", "simulate", "truth"), [1], "[data].simulate.truth", "must be a table"),
    # out of range
    (("starts", "n"), -3, "[starts].n", "must be a positive integer, got -3"),
    (("starts", "n"), 0, "[starts].n", "must be a positive integer, got 0"),
    (("sweep", "seed"), -1, "[sweep].seed", "must be a non-negative integer, got -1"),
    (("run", "starts_per_task"), 0, "[run].starts_per_task", "must be a positive integer"),
    (("run", "time_limit_per_start"), 0, "[run].time_limit_per_start", "must be a positive"),
    (("run", "time_limit_per_start"), float("inf"), "[run].time_limit_per_start",
     "must be a positive number, got inf"),
    (("parameters", "beta", "upper"), 10**400, "[parameters].beta.upper",
     "must be a finite number, got 1000"),
    (("data", "simulate", "datasets"), 0, "[data].simulate.datasets", "must be a positive"),
    (("data", "simulate", "points"), 1, "[data].simulate.points", "must be an integer >= 2"),
    (("data", "simulate", "truth", "alpha"), 1.5, "[data].simulate.truth.alpha",
     "must lie within the bounds of alpha [0.0, 1.0], got 1.5"),
    (("data", "simulate", "truth", "gamma"), 1.0, "[data].simulate.truth.gamma",
     "is not a known field; known fields: omega, alpha, beta"),
    (("starts", "sampler"), "halton", "[starts].sampler",
     "must be one of uniform, lhs, sobol, got 'halton'"),
    # parameters
    (("parameters", "omega"), {"lower": 1.0, "upper": 0.5}, "[parameters].omega",
     "must have lower < upper, got lower = 1.0, upper = 0.5"),
    (("parameters", "alpha", "upper"), 0.0, "[parameters].alpha", "must have lower < upper"),
    (("parameters", "omega", "lower"), 0.0, "[parameters].omega.lower",
     "must be > 0 when log = true, got 0.0"),
    (("parameters", "gamma"), {"lower": 0, "upper": 1}, "[parameters].gamma",
     "is not a parameter of the built-in model 'garch11' (its parameters: omega, alpha, beta)"),
    # model
    (("model", "builtin"), "garch22", "[model].builtin", "names no built-in model"),
    (("model", "vectorized"), "a.b:c", "[model].vectorized", "is only for a user objective"),
    (("model", "objective"), "a.b:c", "[model]", "must give exactly one of"),
    # data
    (("data", "files"), "x.csv", "[data].simulate", "cannot be given together with"),
    (("data", "columns"), ["x"], "[data].columns", "must be ['r'] (the columns model 'garch11'"),
    (("data",), {"files": "r/*.csv", "columns": ["r", "v"]}, "[data].columns",
     "must name 1 column(s) for model 'garch11' (read as r), got 2"),
    (("data",), {"columns": ["r"]}, "[data].files",
     "is required (or [data].simulate for a built-in model)"),
    (("data",), {"files": "r/*.csv", "format": "csv"}, "[data].format", "is not a known field"),
    # solver
    (("solver", "method"), "Gradient-Descent", "[solver].method", "is not a solver method"),
    (("solver", "options", "maxiterr"), 5, "[solver].options.maxiterr", "is not an option of"),
    (("solver", "options", "trace"), True, "[solver].options.trace", "is set by [solver].trace"),
    (("solver", "options", "disp"), True, "[solver].options.disp", "is not supported"),
    (("solver", "options", "maxiter"), float("nan"), "[solver].options.maxiter",
     "must be a number, string or boolean, got nan"),
]


@pytest.mark.parametrize("path, value, field, message", BAD_BUILTIN,
                         ids=[f"{f}-{m[:25]}" for _, _, f, m in BAD_BUILTIN])
def test_bad_builtin_spec_names_the_field(path: tuple[str, ...], value: Any, field: str,
                                          message: str, tmp_path: Path) -> None:
    err = _spec_error(_set(_tables(), path, value), tmp_path)
    assert err.field == field
    assert str(err).startswith(f"{field} {message}"), str(err)


BAD_USER = [
    (("parameters",), _, "[parameters]", "is required for a user objective"),
    (("parameters",), {}, "[parameters]", "must name at least one parameter"),
    (("parameters", "rate", "upper"), _, "[parameters].rate.upper", "is required"),
    (("parameters", "2x"), {"lower": 0, "upper": 1}, "[parameters].2x",
     "is not a valid parameter name"),
    (("model", "objective"), "fits.decay_loss", "[model].objective",
     "must be an import path 'package.module:function', got 'fits.decay_loss'"),
    (("model", "vectorized"), 3, "[model].vectorized", "must be an import path"),
    (("data", "files"), _, "[data].files", "is required"),
    (("data", "files"), 3, "[data].files", "must be a glob string or an array of paths, got 3"),
    (("data", "files"), [], "[data].files", "must be a non-empty array of paths"),
    (("data", "files"), ["a.csv", 3], "[data].files[1]", "must be a non-empty string, got 3"),
    (("data", "files"), "", "[data].files", "must be a glob or an array of paths, got ''"),
    (("data", "columns"), _, "[data].columns", "is required for a user objective"),
    (("data", "columns"), ["t", "t"], "[data].columns", "must not repeat a column, got t"),
    (("data", "simulate"), {"points": 5}, "[data].simulate", "is only for built-in models"),
    (("starts", "points"), [[0.1, 0.0], [1.0]], "[starts].points[1]",
     "must have 2 value(s), one per parameter (rate, level), got 1 value(s)"),
    (("starts", "points"), [[0.1, 0.0, 3.0]], "[starts].points[0]", "must have 2 value(s)"),
    (("starts", "points"), [[0.1, "a"]], "[starts].points[0][1]", "must be a finite number"),
    (("starts", "points"), [[20.0, 0.0]], "[starts].points[0]",
     "must lie within the bounds: rate = 20.0 is outside [0.001, 10.0]"),
    (("starts", "points"), [], "[starts].points", "must be a non-empty array of points"),
    (("starts", "n"), 4, "[starts].n", "must equal the number of [starts].points (3)"),
    (("starts", "sampler"), "lhs", "[starts].sampler", "cannot be given together with"),
]


@pytest.mark.parametrize("path, value, field, message", BAD_USER,
                         ids=[f"{f}-{m[:25]}" for _, _, f, m in BAD_USER])
def test_bad_user_spec_names_the_field(path: tuple[str, ...], value: Any, field: str,
                                       message: str, tmp_path: Path) -> None:
    err = _spec_error(_set(_tables(USER_SPEC), path, value), tmp_path)
    assert err.field == field
    assert str(err).startswith(f"{field} {message}"), str(err)


def test_bad_field_in_a_file_is_named_by_load_spec(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(BUILTIN_SPEC.replace("n = 32", "n = -3"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == "[starts].n must be a positive integer, got -3"


def test_from_dict_requires_the_base_dir(tmp_path: Path) -> None:
    stored = parse_spec(_tables(), tmp_path).to_dict()
    del stored["data"]["base_dir"]
    with pytest.raises(SpecError, match=r"^\[data\]\.base_dir is required"):
        SweepSpec.from_dict(stored)


# ---------------------------------------------------------------- the documented examples

def _doc_examples() -> list[str]:
    text = (ROOT / "docs" / "spec.md").read_text()
    return [block for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S)
            if "[sweep]" in block]


def test_docs_have_a_builtin_and_a_user_objective_example() -> None:
    examples = _doc_examples()
    assert any("builtin" in e and "simulate" in e for e in examples)
    assert any("objective" in e and "files" in e for e in examples)


@pytest.mark.parametrize("index", range(len(_doc_examples())))
def test_documented_examples_parse(index: int, tmp_path: Path) -> None:
    example = _doc_examples()[index]
    example = example.replace('"L-BFGS-B"', f'"{METHOD}"')  # until L-BFGS-B is written
    spec = parse_spec(tomllib.loads(example), tmp_path)
    assert SweepSpec.from_dict(spec.to_dict()) == spec
