"""The restore request: one target confirmed by name, exactly one source, every problem named at once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcs_backup.platform.errors import InvalidRequestError
from dcs_backup.restore.spec import RESTORE_FIELDS, ExportSource, RestoreSource, parse_restore_request

TARGET = "5f2b9c1e-0a41-4d8e-9b0f-3c6a7e1d2b01"


def _request(**fields: Any) -> dict[str, Any]:
    return {"action": "restore", "instance_id": TARGET, "confirm_instance_name": "orders", **fields}


def _problems(payload: dict[str, Any]) -> set[str]:
    with pytest.raises(InvalidRequestError) as raised:
        parse_restore_request(payload)
    return {p.field for p in raised.value.problems}


class TestParsing:
    def test_defaults_wait_and_take_a_safety_backup_and_restore_in_place(self) -> None:
        request = parse_restore_request(_request(source={"latest": True}))
        assert request.source == RestoreSource(latest=True)
        assert request.source_instance_id == TARGET and request.in_place
        assert (request.backup_before_restore, request.wait, request.plan, request.allow_non_empty_target) == (
            True,
            True,
            False,
            False,
        )

    def test_another_source_instance_makes_it_an_import(self) -> None:
        other = "8d4e7a10-6c25-4f3b-a1e9-0b7c2d5f9e02"
        request = parse_restore_request(_request(source={"backup_id": "b-1"}, source_instance_id=other))
        assert not request.in_place and request.source_instance_id == other

    def test_exported_objects_are_keyed_under_the_prefix_and_always_imported(self) -> None:
        source = {"export": {"bucket": "team-backups", "prefix": "dcs/", "objects": ["x.rdb"]}}
        request = parse_restore_request(_request(source=source))
        assert request.source.export == ExportSource("team-backups", ("dcs/x.rdb",), "dcs/")
        assert not request.in_place

    def test_the_instance_and_its_confirmation_name_are_required(self) -> None:
        assert _problems({"action": "restore", "source": {"latest": True}}) == {
            "instance_id",
            "confirm_instance_name",
        }

    @pytest.mark.parametrize(
        "source",
        [None, {}, {"latest": True, "backup_id": "b-1"}, {"latest": False}, {"backup_id": ""}, {"newest": True}],
    )
    def test_a_source_must_be_exactly_one_of_the_three(self, source: Any) -> None:
        assert _problems(_request(source=source)) & {"source", "source.latest", "source.backup_id", "source.newest"}

    @pytest.mark.parametrize("objects", [None, [], ["a", "a"], [""], [1], ["k"] * 65])
    def test_an_export_names_its_objects(self, objects: Any) -> None:
        assert "source.export.objects" in _problems(
            _request(source={"export": {"bucket": "team-backups", "objects": objects}})
        )

    def test_an_export_without_objects_asks_for_the_newest_verified_export(self) -> None:
        request = parse_restore_request(_request(source={"export": {"bucket": "team-backups"}}))
        assert request.source.export is not None and request.source.export.objects == ()

    def test_flags_are_booleans(self) -> None:
        assert _problems(_request(source={"latest": True}, plan="yes", wait=1)) == {"plan", "wait"}

    def test_unknown_fields_are_named(self) -> None:
        assert "instance_ids" in _problems(_request(source={"latest": True}, instance_ids=[TARGET]))


@given(
    st.dictionaries(
        st.sampled_from((*RESTORE_FIELDS, "source.x", "extra")),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just({"latest": True})),
        max_size=8,
    )
)
def test_any_payload_parses_or_is_refused_naming_fields(payload: dict[str, Any]) -> None:
    try:
        request = parse_restore_request(payload)
    except InvalidRequestError as error:
        assert error.problems and all(p.field for p in error.problems)
        return
    assert request.instance_id and request.confirm_instance_name
