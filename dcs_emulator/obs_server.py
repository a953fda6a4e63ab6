"""An OBS-compatible object-storage endpoint on loopback: pre-signed downloads and multipart uploads.

It checks the OBS SDK's signature (``OBS`` or, path-style, ``AWS`` ak:signature) and security token,
each part's Content-MD5, and OBS's rules for completing an upload; it keeps the server-side
encryption an upload asks for at initiate and answers it on HEAD and GET; it can throttle downloads
and, per operation, inject the shared faults plus a cut-short download and a corrupted part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

from dcs_emulator import obs_signature
from dcs_emulator.faults import Fault, FaultInjector, FaultKind
from dcs_emulator.loopback import LoopbackHandler, LoopbackServer
from dcs_emulator.obs_store import Encryption, ObjectStore, ObsError, Part, StoredObject, Upload

MAX_CLOCK_SKEW_S = 15 * 60
_READ_PIECE = 1 << 20
SMALL_BODY = 1 << 20  # a PutObject body up to this size is kept even when uploaded data is not (progress records)
_FAULT_ERRORS = {
    FaultKind.FORBIDDEN: (403, "AccessDenied", "Access Denied"),
    FaultKind.SERVER_ERROR: (500, "InternalError", "We encountered an internal error. Please try again."),
    FaultKind.UNAVAILABLE: (503, "ServiceUnavailable", "Please reduce your request rate."),
    FaultKind.THROTTLE: (503, "SlowDown", "Please reduce your request rate."),
}
Query = list[tuple[str, "str | None"]]
# The KMS key header by signing prefix; with ``x-amz-`` the algorithm reads ``aws:kms`` instead of ``kms``.
_KMS_KEY_HEADERS = {
    "x-obs-": "x-obs-server-side-encryption-kms-key-id",
    "x-amz-": "x-amz-server-side-encryption-aws-kms-key-id",
}
_SSE_ALGORITHMS = ("kms", "AES256")


@dataclass(frozen=True)
class ObsRequest:
    """One request as the endpoint received it (headers lower-case), for tests to inspect."""

    route: str
    method: str
    path: str
    query: dict[str, str | None]
    headers: dict[str, str]
    signature_valid: bool
    received_at: float = 0.0  # time.monotonic() once its body was in


class ObsEmulator(LoopbackServer):
    """Loopback object storage; ``store`` holds its buckets, ``faults`` is keyed by operation name."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        security_tokens: Mapping[str, str] | None = None,
        *,
        keep_data: bool = True,
        port: int = 0,
    ) -> None:
        self.store = ObjectStore(keep_data=keep_data)
        self.faults = FaultInjector()
        self.credentials = dict(credentials)
        self.security_tokens = dict(security_tokens or {})
        self.download_bytes_per_s: float | None = None  # throttle every download to this rate
        self.link_endpoint: str | None = None  # where presigned links point instead (another host, in tests)
        self.requests: list[ObsRequest] = []
        self._link_key = ("DCSLINK" + secrets.token_hex(6).upper(), secrets.token_hex(20))
        self._lock = threading.Lock()
        super().__init__(port, _Handler, "obs-emulator")

    def presign(self, bucket: str, key: str, expires_in_s: int) -> str:
        """A pre-signed GET, as DCS hands out (signed with a key only DCS and the storage know)."""
        access_key, secret_key = self._link_key
        expires = str(int(time.time()) + expires_in_s)
        resource = f"/{bucket}/{quote(key)}"
        signature = obs_signature.sign(
            secret_key, obs_signature.string_to_sign("GET", resource, [], {}, "x-amz-", expires)
        )
        query = f"AWSAccessKeyId={access_key}&Expires={expires}&Signature={quote(signature, safe='')}"
        return f"{self.link_endpoint or self.endpoint}{resource}?{query}"

    def requests_for(self, *routes: str) -> list[ObsRequest]:
        with self._lock:
            return [r for r in self.requests if r.route in routes]

    def record(self, request: ObsRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def check_auth(self, method: str, resource: str, query: Query, headers: dict[str, str]) -> str:
        """The header prefix the request signs with (``x-obs-`` or ``x-amz-``); ObsError when it does not verify."""
        args = dict(query)
        if "AWSAccessKeyId" in args:
            self._check_presigned(method, resource, args)
            return "x-amz-"
        denied = ObsError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        parsed = obs_signature.parse_authorization(headers.get("authorization", ""))
        if parsed is None or parsed[1] not in self.credentials:
            raise denied
        prefix, access_key, given = parsed
        header_prefix = obs_signature.HEADER_PREFIXES[prefix]
        token = self.security_tokens.get(access_key)
        if token is not None and headers.get(f"{header_prefix}security-token") != token:
            raise ObsError(403, "InvalidToken", "The provided security token is malformed or otherwise invalid.")
        _check_fresh(headers.get(f"{header_prefix}date") or headers.get("date", ""))
        text = obs_signature.string_to_sign(method, resource, query, headers, header_prefix)
        if not hmac.compare_digest(obs_signature.sign(self.credentials[access_key], text), given):
            raise denied
        return header_prefix

    def _check_presigned(self, method: str, resource: str, args: dict[str, str | None]) -> None:
        access_key, secret_key = self._link_key
        expires = args.get("Expires") or ""
        text = obs_signature.string_to_sign(method, resource, [], {}, "x-amz-", expires)
        valid = args.get("AWSAccessKeyId") == access_key and hmac.compare_digest(
            obs_signature.sign(secret_key, text), unquote(args.get("Signature") or "")
        )
        if not valid:
            raise ObsError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if not expires.isdigit() or int(expires) < time.time():
            raise ObsError(403, "AccessDenied", "Request has expired.")


class _Handler(LoopbackHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        emulator: ObsEmulator = self.server.emulator
        url = urlsplit(self.path)
        query = _query(url.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        bucket, _, raw_key = url.path.lstrip("/").partition("/")
        route = _route(self.command, bool(raw_key), {k for k, _ in query})
        fault = emulator.faults.next_fault(route)
        body = self._read_body(route, fault)
        try:
            prefix = emulator.check_auth(
                self.command, f"/{bucket}/{raw_key}" if raw_key else f"/{bucket}", query, headers
            )
            valid = True
        except ObsError as error:
            prefix, valid, auth_error = "x-amz-", False, error
        emulator.record(ObsRequest(route, self.command, url.path, dict(query), headers, valid, time.monotonic()))
        try:
            if not valid:
                raise auth_error
            if fault is not None and self._inject(fault):
                return
            _Operation(self, emulator.store, bucket, unquote(raw_key), dict(query), headers, prefix, fault).run(
                route, body
            )
        except ObsError as error:
            self._error(error)

    def _read_body(self, route: str, fault: Fault | None) -> Part:
        """The request body, read in pieces, with its MD5 (kept whole only where it is stored)."""
        remaining = int(self.headers.get("Content-Length") or 0)
        digest, pieces, size = hashlib.md5(), [], 0
        large = route == "UploadPart" or (route == "PutObject" and remaining > SMALL_BODY)
        keep = not large or self.server.emulator.store.keep_data
        while remaining > 0:
            piece = self.rfile.read(min(_READ_PIECE, remaining))
            if not piece:
                break
            if fault is not None and fault.kind is FaultKind.CORRUPT_BODY and size == 0:
                piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
            remaining -= len(piece)
            size += len(piece)
            digest.update(piece)
            if keep:
                pieces.append(piece)
        return Part(size, digest.hexdigest(), b"".join(pieces) if keep else None)

    def _inject(self, fault: Fault) -> bool:
        """Act out a fault before the work is done; True when that already answered the request."""
        if fault.kind is FaultKind.LATENCY:
            time.sleep(fault.delay_s)
        elif fault.kind is FaultKind.RESET:
            self.close_connection = True
            self.connection.close()
        elif fault.kind in _FAULT_ERRORS:
            status, code, message = _FAULT_ERRORS[fault.kind]
            extra = {"Retry-After": f"{fault.retry_after_s:g}"} if fault.retry_after_s is not None else {}
            self._error(ObsError(status, code, message), extra)
        return fault.kind in _FAULT_ERRORS or fault.kind is FaultKind.RESET

    def answer(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("x-obs-request-id", uuid.uuid4().hex[:16].upper())
        self.send_header("Date", formatdate(usegmt=True))
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, error: ObsError, extra: Mapping[str, str] | None = None) -> None:
        xml = _xml("Error", [("Code", error.code), ("Message", error.message), ("RequestId", uuid.uuid4().hex)])
        self.answer(error.status, {"Content-Type": "application/xml", **(extra or {})}, xml)


class _Operation:
    """One authorised request against the store."""

    def __init__(
        self,
        handler: _Handler,
        store: ObjectStore,
        bucket: str,
        key: str,
        args: dict[str, str | None],
        headers: dict[str, str],
        prefix: str,
        fault: Fault | None,
    ) -> None:
        self.handler, self.store, self.bucket, self.key = handler, store, bucket, key
        self.args, self.headers, self.prefix, self.fault = args, headers, prefix, fault

    def run(self, route: str, body: Part) -> None:
        operations = {
            "GetObject": lambda: self.get(),
            "PresignedGetObject": lambda: self.get(),
            "HeadObject": lambda: self.head(),
            "HeadBucket": lambda: self.head_bucket(),
            "ListObjects": lambda: self.list_objects(),
            "InitiateMultipartUpload": lambda: self.initiate(),
            "UploadPart": lambda: self.upload_part(body),
            "CompleteMultipartUpload": lambda: self.complete(body),
            "AbortMultipartUpload": lambda: self.abort(),
            "ListParts": lambda: self.list_parts(),
            "ListMultipartUploads": lambda: self.list_uploads(),
            "SetObjectMetadata": lambda: self.set_metadata(),
            "PutObject": lambda: self.put(body),
            "DeleteObject": lambda: self.delete(),
        }
        operation = operations.get(route)
        if operation is None:
            raise ObsError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        operation()

    def list_objects(self) -> None:
        """ListObjects in key order from ``marker``, ``max-keys`` at a time (1000 at most), as OBS pages them."""
        prefix, marker = self.args.get("prefix") or "", self.args.get("marker") or ""
        max_keys = min(int(self.args.get("max-keys") or 1000), 1000)
        keys = sorted(k for k in self.store.objects(self.bucket) if k.startswith(prefix) and k > marker)
        page, truncated = keys[:max_keys], len(keys) > max_keys
        objects = self.store.objects(self.bucket)
        fields: list[tuple[str, Any]] = [("Name", self.bucket), ("Prefix", prefix), ("Marker", marker)]
        fields += [("MaxKeys", str(max_keys)), ("IsTruncated", "true" if truncated else "false")]
        if truncated:
            fields.append(("NextMarker", page[-1]))
        for key in page:
            modified = datetime.fromtimestamp(objects[key].modified, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            fields.append(
                (
                    "Contents",
                    [
                        ("Key", key),
                        ("LastModified", modified),
                        ("ETag", objects[key].etag),
                        ("Size", str(objects[key].size)),
                    ],
                )
            )
        self._xml_answer("ListBucketResult", fields)

    def head_bucket(self) -> None:
        self.store.objects(self.bucket)
        self.handler.answer(200, {})

    def head(self) -> None:
        stored = self.store.get(self.bucket, self.key)
        self.handler.answer(200, self._odd({**self._object_headers(stored), "Content-Length": str(stored.size)}))

    def get(self) -> None:
        stored = self.store.get(self.bucket, self.key)
        start, end = _byte_range(self.headers.get("range"), stored.size)
        status = 206 if "range" in self.headers else 200
        headers = {**self._object_headers(stored), "Content-Length": str(end - start)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{stored.size}"
        self.handler.answer(status, self._odd(headers))
        self._send(_pieces(stored, start, end))

    def _odd(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers with an ODD_HEADER fault's one in place (the connection then closes: its framing is off)."""
        if self.fault is None or self.fault.kind is not FaultKind.ODD_HEADER or self.fault.header is None:
            return headers
        name, value = self.fault.header
        self.handler.close_connection = True
        return {**headers, name: value}

    def _send(self, pieces: Iterable[bytes]) -> None:
        """Stream the body, throttled if asked; a cut fault stops it early and drops the connection."""
        emulator: ObsEmulator = self.handler.server.emulator
        cut = self.fault.cut_after_bytes if self.fault is not None and self.fault.kind is FaultKind.CUT_BODY else None
        sent = 0
        for piece in pieces:
            if cut is not None and sent + len(piece) >= cut:
                self.handler.wfile.write(piece[: cut - sent])
                self.handler.wfile.flush()
                self.handler.close_connection = True
                self.handler.connection.close()
                return
            self.handler.wfile.write(piece)
            sent += len(piece)
            if emulator.download_bytes_per_s:
                time.sleep(len(piece) / emulator.download_bytes_per_s)

    def set_metadata(self) -> None:
        """OBS's metadata change in place: REPLACE_NEW adds and replaces names, REPLACE sets them anew."""
        stored = self.store.get(self.bucket, self.key)
        directive = self.headers.get(f"{self.prefix}metadata-directive")
        if directive not in ("REPLACE_NEW", "REPLACE"):
            raise ObsError(400, "InvalidArgument", "x-obs-metadata-directive must be REPLACE_NEW or REPLACE.")
        given = self._user_metadata()
        stored.metadata = {**stored.metadata, **given} if directive == "REPLACE_NEW" else given
        self.handler.answer(200, {})

    def put(self, body: Part) -> None:
        given = self.headers.get("content-md5")
        if given is not None and given != base64.b64encode(bytes.fromhex(body.md5)).decode("ascii"):
            raise ObsError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        metadata = self._user_metadata()
        content_type = self.headers.get("content-type", "")
        stored = self.store.put_object(self.bucket, self.key, body, metadata, content_type, self._encryption())
        self.handler.answer(200, {"ETag": stored.etag})

    def delete(self) -> None:
        self.store.delete(self.bucket, self.key)
        self.handler.answer(204, {})

    def _user_metadata(self) -> dict[str, str]:
        meta = f"{self.prefix}meta-"
        return {k[len(meta) :]: v for k, v in self.headers.items() if k.startswith(meta)}

    def initiate(self) -> None:
        metadata = self._user_metadata()
        content_type = self.headers.get("content-type", "")
        upload = self.store.initiate(self.bucket, self.key, metadata, content_type, self._encryption())
        fields = [("Bucket", self.bucket), ("Key", self.key), ("UploadId", upload.upload_id)]
        self._xml_answer("InitiateMultipartUploadResult", fields)

    def upload_part(self, body: Part) -> None:
        upload = self.store.upload(self.bucket, self.key, self.args.get("uploadId") or "")
        given = self.headers.get("content-md5")
        if given is not None and given != base64.b64encode(bytes.fromhex(body.md5)).decode("ascii"):
            raise ObsError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        number = self.args.get("partNumber") or ""
        if not number.isdigit():
            raise ObsError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        self.store.add_part(upload, int(number), body)
        self.handler.answer(200, {"ETag": f'"{body.md5}"'})

    def complete(self, body: Part) -> None:
        upload = self.store.upload(self.bucket, self.key, self.args.get("uploadId") or "")
        stored = self.store.complete(upload, _chosen_parts(body.data or b""))
        fields = [
            ("Location", f"/{self.bucket}/{self.key}"),
            ("Bucket", self.bucket),
            ("Key", self.key),
            ("ETag", stored.etag),
        ]
        self._xml_answer("CompleteMultipartUploadResult", fields)

    def abort(self) -> None:
        self.store.abort(self.store.upload(self.bucket, self.key, self.args.get("uploadId") or ""))
        self.handler.answer(204, {})

    def list_parts(self) -> None:
        upload = self.store.upload(self.bucket, self.key, self.args.get("uploadId") or "")
        fields: list[tuple[str, Any]] = [("Bucket", self.bucket), ("Key", self.key), ("UploadId", upload.upload_id)]
        marker, most = self.args.get("part-number-marker") or "0", self.args.get("max-parts") or "1000"
        if not (marker.isdigit() and most.isdigit() and 0 < int(most) <= 1000):
            raise ObsError(400, "InvalidArgument", "max-parts and part-number-marker must be whole numbers.")
        after = [(n, p) for n, p in sorted(upload.parts.items()) if n > int(marker)]
        page, more = after[: int(most)], len(after) > int(most)
        for number, part in page:
            fields.append(("Part", [("PartNumber", str(number)), ("ETag", f'"{part.md5}"'), ("Size", str(part.size))]))
        fields.append(("IsTruncated", "true" if more else "false"))
        if more:
            fields.append(("NextPartNumberMarker", str(page[-1][0])))
        self._xml_answer("ListPartsResult", fields)

    def list_uploads(self) -> None:
        prefix = self.args.get("prefix") or ""
        fields: list[tuple[str, Any]] = [("Bucket", self.bucket), ("IsTruncated", "false")]
        fields += [("Upload", _upload_fields(u)) for u in self.store.uploads(self.bucket) if u.key.startswith(prefix)]
        self._xml_answer("ListMultipartUploadsResult", fields)

    def _encryption(self) -> Encryption | None:
        """The encryption an initiate asks for; OBS refuses an unknown algorithm, or a key without SSE-KMS."""
        algorithm = self.headers.get(f"{self.prefix}server-side-encryption")
        key_id = self.headers.get(_KMS_KEY_HEADERS[self.prefix])
        if algorithm is None and key_id is None:
            return None
        algorithm = (algorithm or "").removeprefix("aws:")
        if algorithm not in _SSE_ALGORITHMS or (key_id is not None and algorithm != "kms"):
            raise ObsError(400, "InvalidArgument", "The encryption request you specified is not valid.")
        return Encryption(algorithm, key_id)

    def _object_headers(self, stored: StoredObject) -> dict[str, str]:
        headers = {"ETag": stored.etag, "Content-Type": stored.content_type or "binary/octet-stream"}
        headers.update({f"{self.prefix}meta-{k}": v for k, v in stored.metadata.items()})
        if stored.storage_class is not None:
            headers[f"{self.prefix}storage-class"] = stored.storage_class
        return {**headers, **self._encryption_headers(stored.encryption)}

    def _encryption_headers(self, encryption: Encryption | None) -> dict[str, str]:
        """How OBS tells an object's encryption, in the request's own header prefix."""
        if encryption is None:
            return {}
        shown = "aws:kms" if self.prefix == "x-amz-" and encryption.algorithm == "kms" else encryption.algorithm
        headers = {f"{self.prefix}server-side-encryption": shown}
        if encryption.kms_key_id is not None:
            headers[_KMS_KEY_HEADERS[self.prefix]] = encryption.kms_key_id
        return headers

    def _xml_answer(self, root: str, fields: list[tuple[str, Any]]) -> None:
        self.handler.answer(200, {"Content-Type": "application/xml"}, _xml(root, fields))


def _route(method: str, has_key: bool, names: set[str]) -> str:
    if not has_key:
        return {"GET": "ListMultipartUploads" if "uploads" in names else "ListObjects", "HEAD": "HeadBucket"}.get(
            method, "Bucket" + method.title()
        )
    if "uploads" in names:
        return "InitiateMultipartUpload" if method == "POST" else "Unsupported"
    if "metadata" in names:
        return "SetObjectMetadata" if method == "PUT" else "Unsupported"
    if "uploadId" in names:
        by_method = {"PUT": "UploadPart", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}
        return by_method.get(method, "ListParts")
    if method == "GET" and "AWSAccessKeyId" in names:  # a download link: its faults are scripted apart from GETs
        return "PresignedGetObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, "")


def _query(raw: str) -> Query:
    """Query items in order; ``?uploads`` (no ``=``) keeps a None value, as the signature needs."""
    items: Query = []
    for item in filter(None, raw.split("&")):
        name, equals, value = item.partition("=")
        items.append((unquote(name), unquote(value) if equals else None))
    return items


def _check_fresh(date: str) -> None:
    try:
        signed_at = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise ObsError(403, "AccessDenied", "The request carries no valid Date.") from None
    if abs((datetime.now(timezone.utc) - signed_at).total_seconds()) > MAX_CLOCK_SKEW_S:
        raise ObsError(403, "RequestTimeTooSkewed", "The difference between the request time and now is too large.")


def _byte_range(header: str | None, size: int) -> tuple[int, int]:
    """``bytes=a-`` or ``bytes=a-b`` → [start, end); the whole object without a header."""
    if header is None:
        return 0, size
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first.isdigit() or (last and not last.isdigit()) or int(first) >= size:
        raise ObsError(416, "InvalidRange", "The requested range cannot be satisfied.")
    return int(first), min(size, int(last) + 1) if last else size


def _pieces(stored: StoredObject, start: int, end: int) -> Iterable[bytes]:
    if stored.generated is not None:
        return stored.generated.chunks(start, end)
    data = stored.data or b""
    return (data[i : min(i + _READ_PIECE, end)] for i in range(start, end, _READ_PIECE))


def _chosen_parts(xml: bytes) -> list[tuple[int, str]]:
    try:
        root = ElementTree.fromstring(xml)
        return [(int(p.findtext("PartNumber") or ""), p.findtext("ETag") or "") for p in root.iter("Part")]
    except (ElementTree.ParseError, ValueError):
        raise ObsError(400, "MalformedXML", "The XML you provided was not well-formed.") from None


def _upload_fields(upload: Upload) -> list[tuple[str, Any]]:
    initiated = datetime.fromtimestamp(upload.initiated, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return [("Key", upload.key), ("UploadId", upload.upload_id), ("Initiated", initiated)]


def _xml(root: str, fields: list[tuple[str, Any]]) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, fields)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ElementTree.tostring(element)


def _fill(parent: ElementTree.Element, fields: list[tuple[str, Any]]) -> None:
    for name, value in fields:
        child = ElementTree.SubElement(parent, name)
        if isinstance(value, list):
            _fill(child, value)
        else:
            child.text = value
