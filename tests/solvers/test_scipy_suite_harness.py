"""The scipy-suite harness (tests/scipy_suite) still swaps our functions in and counts calls.

Runs the plugin on three scipy tests in a subprocess: two that call ``minimize`` (one directly,
one with several methods) and one that never does, and checks the records the plugin writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scipy_suite.__main__ import load_records, run_suite, summary
from tests.scipy_suite.swap import TestRecord

_SELECTION = ("test_trustregion.py", "test_hessian_update_strategy.py")
_KEYWORD = "test_dogleg_accuracy or test_solver_concordance or test_BFGS_skip_update"


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str],
                                                                  list[TestRecord]]:
    json_path = tmp_path_factory.mktemp("scipy_suite") / "records.json"
    run_suite(list(_SELECTION), str(json_path), _KEYWORD)
    return load_records(str(json_path))


def _by_name(records: list[TestRecord]) -> dict[str, TestRecord]:
    return {r.nodeid.rsplit("::", 1)[-1]: r for r in records}


def test_swapped_functions_are_ours(suite_run: tuple[dict[str, str], list[TestRecord]]) -> None:
    swapped, _ = suite_run
    assert swapped["minimize"] == "solvers._minimize.minimize"
    assert swapped["minimize_scalar"] == "solvers._minimize_scalar.minimize_scalar"
    assert swapped["OptimizeResult"] == "solvers._result.OptimizeResult"


def test_calls_of_ours_are_counted_per_test(
        suite_run: tuple[dict[str, str], list[TestRecord]]) -> None:
    records = _by_name(suite_run[1])
    assert set(records) == {"test_dogleg_accuracy", "test_solver_concordance",
                            "test_BFGS_skip_update"}
    assert records["test_dogleg_accuracy"].calls == 1  # one minimize(..., method='dogleg')
    assert records["test_solver_concordance"].calls > 1  # one call per trust-region method
    assert records["test_BFGS_skip_update"].calls == 0  # drives scipy's BFGS class only
    assert all(r.outcome == "passed" for r in records.values())


def test_summary_judges_only_tests_that_call_ours(
        suite_run: tuple[dict[str, str], list[TestRecord]]) -> None:
    text, ok = summary(suite_run[1])
    assert "tests calling our minimize/minimize_scalar: 2\n" in text
    assert "passed: 2\n" in text and "failed: 0\n" in text
    assert ok


def test_summary_lists_each_failure_with_its_reason() -> None:
    records = [TestRecord("x/scipy/optimize/tests/test_a.py::test_one", "failed", 1, 0,
                          "AssertionError: boom"),
               TestRecord("x/scipy/optimize/tests/test_a.py::test_two", "passed", 2, 0, ""),
               TestRecord("x/scipy/optimize/tests/test_a.py::test_three", "failed", 0, 0,
                          "not ours")]
    text, ok = summary(records)
    assert "scipy/optimize/tests/test_a.py::test_one :: AssertionError: boom" in text
    assert "test_three" not in text  # it never called our functions
    assert "pass share of judged tests: 50.0%" in text
    assert not ok


def test_runner_refuses_a_run_that_wrote_no_records(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="not in"):
        run_suite(["test_no_such_file.py"], str(tmp_path / "records.json"))
