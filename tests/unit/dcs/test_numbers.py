"""Numbers DCS sends in headers and answers are read as ASCII digits only."""

from __future__ import annotations

import pytest

from dcs_backup.dcs.errors import _retry_after_seconds
from dcs_backup.dcs.gateway import _count


@pytest.mark.parametrize("value", ["٣", "1e1", "inf", "1_0", "-1", "2.5", "", "²"])
def test_a_retry_after_that_is_not_ascii_digits_is_ignored(value: str) -> None:
    assert _retry_after_seconds(value) is None


def test_a_retry_after_in_whole_seconds_is_read() -> None:
    assert _retry_after_seconds(" 3 ") == 3.0


@pytest.mark.parametrize(
    ("value", "count"), [(12, 12), ("12", 12), ("abc", 0), ("١٢", 0), (None, 0), (True, 0), (-1, 0)]
)
def test_an_announced_total_is_a_whole_number_or_nothing(value: object, count: int) -> None:
    assert _count(value) == count
