"""``make demo``: the whole lifecycle against the bundled DCS and OBS emulators, one checked step per line.

Each step is one function registered with ``@step("what it shows")``: it invokes the function as a
trigger would (``Scene.invoke``), checks that the answer and the emulators' state say what the line
claims (``expect``), and returns the few words printed after it. A step that does not do what it says
stops the story; the command then prints that step's log lines and exits 1. A new step is one more
function here, in the order it should run.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TextIO

from dcs_backup.app import handle
from dcs_backup.idempotency import TAG_PREFIX
from dcs_backup.platform.retry import PollPolicy
from dcs_backup.runtime import Runtime
from dcs_emulator import DcsEmulator, EmulatorState
from dcs_emulator.model import Instance
from dcs_emulator.obs_server import ObsEmulator
from devkit.context import LocalContext
from devkit.seed import ACCESS_KEY, CLUSTER_ID, HA_ID, PROJECT_ID, SECRET_KEY, SINGLE_ID

BUCKET = "demo-backups"
PREFIX = "dcs-backup/"
SECURITY_TOKEN = "demo-security-token-of-the-agency"
TAGGED = {"tags": {"backup": "daily"}}
FLEET = {HA_ID: "orders-cache", CLUSTER_ID: "sessions-cluster", SINGLE_ID: "scratch-single"}
BACKED_UP = (HA_ID, CLUSTER_ID)  # the single-node one cannot be backed up
EARLIER_NIGHTS = 3  # backups the function made before the story starts, on each backed-up instance
KEEP_LAST = 2
ORDERS_KEYS = 1200
SCRATCH_ID = "0a9d3f7e-5b1c-4e2a-8f60-d1c2b3a4e5f6"  # the drills' scratch instance, untagged: never backed up here
SCRATCH_NAME = "drill-scratch"


class StepFailedError(Exception):
    """The step did not do what its line says."""


def expect(condition: bool, problem: str) -> None:
    if not condition:
        raise StepFailedError(problem)


@dataclass
class Scene:
    """The emulators, the function wired to them, and what earlier steps left for later ones."""

    state: EmulatorState
    storage: ObsEmulator
    runtime: Runtime
    logs: io.StringIO = field(default_factory=io.StringIO)
    notes: dict[str, Any] = field(default_factory=dict)

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        """The function's answer to a direct request (a workflow node's), never raised: the step judges it."""
        answer = handle({**request, "raise_on_failure": False}, self.context(), self.runtime)
        expect(isinstance(answer, dict), f"the function answered {answer!r}")
        return dict(answer)

    def context(self) -> LocalContext:
        return LocalContext.seeded(security_token=SECURITY_TOKEN, remaining_ms=30_000)

    def own_backups(self, instance_id: str) -> list[str]:
        """Ids of the function's backups (its marker in the remark) that DCS still holds, oldest first."""
        return [b.backup_id for b in self.state.backups(instance_id) if TAG_PREFIX in b.remark]


class Step(NamedTuple):
    shows: str
    run: Callable[[Scene], str]


STORY: list[Step] = []


def step(shows: str) -> Callable[[Callable[[Scene], str]], Callable[[Scene], str]]:
    """Add the function to the story, after the steps before it, with the line saying what it shows."""

    def register(run: Callable[[Scene], str]) -> Callable[[Scene], str]:
        STORY.append(Step(shows, run))
        return run

    return register


def _by_instance(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["instance_id"]: result for result in document.get("results", [])}


def _statuses(document: dict[str, Any]) -> dict[str, str]:
    return {instance_id: result["status"] for instance_id, result in _by_instance(document).items()}


@step("back up the fleet selected by tag backup=daily: one backup per instance, the single-node one skipped")
def back_up_the_tagged_fleet(scene: Scene) -> str:
    document = scene.invoke({"select": TAGGED})
    expected = {HA_ID: "created", CLUSTER_ID: "created", SINGLE_ID: "skipped"}
    expect(_statuses(document) == expected, f"outcomes {_statuses(document)}, expected {expected}")
    scene.notes["started"] = {i: _by_instance(document)[i]["backup_id"] for i in BACKED_UP}
    return f"{len(BACKED_UP)} backups started, 1 skipped ({_by_instance(document)[SINGLE_ID]['reason']})"


@step("wait for completion: a run with wait=true reports each backup completed, with its size")
def wait_for_completion(scene: Scene) -> str:
    document = scene.invoke({"select": TAGGED, "wait": True, "idempotency_key": "demo-before-upgrade"})
    results = _by_instance(document)
    for instance_id in BACKED_UP:
        result = results[instance_id]
        expect(result["status"] == "completed", f"{FLEET[instance_id]} is {result['status']}, not completed")
        expect(result.get("size_bytes", 0) > 0, f"{FLEET[instance_id]} completed without a size")
        record = next(b for b in scene.state.backups(instance_id) if b.backup_id == result["backup_id"])
        expect(scene.state.backup_status(record) == "succeed", f"DCS does not say {FLEET[instance_id]} succeeded")
    sizes = ", ".join(f"{FLEET[i]} {results[i]['size_bytes']} bytes" for i in BACKED_UP)
    return f"completed: {sizes}"


