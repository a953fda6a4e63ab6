"""The emulator's HTTP front: routing, signature and project checks, faults, JSON answers."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dcs_emulator import signature
from dcs_emulator.faults import Fault, FaultInjector, FaultKind
from dcs_emulator.links import backup_links
from dcs_emulator.listing import list_item_json, matching_instances
from dcs_emulator.loopback import LoopbackHandler, LoopbackServer
from dcs_emulator.model import DcsApiError, malformed_request
from dcs_emulator.obs_server import ObsEmulator
from dcs_emulator.obs_store import ObsError
from dcs_emulator.state import EmulatorState, tags_json

MAX_CLOCK_SKEW = timedelta(minutes=15)
# Faults answered with a canned DCS error instead of doing the work.
_FAULT_ERRORS = {
    FaultKind.FORBIDDEN: (403, "DCS.2003", "This role does not have the permission to perform this operation."),
    FaultKind.SERVER_ERROR: (500, "DCS.5000", "Internal service error."),
    FaultKind.UNAVAILABLE: (503, "DCS.5000", "Internal service error."),
}
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # before ShowInstance, whose pattern would take "statistic" for an instance id
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances/statistic$"), "ListStatisticsOfRunningInstances"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances$"), "ListInstances"),
    ("PUT", re.compile(r"^/v2/(?P<project>[^/]+)/instances/status$"), "RestartOrFlushInstances"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)$"), "ShowInstance"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/tags$"), "ShowTags"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/backups$"), "ListBackupRecords"),
    ("POST", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/backups$"), "CreateBackup"),
    (
        "DELETE",
        re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/backups/(?P<backup>[^/]+)$"),
        "DeleteBackup",
    ),
    (
        "POST",
        re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/backups/(?P<backup>[^/]+)/links$"),
        "ListBackupFileLinks",
    ),
    ("POST", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/restores$"), "RestoreInstance"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/instances/(?P<instance>[^/]+)/restores$"), "ListRestoreRecords"),
    ("POST", re.compile(r"^/v2/(?P<project>[^/]+)/migration-task$"), "CreateMigrationTask"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/migration-task/(?P<task>[^/]+)$"), "ShowMigrationTask"),
    ("GET", re.compile(r"^/v2/(?P<project>[^/]+)/migration-tasks$"), "ListMigrationTask"),
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, for tests to inspect."""

    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class DcsEmulator(LoopbackServer):
    """Loopback DCS API server; use as a context manager or start()/stop().

    ``object_storage`` is where ListBackupFileLinks publishes a backup's files and points its links;
    without one, that call answers DCS.5000.
    """

    def __init__(self, state: EmulatorState, port: int = 0, object_storage: ObsEmulator | None = None) -> None:
        self.state = state
        self.object_storage = object_storage
        if object_storage is not None:
            state.restores.object_keys = partial(declared_keys, object_storage)
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        super().__init__(port, _Handler, "dcs-emulator")

    def record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self.requests.append(request)

    def requests_for(self, route: str) -> list[RecordedRequest]:
        with self._requests_lock:
            return [r for r in self.requests if r.route == route]


