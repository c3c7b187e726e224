"""Tests of `calib.status.StartStatus`: the one status enumeration of outcomes and the store."""

from __future__ import annotations

import numpy as np
import pytest

from calib.run import STATUSES
from calib.status import FAILURE_CODES, STATUS_CODES, StartStatus


def test_codes_are_fixed_and_round_trip() -> None:
    # stores keep these numbers: changing one would misread every existing store
    assert STATUS_CODES == {"pending": 0, "converged": 1, "not_converged": 2, "failed": 3,
                            "timeout": 4}
    for status in StartStatus:
        assert StartStatus.from_code(status.code) is status
        assert status == str(status) == status.value  # compares equal to its name


def test_failures_are_failed_and_timeout_only() -> None:
    assert {s for s in StartStatus if s.is_failure} == {StartStatus.FAILED, StartStatus.TIMEOUT}
    assert sorted(FAILURE_CODES.tolist()) == [3, 4] and FAILURE_CODES.dtype == np.int8


def test_outcome_statuses_exclude_pending() -> None:
    assert StartStatus.PENDING not in STATUSES and len(STATUSES) == 4


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="not a start status code"):
        StartStatus.from_code(7)