@step("export to the local bucket: the newest good backup of each instance copied to OBS and verified")
def export_to_the_bucket(scene: Scene) -> str:
    document = scene.invoke({"select": TAGGED, "wait": True, "export": {"bucket": BUCKET, "prefix": PREFIX}})
    stored = scene.storage.store.objects(BUCKET)
    copied = 0
    for instance_id in BACKED_UP:
        export = _by_instance(document)[instance_id].get("export", {})
        expect(export.get("status") == "done", f"{FLEET[instance_id]}'s export is {export.get('status')}")
        for exported in export["objects"]:
            key = exported["key"]
            expect(key.startswith(f"{PREFIX}{instance_id}/{export['backup_id']}/"), f"unexpected key {key}")
            expect(key in stored and stored[key].size == exported["size_bytes"], f"{key} is not in the bucket")
            checksum = exported.get("verification", {}).get("checksum")
            expect(checksum == "verified", f"{key} was copied with checksum {checksum!r}, not verified")
            copied += 1
    return f"{copied} objects in {BUCKET}, each RDB checked (header, EOF, CRC-64)"


@step(f"prune with retention: keep_last={KEEP_LAST} deletes the function's older backups and keeps the newest")
def prune_with_retention(scene: Scene) -> str:
    before = {i: scene.own_backups(i) for i in BACKED_UP}
    document = scene.invoke({"select": TAGGED, "wait": True, "retention": {"keep_last": KEEP_LAST}})
    deleted = 0
    for instance_id in BACKED_UP:
        result = _by_instance(document)[instance_id]
        kept = scene.own_backups(instance_id)
        gone = result.get("deleted_backup_ids", [])
        expect(len(kept) == KEEP_LAST, f"{FLEET[instance_id]} still holds {len(kept)} of the function's backups")
        expect(result["backup_id"] in kept, f"{FLEET[instance_id]}'s newest backup was not kept")
        expect(set(gone) == set(before[instance_id]) - set(kept), f"{FLEET[instance_id]} deleted {gone}")
        deleted += len(gone)
    return f"{deleted} older backups deleted, the newest {KEEP_LAST} kept on each instance"


@step(
    "restore in place: a plan first (nothing written), then orders-cache's newest backup put back after a safety backup"
)
def restore_in_place(scene: Scene) -> str:
    request = {
        "action": "restore",
        "instance_id": HA_ID,
        "confirm_instance_name": FLEET[HA_ID],
        "source": {"latest": True},
        "idempotency_key": "demo-restore-orders",
    }
    good = [b for b in scene.state.backups(HA_ID) if scene.state.backup_status(b) == "succeed"]
    expect(bool(good), "orders-cache has no good backup to restore")
    newest = max(good, key=lambda b: b.created_at)
    held = newest.keys
    expect(held == ORDERS_KEYS, f"the newest backup holds {held} keys, not the {ORDERS_KEYS} orders-cache held")
    scene.state.instance(HA_ID).keys = 0  # the data is lost
    planned = _by_instance(scene.invoke({**request, "plan": True})).get(HA_ID, {})
    expect(planned.get("status") == "planned", f"the plan is {planned.get('status')}: {planned.get('reason')}")
    expect(scene.state.instance(HA_ID).keys == 0, "the plan changed the instance")
    restored = _by_instance(scene.invoke(request)).get(HA_ID, {})
    expect(restored.get("status") == "restored", f"the restore is {restored.get('status')}: {restored.get('reason')}")
    chosen = restored.get("source", {}).get("backup_id")
    expect(chosen == newest.backup_id, f"restored {chosen}, not the newest good backup {newest.backup_id}")
    expect(bool(restored.get("safety_backup_id")), "no safety backup was taken first")
    keys = scene.state.instance(HA_ID).keys
    expect(keys == held, f"orders-cache holds {keys} keys after the restore, its backup {held}")
    return f"backup {chosen} restored ({keys} keys back), safety backup {restored['safety_backup_id']} taken first"


@step("restore drill: each instance's verified export imported into the scratch instance, its keys counted, recorded")
def drill_the_exports(scene: Scene) -> str:
    # Drills prove the exports, and keep their records in the same bucket.
    scene.runtime.env = {**scene.runtime.env, "DCS_EXPORT_BUCKET": BUCKET, "DCS_EXPORT_PREFIX": PREFIX}
    report = scene.invoke({"action": "drill", "select": TAGGED})
    expect(report.get("status") == "succeeded", f"the drill says {report.get('status')}: {report.get('reason')}")
    results = _by_instance(report)
    seconds = []
    for instance_id in BACKED_UP:
        result = results[instance_id]
        expect(result["status"] == "passed", f"{FLEET[instance_id]}'s drill {result['status']}: {result.get('reason')}")
        expect("export" in result, f"{FLEET[instance_id]} was drilled from {result.get('backup_id')}, not its export")
        expected, restored = result["keys_expected"], result["keys_restored"]
        expect(expected == restored, f"{FLEET[instance_id]}: {restored} keys restored, {expected} declared")
        expect(result.get("record", "").startswith(f"dcs-drills/{instance_id}/"), f"no record of {instance_id}")
        seconds.append(result["restore_seconds"])
    expect(results[SINGLE_ID]["status"] == "skipped", "the single-node instance was drilled")
    return f"{len(BACKED_UP)} exports restored into {SCRATCH_NAME} and passed (slowest {max(seconds):.1f} s), 1 skipped"