class _Handler(LoopbackHandler):
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        emulator = self.server.emulator
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        route, params = _match(self.command, url.path)
        auth_error = _check_signature(emulator.state, self.command, url.path, query, headers, body)
        emulator.record(
            RecordedRequest(route or "", self.command, url.path, dict(query), headers, body, auth_error is None)
        )
        if route is None:
            self._answer(
                404, {"error_code": "APIG.0101", "error_msg": "The API does not exist or has not been published."}
            )
            return
        try:
            if auth_error is not None:
                raise auth_error
            _check_project(emulator.state, params["project"], headers)
            fault = emulator.faults.next_fault(route)
            if fault is not None and self._inject(fault, headers):
                return
            if route == "ListBackupFileLinks":
                status, payload = 200, backup_links(emulator.state, emulator.object_storage, params, _json_object(body))
            else:
                status, payload = _dispatch(emulator.state, route, params, query, body)
            if self._answered_by_fault_after_handling(fault):
                return
            if fault is not None and fault.kind is FaultKind.TRICKLE:
                self._trickle(status, payload, fault.delay_s)
                return
            self._answer(status, payload)
        except DcsApiError as error:
            self._answer(error.status, _error_body(error.code, error.message))

    def _answered_by_fault_after_handling(self, fault: Fault | None) -> bool:
        """Faults that strike once the request did its work: a lost or a late answer."""
        if fault is not None and fault.kind is FaultKind.LOST_RESPONSE:
            self._reset()
            return True
        if fault is not None and fault.kind is FaultKind.SLOW_ANSWER:
            time.sleep(fault.delay_s)
        return False

    def _inject(self, fault: Fault, headers: dict[str, str]) -> bool:
        """Act out a fault before the work is done; True when that already answered the request."""
        if fault.kind is FaultKind.LATENCY:
            time.sleep(fault.delay_s)
        elif fault.kind is FaultKind.RESET:
            self._reset()
        elif fault.kind is FaultKind.THROTTLE:
            extra = {"Retry-After": f"{fault.retry_after_s:g}"} if fault.retry_after_s is not None else {}
            self._answer(429, _error_body("APIG.0308", "The throttling threshold has been reached."), extra)
        elif fault.kind is FaultKind.ECHO_CREDENTIALS:
            self._echo_credentials(headers)
        elif fault.kind in _FAULT_ERRORS:
            status, code, message = _FAULT_ERRORS[fault.kind]
            self._answer(status, _error_body(code, message))
        return fault.kind not in (FaultKind.LATENCY, FaultKind.LOST_RESPONSE, FaultKind.SLOW_ANSWER, FaultKind.TRICKLE)

    def _echo_credentials(self, headers: dict[str, str]) -> None:
        """A careless backend quoting the caller's access key and token back, in the message and a header."""
        parts = signature.parse_authorization(headers.get("authorization", "")) or {}
        echoed = f"access key {parts.get('Access', '')}, security token {headers.get('x-security-token', '')}"
        message = f"This role does not have the permission to perform this operation ({echoed})."
        self._answer(403, _error_body("DCS.2003", message), {"X-Echo": echoed})

    def _answer(self, status: int, payload: Any, extra_headers: dict[str, str] | None = None) -> None:
        data = _body(payload)
        self._write_headers(status, data, payload is not None, extra_headers)
        self.wfile.write(data)

    def _trickle(self, status: int, payload: Any, delay_s: float) -> None:
        """The whole answer, one byte at a time: every read gets something soon, the answer takes long."""
        data = _body(payload)
        self._write_headers(status, data, payload is not None, None)
        for offset in range(len(data)):
            self.wfile.write(data[offset : offset + 1])
            self.wfile.flush()
            time.sleep(delay_s)

    def _write_headers(self, status: int, data: bytes, is_json: bool, extra_headers: dict[str, str] | None) -> None:
        self.send_response(status)
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if is_json:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, so the client never sees an answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _body(payload: Any) -> bytes:
    return b"" if payload is None else json.dumps(payload).encode("utf-8")


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message, "error_ext_msg": None}


