"""pytest plugin: scipy's `minimize` / `minimize_scalar` replaced by ours, calls recorded per test.

Load it with ``-p tests.scipy_suite.swap``.  At ``pytest_configure`` (before any test module is
collected) it binds `solvers.minimize` / `solvers.minimize_scalar`, each wrapped in a counter,
to ``scipy.optimize.minimize`` / ``minimize_scalar`` and to the same names in
``scipy.optimize._minimize``, so ``from scipy.optimize import minimize``, ``optimize.minimize``
and ``from scipy.optimize._minimize import minimize`` in scipy's test modules all reach ours.
After collection, any name in a ``scipy.optimize.tests`` module still bound to scipy's original
function is rebound too.  scipy's other functions (``fmin_bfgs``, ``basinhopping`` ...) are left
alone except where they look ``scipy.optimize.minimize`` up at call time.

Our result and warning classes are our own (solvers never imports scipy), so a scipy test's
``isinstance(res, OptimizeResult)`` or ``pytest.warns(OptimizeWarning)`` could never see ours.
For the measurement only, `install` also binds `solvers.OptimizeResult` and
`solvers.OptimizeWarning` to those names wherever the ``minimize`` names are bound
(scipy.optimize, scipy.optimize._minimize and the test modules; scipy's own functions keep
returning and emitting scipy's), as a user who switches ``from scipy.optimize import ...`` to
``from solvers import ...`` would; those checks then test what our functions return and emit.
(Making ours subclasses of scipy's is impossible: CPython refuses the ``__bases__`` change.)

Each test's outcome (setup, call and teardown together) and the number of calls of our
functions during it are written as JSON to the file named by ``--scipy-suite-json``.  A call
counts as the test's own when the calling frame is in a scipy.optimize test module; calls made
inside scipy's functions (basinhopping) are recorded apart as indirect.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pytest

import solvers

__all__ = ["TestRecord", "install", "originals"]

_SWAPPED_NAMES = ("minimize", "minimize_scalar", "least_squares")
_SWAPPED_CLASSES = ("OptimizeResult", "OptimizeWarning")
_TARGET_MODULES = ("scipy.optimize", "scipy.optimize._minimize")
_TEST_PACKAGE = "scipy.optimize.tests"


@dataclass(frozen=True)
class TestRecord:
    """One scipy test: its node id, outcome and how often it called our functions."""

    __test__ = False  # not a test class for pytest

    nodeid: str
    outcome: str  # 'passed' | 'failed' | 'skipped' | 'xfailed' | 'xpassed'
    calls: int  # calls of our minimize / minimize_scalar made by the test's own code
    indirect_calls: int  # calls made inside scipy's functions (not counted as the test's)
    reason: str  # one line: the failure, skip or xfail reason ('' when passed)


class _CallCounter:
    """Thread-safe counts of calls of the swapped functions since the last `reset`: direct
    (made by code in a scipy test module) and indirect (made inside scipy, e.g. basinhopping
    looking up ``scipy.optimize.minimize``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._direct = 0
        self._indirect = 0

    def hit(self, direct: bool) -> None:
        with self._lock:
            if direct:
                self._direct += 1
            else:
                self._indirect += 1

    def reset(self) -> tuple[int, int]:
        """The (direct, indirect) counts so far; both start again from zero."""
        with self._lock:
            counts = (self._direct, self._indirect)
            self._direct = self._indirect = 0
        return counts


_COUNTER = _CallCounter()
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _counting(ours: Callable[..., Any]) -> Callable[..., Any]:
    """``ours`` wrapped so that each call is counted; ``wrapper.__wrapped__`` is ``ours``."""
    @functools.wraps(ours)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        _COUNTER.hit(direct=caller.startswith(_TEST_PACKAGE))
        return ours(*args, **kwargs)
    return wrapper


def originals() -> dict[str, Callable[..., Any]]:
    """scipy's own functions that `install` replaced, by name (empty before `install`)."""
    return dict(_ORIGINALS)


def install() -> dict[str, Callable[..., Any]]:
    """Bind our counted functions in scipy.optimize; return them by name.  Idempotent."""
    import scipy.optimize  # noqa: F401 - the modules patched below
    import scipy.optimize._minimize  # noqa: F401

    replacements: dict[str, Any] = {}
    for name in _SWAPPED_CLASSES:
        current = getattr(sys.modules["scipy.optimize"], name)
        if current is not getattr(solvers, name):
            _ORIGINALS[name] = current
        replacements[name] = getattr(solvers, name)
        for module_name in _TARGET_MODULES:
            setattr(sys.modules[module_name], name, replacements[name])
    for name in _SWAPPED_NAMES:
        current = getattr(sys.modules["scipy.optimize"], name)
        if getattr(current, "__wrapped__", None) is getattr(solvers, name):
            replacements[name] = current
            continue
        _ORIGINALS[name] = current
        replacements[name] = _counting(getattr(solvers, name))
        for module_name in _TARGET_MODULES:
            setattr(sys.modules[module_name], name, replacements[name])
    return replacements


def _rebind_test_modules(replacements: dict[str, Callable[..., Any]]) -> None:
    """Rebind any name in an imported scipy.optimize test module still bound to scipy's."""
    originals_by_id = {id(fn): name for name, fn in _ORIGINALS.items()}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith(_TEST_PACKAGE) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            name = originals_by_id.get(id(value))
            if name is not None:
                setattr(module, attr, replacements[name])


class _Recorder:
    """Collects one `TestRecord` per test from the reports of its three phases."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.records: list[TestRecord] = []
        self._calls: dict[str, int] = {}
        self._reports: dict[str, list[pytest.TestReport]] = {}
        self.replacements: dict[str, Callable[..., Any]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        _rebind_test_modules(self.replacements)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Any:
        _COUNTER.reset()
        yield
        calls = _COUNTER.reset()
        self.records.append(_summarise(item.nodeid, self._reports.pop(item.nodeid, []), calls))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._reports.setdefault(report.nodeid, []).append(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.path is None:
            return
        payload = {
            "swapped": {name: _qualified(getattr(fn, "__wrapped__", fn))
                        for name, fn in self.replacements.items()},
            "records": [asdict(r) for r in self.records],
        }
        with open(self.path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1)


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _one_line(report: pytest.TestReport) -> str:
    """The first line of what a report says went wrong (or why it was skipped / xfailed)."""
    if hasattr(report, "wasxfail") and report.wasxfail:
        return f"xfail: {report.wasxfail}".splitlines()[0]
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # skip: (path, line, reason)
        return str(longrepr[2]).splitlines()[0] if longrepr[2] else "skipped"
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr or "")
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def _summarise(nodeid: str, reports: list[pytest.TestReport],
               calls: tuple[int, int]) -> TestRecord:
    """One record from a test's setup/call/teardown reports (the first non-pass decides)."""
    for report in reports:
        if report.failed:
            outcome = "xpassed" if getattr(report, "wasxfail", "") else "failed"
            return TestRecord(nodeid, outcome, *calls, _one_line(report))
        if report.skipped:
            outcome = "xfailed" if getattr(report, "wasxfail", "") else "skipped"
            return TestRecord(nodeid, outcome, *calls, _one_line(report))
    xpassed = any(r.when == "call" and getattr(r, "wasxfail", "") for r in reports)
    return TestRecord(nodeid, "xpassed" if xpassed else "passed", *calls, "")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--scipy-suite-json", default=None,
                     help="write one record per test (outcome, calls of our functions) here")


def pytest_configure(config: pytest.Config) -> None:
    recorder = _Recorder(config.getoption("--scipy-suite-json"))
    recorder.replacements = install()
    config.pluginmanager.register(recorder, "scipy-suite-recorder")
