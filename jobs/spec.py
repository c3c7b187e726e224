"""The sweep spec: a TOML file parsed into frozen dataclasses before anything runs.

`load_spec` reads a file, `parse_spec` a mapping already read; both go through one ``parse_*``
function per section and field (in `jobs.spec_parse`) and raise `SpecError` naming the field
(``[starts].n must be a positive integer, got -3``).  A parsed `SweepSpec` holds only valid
values, with every default filled in.  `SweepSpec.to_dict` and `SweepSpec.from_dict` round-trip
it through plain JSON-able data; `SweepSpec.canonical_json` and `SweepSpec.hash` identify what a
sweep computes, so a store can refuse to mix results of two different specs.  The format is
documented in ``docs/spec.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.errors import SpecError
from jobs.spec_constraints import ConstraintSpec

if TYPE_CHECKING:
    from calib.parameters import Parameter

__all__ = [
    "SweepSpec", "SweepSection", "ModelSpec", "ParameterSpec", "DataSpec", "SimulateSpec",
    "StartsSpec", "SolverSpec", "RunSpec", "ConstraintSpec", "OptionValue", "load_spec",
    "parse_spec",
]

#: a solver option's value: TOML scalars only
OptionValue = bool | int | float | str


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``: the sweep's name (also the default store name) and its random seed."""

    name: str
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seed": self.seed}


@dataclass(frozen=True)
class ModelSpec:
    """``[model]``: a built-in model name, or a user objective ``"package.module:function"``.

    Exactly one of ``builtin`` and ``objective`` is set; ``vectorized`` (a twin of the objective
    taking a ``(k, n_params)`` batch) only with ``objective``.  ``kind`` says what the objective
    is, ``'nll'`` (negative log-likelihood) or ``'sse'`` (sum of squared residuals): a built-in
    model knows its own (giving another is refused); a user objective declares it (None: not
    declared, and `calib best --errors` refuses to guess).  ``gradient`` (the objective's
    gradient, ``"package.module:function"``) and ``gradient_vectorized`` (its batched twin,
    only with ``gradient``) are for a user objective only.

    ``residuals`` (``"package.module:function"`` returning the residual vector) replaces
    ``objective`` for a least-squares model: the objective is then ``sum(r**2)`` and its kind
    ``'sse'``; ``residuals_vectorized`` (its ``(k, p) -> (k, m)`` twin) and
    ``residuals_jacobian`` (``(p,) -> (m, p)``) go with it (see `calib.residuals`).
    """

    builtin: str | None = None
    objective: str | None = None
    vectorized: str | None = None
    kind: str | None = None
    gradient: str | None = None
    gradient_vectorized: str | None = None
    residuals: str | None = None
    residuals_vectorized: str | None = None
    residuals_jacobian: str | None = None

    @property
    def is_builtin(self) -> bool:
        return self.builtin is not None

    def to_dict(self) -> dict[str, Any]:
        fields = {"builtin": self.builtin, "objective": self.objective,
                  "vectorized": self.vectorized, "kind": self.kind, "gradient": self.gradient,
                  "gradient_vectorized": self.gradient_vectorized, "residuals": self.residuals,
                  "residuals_vectorized": self.residuals_vectorized,
                  "residuals_jacobian": self.residuals_jacobian}
        return {k: v for k, v in fields.items() if v is not None}

    @property
    def has_residuals(self) -> bool:
        """True for a residual model: a user ``residuals`` or a built-in model that has them."""
        if self.builtin is not None:
            from calib.models import get_model

            return get_model(self.builtin).residuals is not None
        return self.residuals is not None

    @property
    def objective_kind(self) -> str | None:
        """``'nll'`` or ``'sse'``: the built-in model's kind or the declared one (None: not)."""
        if self.builtin is not None:
            from calib.models import get_model

            return get_model(self.builtin).kind
        return "sse" if self.residuals is not None else self.kind


@dataclass(frozen=True)
class ParameterSpec:
    """One entry of ``[parameters]``: bounds in natural units, optimised in log space if ``log``.

    ``fixed`` (natural units, within the bounds) holds the parameter at that value: it is left
    out of the solve (see `SweepSpec.parameter_objects`); None: free.
    """

    name: str
    lower: float
    upper: float
    log: bool = False
    fixed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "lower": self.lower, "upper": self.upper,
                               "log": self.log}
        if self.fixed is not None:  # only then: specs without fixed parameters keep their hash
            out["fixed"] = self.fixed
        return out