def _match(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    for route_method, pattern, name in _ROUTES:
        found = pattern.match(path)
        if found and route_method == method:
            return name, found.groupdict()
    return None, {}


def _check_signature(
    state: EmulatorState, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
) -> DcsApiError | None:
    """The API gateway's AK/SK check: APIG.0301 for anything that does not verify."""
    rejected = DcsApiError(401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail")
    parts = signature.parse_authorization(headers.get("authorization", ""))
    if parts is None or parts["Access"] not in state.credentials:
        return rejected
    sdk_date = headers.get("x-sdk-date", "")
    try:
        signed_at = datetime.strptime(sdk_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return rejected
    if abs(datetime.now(timezone.utc) - signed_at) > MAX_CLOCK_SKEW:
        return DcsApiError(401, "APIG.0301", "Incorrect IAM authentication information: x-sdk-date expired")
    signed_headers = parts["SignedHeaders"].split(";")
    if "host" not in signed_headers or any(name not in headers for name in signed_headers):
        return rejected
    token = state.security_tokens.get(parts["Access"])
    if token is not None and (headers.get("x-security-token") != token or "x-security-token" not in signed_headers):
        return rejected
    canonical = signature.canonical_request(method, path, query, headers, signed_headers, body)
    expected = signature.signature(state.credentials[parts["Access"]], sdk_date, canonical)
    return None if expected == parts["Signature"] else rejected


def _check_project(state: EmulatorState, project_in_path: str, headers: dict[str, str]) -> None:
    if project_in_path != state.project_id or headers.get("x-project-id", project_in_path) != project_in_path:
        raise DcsApiError(401, "DCS.1004", "Project ID does not match the token.")


def _dispatch(
    state: EmulatorState, route: str, params: dict[str, str], query: list[tuple[str, str]], body: bytes
) -> tuple[int, Any]:
    args = dict(query)
    state.restores.settle()
    if route in _RESTORE_ROUTES:
        return _dispatch_restore(state, route, params, args, body)
    if route == "ShowInstance":
        return 200, state.instance_json(state.instance(params["instance"]))
    if route == "ListInstances":
        return 200, _list_instances(state, args)
    if route == "ShowTags":
        return 200, {"tags": tags_json(state.instance(params["instance"]))}
    if route == "ListBackupRecords":
        return _list_backups(state, params["instance"], args)
    if route == "CreateBackup":
        request = _json_object(body)
        backup = state.create_backup(
            params["instance"], str(request.get("remark") or ""), str(request.get("backup_format") or "rdb")
        )
        return 200, {"backup_id": backup.backup_id}
    state.delete_backup(params["instance"], params["backup"])
    return 204, None


_RESTORE_ROUTES = frozenset(
    {
        "RestoreInstance",
        "ListRestoreRecords",
        "ListStatisticsOfRunningInstances",
        "CreateMigrationTask",
        "ShowMigrationTask",
        "ListMigrationTask",
        "RestartOrFlushInstances",
    }
)


def _dispatch_restore(
    state: EmulatorState, route: str, params: dict[str, str], args: dict[str, str], body: bytes
) -> tuple[int, Any]:
    desk = state.restores
    if route == "RestoreInstance":
        return 200, {"restore_id": desk.restore(params["instance"], _json_object(body)).restore_id}
    if route == "ListRestoreRecords":
        offset, limit = _paging(args)
        records = desk.restores(params["instance"])
        page = [desk.restore_json(r) for r in records[offset : offset + limit]]
        return 200, {"restore_record_response": page, "total_num": len(records)}
    if route == "ListStatisticsOfRunningInstances":
        return 200, {"statistics": desk.statistics()}
    if route == "RestartOrFlushInstances":
        return 200, {"results": desk.flush(_json_object(body))}
    if route == "CreateMigrationTask":
        task = desk.create_task(_json_object(body))
        return 200, {"id": task.task_id, "name": task.name, "status": "MIGRATING", "error": ""}
    if route == "ShowMigrationTask":
        return 200, desk.task_json(desk.task(params["task"]))
    offset, limit = _paging(args)
    tasks = desk.tasks(args.get("name"))[offset : offset + limit]
    return 200, {"count": len(desk.tasks(args.get("name"))), "migration_tasks": [desk.task_list_item(t) for t in tasks]}


def _list_instances(state: EmulatorState, args: dict[str, str]) -> dict[str, Any]:
    offset, limit = _paging(args)
    matches = matching_instances(state, args)
    return {"instance_num": len(matches), "instances": [list_item_json(i) for i in matches[offset : offset + limit]]}


def _list_backups(state: EmulatorState, instance_id: str, args: dict[str, str]) -> tuple[int, Any]:
    offset, limit = _paging(args)
    begin, end = _time_arg(args, "begin_time"), _time_arg(args, "end_time")
    records = [
        b
        for b in state.backups(instance_id)
        if (begin is None or b.created_at >= begin) and (end is None or b.created_at <= end)
    ]
    if not records:
        return 204, None
    page = records[offset : offset + limit]
    return 200, {"total_num": len(records), "backup_record_response": [state.backup_json(b) for b in page]}


def _paging(args: dict[str, str]) -> tuple[int, int]:
    offset, limit = args.get("offset", "0"), args.get("limit", "10")
    if not offset.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise malformed_request()
    return int(offset), int(limit)


def _time_arg(args: dict[str, str], name: str) -> float | None:
    if not args.get(name):
        return None
    try:
        return datetime.strptime(args[name], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise malformed_request(f"Invalid {name}: use yyyyMMddHHmmss.") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise malformed_request()
    return value


def declared_keys(storage: ObsEmulator, bucket: str, key: str) -> int | None:
    """The keys an RDB object declares for db0 (its SELECTDB 0 RESIZEDB), as an engine would load them;
    None when the object is missing or does not start as an RDB."""
    try:
        stored = storage.store.get(bucket, key)
    except ObsError:
        return None
    head = b"".join(stored.generated.chunks(0, 4096)) if stored.generated is not None else (stored.data or b"")[:4096]
    at = head.find(b"\xfe\x00\xfb")
    if not head.startswith(b"REDIS") or at < 0:
        return None
    first = head[at + 3] if len(head) > at + 3 else 0
    kind = first >> 6
    if kind == 0:
        return first & 0x3F
    if kind == 1:
        return ((first & 0x3F) << 8) | head[at + 4]
    if first == 0x80:
        return int.from_bytes(head[at + 4 : at + 8], "big")
    return None
