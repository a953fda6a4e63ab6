"""DCS data helpers that need no SDK."""

from __future__ import annotations

import pytest

from dcs_backup.dcs.models import dcs_text, mode_from_spec_code


@pytest.mark.parametrize(
    ("spec_code", "mode"),
    [
        ("redis.single.xu1.large.2", "single"),
        ("redis.ha.xu1.tiny.r2.128", "ha"),
        ("redis.cluster.xu1.large.r2.4", "cluster"),
        ("redis.proxy.xu1.large.4", "proxy"),
        ("dcs.master_standby", "ha"),
        ("dcs.single_node", "single"),
        ("dcs.cluster", "cluster"),
        ("redis.unknownmode.xu1.large.4", None),
        ("", None),
        (None, None),
    ],
)
def test_mode_is_read_from_the_spec_code(spec_code: str | None, mode: str | None) -> None:
    assert mode_from_spec_code(spec_code) == mode


@pytest.mark.parametrize(("value", "text"), [(None, None), ("", None), ("{}", None), ("dcs.08.0002", "dcs.08.0002")])
def test_empty_dcs_fields_read_as_none(value: str | None, text: str | None) -> None:
    assert dcs_text(value) == text
