"""The export target on Huawei Cloud OBS, through the official SDK (esdk-obs-python).

This is the only module that imports ``obs``, and only when a client is built: a run without
export never loads the SDK or pycryptodome. The SDK reports errors in its response objects
instead of raising; each call here turns an error status into an exception the call loop classifies.
Every upload asks for server-side encryption, so a bucket without default encryption still gets
only encrypted objects.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from dcs_backup.export.base import StoredObject
from dcs_backup.export.errors import IntegrityError, ServiceAnswerError
from dcs_backup.platform.calls import CallError, CallLoop
from dcs_backup.platform.text import ascii_whole_number

# Per socket operation, capped by the time left; a 512 MB part is sent in many of them.
TIMEOUT_S = 30
# How far past the deadline aborting an upload may go: an open upload's parts stay billed until a lifecycle rule.
CLEANUP_ALLOWANCE_S = 2.0
OWN_METADATA_PREFIX = "dcs-"


class ObsAccess(NamedTuple):
    """The agency's temporary keys and the OBS endpoint (``https://obs.<region>.myhuaweicloud.com``)."""

    endpoint: str
    access_key: str
    secret_key: str
    security_token: str = ""

    def __repr__(self) -> str:
        return f"ObsAccess(endpoint={self.endpoint!r})"


def build_obs_client(access: ObsAccess, ca_bundle: str | None = None) -> Any:
    """An ObsClient that verifies certificates and host names and leaves retrying to the call loop.

    The SDK verifies nothing by default and never checks host names: give it a CA bundle and turn
    host name checks on in its SSL context. Signature negotiation is off (it costs an unsigned
    request per bucket); the SDK switches to path-style ``v2`` signing by itself for an IP address.
    """
    import certifi
    from obs import ObsClient

    client = ObsClient(
        access_key_id=access.access_key,
        secret_access_key=access.secret_key,
        security_token=access.security_token or None,
        server=access.endpoint,
        signature="obs",
        is_signature_negotiation=False,
        ssl_verify=ca_bundle or certifi.where(),
        max_retry_count=0,
        timeout=TIMEOUT_S,
    )
    context = getattr(client, "context", None)
    if context is not None:
        context.check_hostname = True
    return client


def upload_encryption(kms_key_id: str | None) -> Any:
    """SSE-KMS with the configured key, else SSE-OBS (``AES256``, keys managed by OBS).

    Both ride the SDK's SseKmsHeader: with the ``obs`` signature it sends ``encryption`` as given in
    ``x-obs-server-side-encryption`` and the key, if any, in ``x-obs-server-side-encryption-kms-key-id``.
    """
    from obs import SseKmsHeader

    if kms_key_id:
        return SseKmsHeader.getInstance(key=kms_key_id)
    return SseKmsHeader.getInstance(encryption="AES256")