@step("audit the RPO and the drills: a good backup newer than 24 hours, a passed drill within 7 days")
def audit_the_rpo(scene: Scene) -> str:
    report = scene.invoke({"action": "audit", "select": TAGGED, "rpo_hours": 24, "max_drill_age_days": 7})
    expect(report.get("status") == "succeeded", f"the audit says {report.get('status')}: {report.get('reason')}")
    statuses = _statuses(report)
    expected = {HA_ID: "ok", CLUSTER_ID: "ok", SINGLE_ID: "skipped"}
    expect(statuses == expected, f"verdicts {statuses}, expected {expected}")
    ages = [_by_instance(report)[i]["last_backup"]["age_hours"] for i in BACKED_UP]
    drills = [_by_instance(report)[i]["last_drill"] for i in BACKED_UP]
    expect(all(d and d["result"] == "passed" for d in drills), f"last drills {drills}")
    return (
        f"RPO met on {len(BACKED_UP)} instances (newest backup {max(ages):.2f} h old), each with a passed drill,"
        " 1 skipped"
    )


def demo_state() -> EmulatorState:
    """The seed's instances, three of them tagged backup=daily; quick backups; earlier nights' backups."""
    state = EmulatorState.from_seed(waiting_s=0.1, backuping_s=0.3)
    for instance_id in FLEET:
        state.instance(instance_id).tags["backup"] = "daily"
    state.instance(HA_ID).keys = ORDERS_KEYS  # what its backups hold, and a restore brings back
    state.add_instance(Instance(SCRATCH_ID, SCRATCH_NAME, engine_version="7.0", capacity=4, keys=0))
    for instance_id in BACKED_UP:
        for night in range(EARLIER_NIGHTS, 0, -1):
            remark = f"nightly {TAG_PREFIX}{night:012x}]"
            state.add_backup(instance_id, remark=remark, age_hours=24.0 * night, size_bytes=1 << 20)
    return state


@contextmanager
def scene_of(state: EmulatorState) -> Iterator[Scene]:
    """Both emulators started (and stopped after), the function pointed at them."""
    with ObsEmulator({ACCESS_KEY: SECRET_KEY}, {ACCESS_KEY: SECURITY_TOKEN}) as storage:
        storage.store.create_bucket(BUCKET)
        with DcsEmulator(state, object_storage=storage) as dcs:
            env = {
                "DCS_ENDPOINT": dcs.endpoint,
                "DCS_PROJECT_ID": PROJECT_ID,
                "OBS_ENDPOINT": storage.endpoint,
                "DCS_EXPORT_PART_MB": "5",
                "DCS_RESTORE_TARGETS": f"{HA_ID},{SCRATCH_ID}",  # the only instances the story may write data to
                "DCS_DRILL_INSTANCE": SCRATCH_ID,
            }
            runtime = Runtime(env=env)
            runtime.poll_policy = PollPolicy(first_delay_s=0.1, max_delay_s=0.3)
            scene = Scene(state, storage, runtime)
            runtime.log_stream = scene.logs
            yield scene


def tell(story: Sequence[Step], state: EmulatorState, out: TextIO) -> int:
    """Run the steps in order, one line each; 0 when every step did what it says, else 1."""
    started = time.monotonic()
    with scene_of(state) as scene:
        for number, (shows, run) in enumerate(story, start=1):
            print(f"{number}/{len(story)} {shows}", file=out, flush=True)
            lines_before = len(scene.logs.getvalue().splitlines())
            try:
                said = run(scene)
            except (StepFailedError, KeyError, StopIteration) as error:
                print(f"    FAILED: {error}", file=out)
                _show_logs(scene.logs.getvalue().splitlines()[lines_before:], out)
                return 1
            print(f"    ok: {said}", file=out, flush=True)
    print(f"the story holds: {len(story)} steps in {time.monotonic() - started:.1f} s", file=out)
    return 0


def _show_logs(lines: list[str], out: TextIO) -> None:
    """The failed step's log lines, message first, for the person finding out why."""
    for line in lines:
        fields = json.loads(line)
        print(f"    | {fields.get('level')}: {fields.get('message')} {fields.get('instance_id', '')}", file=out)


def main() -> int:
    return tell(STORY, demo_state(), sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
