"""Reading an instance's backup records across pages, whatever the server says about them."""

from __future__ import annotations

from typing import Any

import pytest

from dcs_emulator import EmulatorState
from devkit.seed import HA_ID
from tests.conftest import FunctionHarness
from tests.support import own_backup


class TestRecordPaging:
    def test_a_server_that_repeats_its_page_ends_the_listing(
        self, function: FunctionHarness, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # GIVEN a server that ignores offset and claims far more records than it has
        import dcs_emulator.server as server

        original = server._list_backups

        def repeating(state: EmulatorState, instance_id: str, args: dict[str, str]) -> tuple[int, Any]:
            status, answer = original(state, instance_id, {**args, "offset": "0"})
            return status, ({**answer, "total_num": 1_000_000} if answer else answer)

        monkeypatch.setattr(server, "_list_backups", repeating)
        own_backup(function.emulator.state, 1.0)
        # WHEN a backup is requested
        result = function.invoke({"instance_ids": [HA_ID]})
        # THEN the records were read twice at most (the repeat ends it) and the backup was started
        assert result.answer["results"][0]["status"] == "created"
        assert len(function.emulator.requests_for("ListBackupRecords")) <= 2
