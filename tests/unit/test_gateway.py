"""Pure helpers of the DCS gateway."""

from __future__ import annotations

import pytest

from dcs_backup.dcs.gateway import _mode_from_spec_code


@pytest.mark.parametrize(
    ("spec_code", "mode"),
    [
        ("redis.single.xu1.large.2", "single"),
        ("redis.ha.xu1.tiny.r2.128", "ha"),
        ("redis.cluster.xu1.large.r2.4", "cluster"),
        ("", None),
        (None, None),
    ],
)
def test_mode_is_read_from_the_spec_code(spec_code: str | None, mode: str | None) -> None:
    assert _mode_from_spec_code(spec_code) == mode