@dataclass(frozen=True)
class SimulateSpec:
    """``[data].simulate``: ``datasets`` synthetic series of ``points`` rows from true parameters.

    ``truth`` holds ``(name, value)`` pairs in the order of the spec's parameters.
    """

    datasets: int
    points: int
    truth: tuple[tuple[str, float], ...]

    @property
    def truth_values(self) -> tuple[float, ...]:
        """The true parameter values in the spec's parameter order."""
        return tuple(value for _, value in self.truth)

    def to_dict(self) -> dict[str, Any]:
        return {"datasets": self.datasets, "points": self.points, "truth": dict(self.truth)}


@dataclass(frozen=True)
class DataSpec:
    """``[data]``: files (a glob string or a list of paths/globs) or a simulation.

    ``files`` are kept as written; they are relative to ``base_dir``, the absolute directory of
    the spec file.  Whether they match anything is checked by the data loader, not here.
    ``columns`` are the data columns handed to the objective, in order.
    """

    base_dir: str
    files: str | tuple[str, ...] | None = None
    columns: tuple[str, ...] = ()
    simulate: SimulateSpec | None = None

    def file_patterns(self) -> tuple[str, ...]:
        """The ``files`` entries joined to ``base_dir`` (absolute paths or globs), unexpanded."""
        if self.files is None:
            return ()
        entries = (self.files,) if isinstance(self.files, str) else self.files
        return tuple(str(Path(self.base_dir) / entry) for entry in entries)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.files is not None:
            out["files"] = self.files if isinstance(self.files, str) else list(self.files)
        if self.simulate is not None:
            out["simulate"] = self.simulate.to_dict()
        out["columns"] = list(self.columns)
        out["base_dir"] = self.base_dir
        return out


@dataclass(frozen=True)
class StartsSpec:
    """``[starts]``: ``n`` starts drawn by ``sampler``, or explicit ``points`` (natural units).

    With explicit points ``sampler`` is None and ``n == len(points)``; each point has one value
    per parameter, in the spec's parameter order.
    """

    n: int
    sampler: str | None = "sobol"
    points: tuple[tuple[float, ...], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.points is not None:
            return {"n": self.n, "points": [list(p) for p in self.points]}
        return {"n": self.n, "sampler": self.sampler}


@dataclass(frozen=True)
class SolverSpec:
    """``[solver]``: a `solvers.minimize` method, its options, and whether to record traces.

    ``method`` is spelled as the solver core spells it (``"L-BFGS-B"`` for ``"l-bfgs-b"``);
    ``options`` holds ``(name, value)`` pairs in the order written.
    """

    method: str = "L-BFGS-B"
    options: tuple[tuple[str, OptionValue], ...] = ()
    trace: bool = False

    def options_dict(self) -> dict[str, OptionValue]:
        """The options as a fresh dict, ready for ``minimize(..., options=...)``."""
        return dict(self.options)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "options": dict(self.options), "trace": self.trace}


@dataclass(frozen=True)
class RunSpec:
    """``[run]``: starts per Dask task (None: chosen by the planner, see `jobs.plan`), an
    optional wall-clock limit per start (seconds), and whether a vectorised objective runs its
    starts through the batched solver core (``batch``, default True).  ``isolate`` (default
    True) runs a task's starts in a supervised child process (`calib.isolation`); it changes
    no result, so it is not part of `to_dict` (nor of the hash): a resume may switch it."""

    starts_per_task: int | None = None
    time_limit_per_start: float | None = None
    batch: bool = True
    isolate: bool = True

    def to_dict(self) -> dict[str, Any]:
        # only what was set: a spec leaving the defaults keeps one hash whatever they become
        out: dict[str, Any] = {}
        if self.starts_per_task is not None:
            out["starts_per_task"] = self.starts_per_task
        if self.time_limit_per_start is not None:
            out["time_limit_per_start"] = self.time_limit_per_start
        if not self.batch:
            out["batch"] = False
        return out