class ObsTarget:
    """One bucket, each SDK call through the call loop; uploads are encrypted with ``kms_key_id`` or by OBS."""

    def __init__(self, client: Any, bucket: str, loop: CallLoop, *, kms_key_id: str | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._loop = loop
        self._kms_key_id = kms_key_id

    def existing(self, key: str) -> StoredObject | None:
        def head() -> StoredObject | None:
            response = self._send(lambda c: c.getObjectMetadata(self._bucket, key), missing_ok=True)
            return None if response is None else StoredObject(_content_length(response), _own_metadata(response))

        return self._loop.run("HeadObject", head)

    def label(self, key: str, metadata: Mapping[str, str]) -> None:
        """OBS changes an object's metadata in place (REPLACE_NEW keeps the names not given)."""
        from obs import SetObjectMetadataHeader

        headers = SetObjectMetadataHeader(removeUnset=False)
        try:
            self._loop.run(
                "SetObjectMetadata",
                lambda: self._send(lambda c: c.setObjectMetadata(self._bucket, key, dict(metadata), headers)),
            )
        except CallError as error:
            if error.status_code != 403:
                raise
            raise CallError(
                error.kind,
                error.operation,
                f"{error.message} (the function needs obs:object:ModifyObjectMetadata on the export prefix)",
                status_code=error.status_code,
                error_code=error.error_code,
                request_id=error.request_id,
            ) from None

    def start_upload(self, key: str, metadata: Mapping[str, str]) -> str:
        """Encryption is asked for here only: OBS encrypts the parts and the object as the upload began."""
        sse = upload_encryption(self._kms_key_id)

        def initiate() -> str:
            response = self._send(
                lambda c: c.initiateMultipartUpload(
                    self._bucket, key, contentType="application/octet-stream", metadata=dict(metadata), sseHeader=sse
                )
            )
            upload_id = getattr(response.body, "uploadId", None)
            if not upload_id:  # a 2xx the SDK could not read: no upload to send parts to
                raise ServiceAnswerError(response.status, "UnreadableAnswer", "no upload id in OBS's answer")
            return str(upload_id)

        return self._loop.run("InitiateMultipartUpload", initiate)

    def upload_part(self, key: str, upload_id: str, number: int, data: memoryview, digest: bytes | None = None) -> str:
        """``digest``: the part's MD5 when already known (worked out while the next part is being sent)."""
        digest = digest or hashlib.md5(data).digest()

        def upload() -> str:
            response = self._send(
                lambda c: c.uploadPart(
                    self._bucket,
                    key,
                    number,
                    upload_id,
                    content=_PartReader(data),
                    partSize=len(data),
                    autoClose=False,
                    md5=base64.b64encode(digest).decode("ascii"),
                )
            )
            etag = str(response.body.etag or "")
            if etag.strip('"').lower() != digest.hex():
                raise IntegrityError(f"part {number}'s ETag does not match the MD5 of what was sent")
            return etag

        return self._loop.run("UploadPart", upload)

    def complete_upload(self, key: str, upload_id: str, etags: Sequence[tuple[int, str]]) -> None:
        from obs import CompleteMultipartUploadRequest, CompletePart

        request = CompleteMultipartUploadRequest(parts=[CompletePart(number, etag) for number, etag in etags])
        self._loop.run(
            "CompleteMultipartUpload",
            lambda: self._send(lambda c: c.completeMultipartUpload(self._bucket, key, upload_id, request)),
        )

    def uploaded_parts(self, key: str, upload_id: str) -> dict[int, str] | None:
        """The parts OBS holds for the upload (number → ETag, every page), or None once the upload is gone."""

        def list_page(marker: int | None) -> Any:
            return self._send(
                lambda c: c.listParts(self._bucket, key, upload_id, maxParts=1000, partNumberMarker=marker),
                missing_ok=True,
            )

        parts: dict[int, str] = {}
        marker: int | None = None
        while True:
            response = self._loop.run("ListParts", lambda at=marker: list_page(at))  # type: ignore[misc]
            if response is None:
                return None
            parts.update({int(p.partNumber): str(p.etag) for p in response.body.parts or []})
            if not response.body.isTruncated:
                return parts
            marker = int(response.body.nextPartNumberMarker)

    def headers(self, key: str) -> dict[str, str] | None:
        """A HEAD's headers, names lower-cased (user metadata as the SDK gives it, without ``x-obs-meta-``);
        None when there is no such object."""

        def head() -> dict[str, str] | None:
            response = self._send(lambda c: c.getObjectMetadata(self._bucket, key), missing_ok=True)
            return None if response is None else {str(k).lower(): str(v) for k, v in response.header or []}

        return self._loop.run("HeadObject", head)

    def listed(self, prefix: str, max_pages: int) -> Iterator[tuple[str, str]]:
        """Every object under ``prefix``, page by page (``max_pages`` of 1,000 at most): key and LastModified."""

        def page(marker: str | None) -> Any:
            return self._send(lambda c: c.listObjects(self._bucket, prefix=prefix, marker=marker, max_keys=1000)).body

        marker: str | None = None
        for _ in range(max_pages):
            body = self._loop.run("ListObjects", lambda at=marker: page(at))  # type: ignore[misc]
            contents = body.contents or []
            yield from ((str(c.key), str(c.lastModified or "")) for c in contents)
            if not contents or str(body.is_truncated).lower() != "true":
                return
            marker = str(body.next_marker or contents[-1].key)

    def read_object(self, key: str, max_bytes: int | None = None) -> bytes | None:
        """A small object's bytes (a progress or drill record), or None when there is none; only its first
        ``max_bytes`` when given, so that a huge object under a record's name is never read into memory."""
        from obs import GetObjectHeader

        header = GetObjectHeader(range=f"0-{max_bytes - 1}") if max_bytes else None

        def get() -> bytes | None:
            try:
                response = self._send(
                    lambda c: c.getObject(self._bucket, key, headers=header, loadStreamInMemory=True),
                    missing_ok=True,
                )
            except ServiceAnswerError as error:
                if max_bytes and error.status == 416:  # an empty object: no byte to range over
                    return b""
                raise
            return None if response is None else bytes(response.body.buffer or b"")[: max_bytes or None]

        return self._loop.run("GetObject", get)

    def write_object(self, key: str, data: bytes, *, allowance_s: float = 0.0) -> None:
        """A small object (a progress or drill record), encrypted as the exports are; ``allowance_s``: how far
        past the deadline it may still be tried."""
        from obs import PutObjectHeader

        digest = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        headers = PutObjectHeader(
            md5=digest, contentType="application/json", sseHeader=upload_encryption(self._kms_key_id)
        )
        loop = self._loop.with_allowance(allowance_s) if allowance_s else self._loop
        loop.run(
            "PutObject",
            lambda: self._send(lambda c: c.putContent(self._bucket, key, content=data, headers=headers), loop=loop),
        )

    def delete_object(self, key: str) -> None:
        """Gone, whether it was there or not; tried past the deadline like an abort (it is cleanup)."""
        loop = self._loop.with_allowance(CLEANUP_ALLOWANCE_S)
        loop.run(
            "DeleteObject",
            lambda: self._send(lambda c: c.deleteObject(self._bucket, key), missing_ok=True, loop=loop),
        )

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Tried even once the deadline is reached (within CLEANUP_ALLOWANCE_S), so no upload is left open."""
        loop = self._loop.with_allowance(CLEANUP_ALLOWANCE_S)
        loop.run(
            "AbortMultipartUpload",
            lambda: self._send(
                lambda c: c.abortMultipartUpload(self._bucket, key, upload_id), missing_ok=True, loop=loop
            ),
        )

    def _send(self, call: Callable[[Any], Any], *, missing_ok: bool = False, loop: CallLoop | None = None) -> Any:
        """The SDK's response when it succeeded; None for a 404 when ``missing_ok``; else an exception.

        Each attempt's timeout is cut to the time ``loop`` (the target's own by default) has left.
        """
        remaining = (loop or self._loop).deadline.remaining()
        self._client.timeout = max(1, min(TIMEOUT_S, int(remaining)))
        response = call(self._client)
        if response.status < 300:
            return response
        if missing_ok and response.status == 404:
            return None
        headers = dict(response.header or [])
        raise ServiceAnswerError(
            response.status,
            response.errorCode,
            response.errorMessage,
            request_id=response.requestId,
            retry_after=headers.get("retry-after"),
        )


def _own_metadata(response: Any) -> dict[str, str]:
    """The function's metadata on the object (every name it writes starts with ``dcs-``): the SDK hands
    user metadata back among the answer's headers, without their prefix."""
    headers = ((str(name).lower(), str(value)) for name, value in (response.header or []))
    return {name: value for name, value in headers if name.startswith(OWN_METADATA_PREFIX)}


def _content_length(response: Any) -> int:
    """The object's size from the raw header: the SDK reads any script's digits, or gives None."""
    size = ascii_whole_number(dict(response.header or []).get("content-length"))
    if size is None:
        raise IntegrityError("OBS's answer gave no usable Content-Length (ASCII digits)")
    return size


class _PartReader:
    """A part in memory as the file-like object the SDK streams from, without copying it."""

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._position + size)
        piece = bytes(self._data[self._position : end])
        self._position = end
        return piece
