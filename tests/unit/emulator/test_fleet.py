"""The emulator's generated fleet and seed-file backups: reproducible, varied, as documented."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dcs_emulator import EmulatorState
from dcs_emulator.fleet import fleet_instances
from dcs_emulator.state import DEFAULT_SEED
from devkit.seed import CLUSTER_ID, FROZEN_ID, HA_ID, SINGLE_ID


class TestFleet:
    def test_the_same_seed_gives_the_same_fleet(self) -> None:
        assert fleet_instances(50, seed=3) == fleet_instances(50, seed=3)

    def test_another_seed_gives_other_ids(self) -> None:
        ids = {i.instance_id for i in fleet_instances(50, seed=3)}
        assert ids.isdisjoint(i.instance_id for i in fleet_instances(50, seed=4))

    def test_the_fleet_mixes_every_mode_and_several_statuses(self) -> None:
        instances = fleet_instances(300, seed=0)
        modes = Counter(i.cache_mode for i in instances)
        statuses = Counter(i.status for i in instances)
        assert set(modes) == {"ha", "cluster", "proxy", "ha_rw_split", "single"}
        assert statuses.most_common(1)[0][0] == "RUNNING"
        assert {"FROZEN", "RESTARTING", "CREATEFAILED"} <= set(statuses)

    def test_backup_daily_is_on_every_third_instance(self) -> None:
        instances = fleet_instances(30, seed=0)
        daily = [n for n, i in enumerate(instances) if i.tags.get("backup") == "daily"]
        assert daily == list(range(0, 30, 3))

    def test_names_and_ids_are_unique(self) -> None:
        instances = fleet_instances(300, seed=0)
        assert len({i.name for i in instances}) == len({i.instance_id for i in instances}) == 300

    def test_a_fleet_state_keeps_the_seeded_instances(self) -> None:
        state = EmulatorState.fleet(10, seed=0)
        assert len(state.instances) == 14
        assert {HA_ID, CLUSTER_ID, SINGLE_ID, FROZEN_ID} <= set(state.instances)


class TestSeedFileBackups:
    def test_an_instance_entry_can_carry_backups(self, tmp_path: Path) -> None:
        # GIVEN a seed file whose first instance holds an automatic and a failed backup
        seed = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
        seed["instances"][0]["backups"] = [
            {"backup_type": "auto", "age_hours": 30},
            {"remark": "theirs", "age_hours": 2, "status": "failed", "error_code": "dcs.08.0001"},
        ]
        path = tmp_path / "seed.json"
        path.write_text(json.dumps(seed), encoding="utf-8")
        # WHEN the state is built from it
        state = EmulatorState.from_seed(path)
        # THEN the instance lists them, newest first
        backups = state.backups(HA_ID)
        assert [(b.backup_type, b.remark, state.backup_status(b), b.error_code) for b in backups] == [
            ("manual", "theirs", "failed", "dcs.08.0001"),
            ("auto", "", "succeed", None),
        ]