@dataclass(frozen=True)
class SweepSpec:
    """A whole, validated sweep spec.  Build it with `load_spec`, `parse_spec` or `from_dict`.

    ``constraints`` holds the ``[[constraints]]`` entries in the order written (empty: none).
    """

    sweep: SweepSection
    model: ModelSpec
    parameters: tuple[ParameterSpec, ...]
    data: DataSpec
    starts: StartsSpec
    solver: SolverSpec
    run: RunSpec
    constraints: tuple[ConstraintSpec, ...] = ()

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Parameter names in the order the objective receives them."""
        return tuple(p.name for p in self.parameters)

    @property
    def fixed_values(self) -> dict[str, float]:
        """{name: value} of the fixed parameters, in spec order (empty: none fixed)."""
        return {p.name: p.fixed for p in self.parameters if p.fixed is not None}

    @property
    def free_parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters the solver varies (all but the fixed ones), in order."""
        return tuple(p.name for p in self.parameters if p.fixed is None)

    def parameter_objects(self) -> tuple[Parameter, ...]:
        """The free parameters as `calib.parameters.Parameter` objects, in order.

        These are the solve's parameters: the start sampler, the problem, the store's parameter
        axis and the selection see only them; the fixed ones are `fixed_values`.

        Raises
        ------
        SpecError
            Naming ``[parameters].<name>`` when `Parameter` refuses the bounds (lower >= upper,
            non-finite, log scale with lower <= 0).
        """
        from calib.errors import CalibError
        from calib.parameters import Parameter

        out = []
        for p in self.parameters:
            if p.fixed is not None:
                continue
            if not p.lower < p.upper:
                raise SpecError(f"[parameters].{p.name}",
                                f"must have lower < upper, got lower = {p.lower!r}, "
                                f"upper = {p.upper!r}")
            try:
                out.append(Parameter(name=p.name, lower=p.lower, upper=p.upper, log=p.log))
            except CalibError as exc:
                raise SpecError(f"[parameters].{p.name}", f"is not a valid parameter: {exc}") \
                    from exc
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the spec's TOML tables with every default filled in.

        One difference from the TOML form: ``"parameters"`` is a list of
        ``{"name", "lower", "upper", "log"}`` objects, so that their order survives any JSON
        store.  ``"data"`` carries ``"base_dir"``.  ``"constraints"`` (a list of tables) is
        present only when the spec has constraints, so specs without them keep their hash.
        """
        out = {
            "sweep": self.sweep.to_dict(),
            "model": self.model.to_dict(),
            "parameters": [p.to_dict() for p in self.parameters],
            "data": self.data.to_dict(),
            "starts": self.starts.to_dict(),
            "solver": self.solver.to_dict(),
            "run": self.run.to_dict(),
        }
        if self.constraints:
            out["constraints"] = [c.to_dict() for c in self.constraints]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        """Rebuild (and re-validate) a spec from `to_dict`'s output.

        Raises
        ------
        SpecError
            As `parse_spec`, and for a missing ``[data].base_dir``.
        """
        tables = copy.deepcopy(dict(data))
        data_table = tables.get("data")
        if not isinstance(data_table, dict) or not isinstance(data_table.get("base_dir"), str):
            raise SpecError("[data].base_dir", "is required in a stored spec (a string)")
        base_dir = data_table.pop("base_dir")
        params = tables.get("parameters")
        if isinstance(params, list):
            tables["parameters"] = _parameters_list_to_table(params)
        return parse_spec(tables, base_dir)

    def canonical_json(self) -> str:
        """A stable JSON text of what the sweep computes: `to_dict` without ``base_dir``.

        Keys are sorted, separators fixed, non-ASCII escaped.  The spec file's directory is left
        out so that a project moved elsewhere still matches its store; everything else
        (parameter order included) is in.
        """
        tables = self.to_dict()
        del tables["data"]["base_dir"]
        return json.dumps(tables, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @property
    def hash(self) -> str:
        """The SHA-256 hex digest of `canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()


def _parameters_list_to_table(entries: list[Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise SpecError(f"[parameters][{i}]", "must be a table with a string 'name'")
        fields = {k: v for k, v in entry.items() if k != "name"}
        if entry["name"] in table:
            raise SpecError(f"[parameters].{entry['name']}", "is given twice")
        table[entry["name"]] = fields
    return table


def parse_spec(tables: Mapping[str, Any], base_dir: str | Path) -> SweepSpec:
    """Parse a spec already read from TOML (or JSON) into a `SweepSpec`.

    Parameters
    ----------
    tables : mapping
        The top-level tables: ``sweep``, ``model``, ``parameters``, ``data``, ``starts``,
        ``solver``, ``run``, and ``constraints`` (an array of tables).
    base_dir : str or Path
        The directory that relative ``[data].files`` are relative to (made absolute here).

    Raises
    ------
    SpecError
        Naming the first field that is missing, unknown, of the wrong type or out of range.
    """
    from jobs.spec_parse import parse_sweep_spec

    return parse_sweep_spec(tables, base_dir)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and parse a TOML sweep spec file; relative data paths are relative to its directory.

    Raises
    ------
    SpecError
        When the file is missing, unreadable or not TOML (with tomllib's line and column), or
        for any field as `parse_spec`.
    """
    path = Path(path)
    where = f"spec file {str(path)!r}"
    if not path.exists():
        raise SpecError(where, "does not exist")
    if not path.is_file():
        raise SpecError(where, "is not a file")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SpecError(where, f"cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(where, f"is not UTF-8 text: {exc}") from exc
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(where, f"is not valid TOML: {exc}") from exc
    return parse_spec(tables, path.resolve().parent)
