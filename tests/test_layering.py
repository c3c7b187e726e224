"""The package layers import downward only, scipy never leaves the tests, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("solvers", "calib", "jobs")
#: package -> packages of ours it may import
ALLOWED = {"solvers": {"solvers"}, "calib": {"calib", "solvers"},
           "jobs": {"jobs", "calib", "solvers"}}
#: third-party top-level modules each layer may import (besides the standard library)
THIRD_PARTY = {"solvers": {"numpy"}, "calib": {"numpy"},
               "jobs": {"numpy", "dask", "distributed", "zarr", "click"}}
#: optional extras a layer may import, never at module level (inside functions, or under
#: ``if TYPE_CHECKING:``), so that ``import jobs.x`` works without them
OPTIONAL = {"solvers": set(), "calib": set(),
            "jobs": {"xarray", "pandas", "pyarrow", "matplotlib"}}
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    import sys

    package = path.relative_to(ROOT).parts[0]
    ours = set(PACKAGES)
    tops = _imported_tops(path)
    upward = (tops & ours) - ALLOWED[package]
    assert not upward, f"{path.name} imports {sorted(upward)} above its layer"
    foreign = {t for t in tops - ours if t not in sys.stdlib_module_names}
    assert "scipy" not in foreign, f"{path.name} imports scipy (test oracle only)"
    assert foreign <= THIRD_PARTY[package] | OPTIONAL[package], (
        f"{path.name} imports {sorted(foreign - THIRD_PARTY[package])}, not a dependency of "
        f"the {package} layer")
    tree = ast.parse(path.read_text(), filename=str(path))
    eager = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import)
             for alias in node.names}
    eager |= {node.module.split(".")[0] for node in tree.body
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    assert not eager & OPTIONAL[package], (
        f"{path.name} imports the optional {sorted(eager & OPTIONAL[package])} at module level")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_size_cap(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.name} has {n} lines (cap {MAX_LINES})"


@pytest.mark.parametrize("path", [p for p in _modules() if p.relative_to(ROOT).parts[0] != "solvers"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_solver_machinery_outside_solvers(path: Path) -> None:
    """calib and jobs use the solver core through its public API only (`solvers.__all__`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    private = sorted({node.module for node in ast.walk(tree)
                      if isinstance(node, ast.ImportFrom) and node.module
                      and node.module.startswith("solvers._")})
    assert not private, f"{path.name} imports private solver modules {private}"


# -- inside solvers: the tree reads like the method table ---------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules of ours that ``path`` imports (relative imports resolved;
    ``from pkg import name`` counts as importing ``pkg`` and ``pkg.name``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _runner_modules() -> dict[str, str]:
    """Registered runner module -> method name, for `minimize` and `minimize_scalar`."""
    from solvers._registry import METHODS, SCALAR_METHODS

    runners = {spec.name: spec.runner for spec in METHODS.values()} | dict(SCALAR_METHODS)
    return {runner.__module__: name for name, runner in runners.items()}


def test_the_registry_holds_real_runners_of_every_method() -> None:
    from solvers._registry import METHODS, SCALAR_METHODS

    for spec in METHODS.values():
        assert callable(spec.runner) and spec.runner.__module__.startswith("solvers.methods."), spec
    for name, runner in SCALAR_METHODS.items():
        assert callable(runner) and runner.__module__.startswith("solvers.methods.scalar."), name
    assert len(set(_runner_modules())) == len(METHODS) + len(SCALAR_METHODS)


SOLVER_MODULES = sorted((ROOT / "solvers").rglob("*.py"))


@pytest.mark.parametrize("path", SOLVER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_method_imports_another_method(path: Path) -> None:
    """A runner module is imported by the registry only; shared pieces live in ``_core`` or
    ``_search`` (which import no method) or in the family's own folder."""
    name = _module_name(path)
    if name == "solvers._registry":
        return
    runners = _runner_modules()
    imported = _imported_modules(path)
    other_runners = sorted(m for m in imported if m in runners and m != name)
    assert not other_runners, f"{name} imports the runner modules {other_runners}"
    if name.startswith(("solvers._core", "solvers._search")):
        methods = sorted(m for m in imported if m.startswith("solvers.methods"))
        assert not methods, f"{name} (shared machinery) imports methods {methods}"
    if name.startswith("solvers.methods."):
        family = name.split(".")[2]
        foreign = sorted(m for m in imported if m.startswith("solvers.methods.")
                         and m.split(".")[2] != family)
        assert not foreign, f"{name} imports another method family: {foreign}"
