"""What the object-storage emulator holds: buckets, objects (uploaded or generated) and multipart uploads.

Each uploaded object keeps the server-side encryption asked for when its upload began; a bucket
can be made to refuse uploads that ask for none, as a bucket policy requiring encryption does.

Generated objects (the backup files DCS links to) are bytes made on demand, so a GB-sized backup
costs no memory; uploaded bytes are kept for tests to compare, or only their digest and size
(``keep_data=False``, for benchmarks).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field

from dcs_emulator.backup_files import GeneratedFile

MIN_PART_BYTES = 100 * 1024  # OBS: every part but the last is at least 100 KB
MAX_PARTS = 10_000


class ObsError(Exception):
    """An answer OBS gives as an XML ``<Error>`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def no_such_key() -> ObsError:
    return ObsError(404, "NoSuchKey", "The specified key does not exist.")


def no_such_upload() -> ObsError:
    return ObsError(404, "NoSuchUpload", "The specified multipart upload does not exist.")


@dataclass(frozen=True)
class Encryption:
    """Server-side encryption: ``kms`` (SSE-KMS, with the key asked for or the default one) or ``AES256`` (SSE-OBS)."""

    algorithm: str
    kms_key_id: str | None = None


@dataclass
class StoredObject:
    size: int
    etag: str  # quoted, as OBS sends it
    metadata: dict[str, str] = field(default_factory=dict)
    content_type: str = "binary/octet-stream"
    data: bytes | None = None  # None when not kept, or generated
    generated: GeneratedFile | None = None
    encryption: Encryption | None = None
    modified: float = field(default_factory=time.time)  # LastModified, epoch seconds
    storage_class: str | None = None  # None: STANDARD (OBS then sends no storage-class header)


@dataclass
class Part:
    size: int
    md5: str  # hex
    data: bytes | None


@dataclass
class Upload:
    upload_id: str
    bucket: str
    key: str
    metadata: dict[str, str]
    content_type: str
    initiated: float
    parts: dict[int, Part] = field(default_factory=dict)
    encryption: Encryption | None = None


class ObjectStore:
    """Thread-safe buckets of objects and in-progress multipart uploads."""

    def __init__(self, *, keep_data: bool = True) -> None:
        self.keep_data = keep_data
        self._objects: dict[str, dict[str, StoredObject]] = {}
        self._uploads: dict[str, Upload] = {}
        self._encrypted_only: set[str] = set()
        self._lock = threading.Lock()

    def create_bucket(self, bucket: str) -> None:
        with self._lock:
            self._objects.setdefault(bucket, {})

    def require_encryption(self, bucket: str) -> None:
        """Refuse uploads to ``bucket`` that ask for no server-side encryption (403 AccessDenied)."""
        with self._lock:
            self._encrypted_only.add(bucket)

    def publish(self, bucket: str, key: str, generated: GeneratedFile) -> None:
        """Make a generated file readable at ``bucket/key`` (how DCS's backup files appear)."""
        self.create_bucket(bucket)
        with self._lock:
            self._objects[bucket][key] = StoredObject(generated.size, f'"{generated.seed}"', generated=generated)

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        """Place an object directly (a test's "already exported" state)."""
        stored = StoredObject(len(data), f'"{hashlib.md5(data).hexdigest()}"', dict(metadata or {}), data=data)
        with self._lock:
            self._bucket(bucket)[key] = stored

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Part,
        metadata: dict[str, str],
        content_type: str,
        encryption: Encryption | None = None,
    ) -> StoredObject:
        """A PutObject: the object replaced whole (its bytes kept as the body kept them)."""
        etag = f'"{body.md5}"'
        stored = StoredObject(
            body.size, etag, metadata, content_type or "binary/octet-stream", body.data, None, encryption
        )
        with self._lock:
            if encryption is None and bucket in self._encrypted_only:
                raise ObsError(403, "AccessDenied", "Access Denied")
            self._bucket(bucket)[key] = stored
        return stored

    def delete(self, bucket: str, key: str) -> None:
        """A DeleteObject: gone, or never there (OBS answers 204 either way)."""
        with self._lock:
            self._bucket(bucket).pop(key, None)

    def get(self, bucket: str, key: str) -> StoredObject:
        with self._lock:
            found = self._bucket(bucket).get(key)
        if found is None:
            raise no_such_key()
        return found

    def objects(self, bucket: str) -> dict[str, StoredObject]:
        with self._lock:
            return dict(self._bucket(bucket))

    def uploads(self, bucket: str) -> list[Upload]:
        """Multipart uploads begun and neither completed nor aborted (billed orphans, if left)."""
        with self._lock:
            self._bucket(bucket)
            return [u for u in self._uploads.values() if u.bucket == bucket]

    def initiate(
        self, bucket: str, key: str, metadata: dict[str, str], content_type: str, encryption: Encryption | None = None
    ) -> Upload:
        upload = Upload(uuid.uuid4().hex.upper(), bucket, key, metadata, content_type, time.time(), {}, encryption)
        with self._lock:
            self._bucket(bucket)
            if encryption is None and bucket in self._encrypted_only:
                raise ObsError(403, "AccessDenied", "Access Denied")
            self._uploads[upload.upload_id] = upload
        return upload

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        with self._lock:
            found = self._uploads.get(upload_id)
        if found is None or (found.bucket, found.key) != (bucket, key):
            raise no_such_upload()
        return found

    def add_part(self, upload: Upload, number: int, part: Part) -> None:
        if not 1 <= number <= MAX_PARTS:
            raise ObsError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        with self._lock:
            upload.parts[number] = part

    def complete(self, upload: Upload, chosen: list[tuple[int, str]]) -> StoredObject:
        """OBS's checks: parts ascending, each uploaded with that ETag, all but the last ≥ 100 KB."""
        numbers = [n for n, _ in chosen]
        if not chosen or numbers != sorted(set(numbers)):
            raise ObsError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        parts = []
        for number, etag in chosen:
            part = upload.parts.get(number)
            if part is None or etag.strip('"') != part.md5:
                raise ObsError(400, "InvalidPart", "One or more of the specified parts could not be found.")
            parts.append(part)
        if any(p.size < MIN_PART_BYTES for p in parts[:-1]):
            raise ObsError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
        combined = hashlib.md5(b"".join(bytes.fromhex(p.md5) for p in parts)).hexdigest()
        data = b"".join(p.data or b"" for p in parts) if self.keep_data else None
        size, etag = sum(p.size for p in parts), f'"{combined}-{len(parts)}"'
        stored = StoredObject(size, etag, upload.metadata, upload.content_type, data, encryption=upload.encryption)
        with self._lock:
            self._bucket(upload.bucket)[upload.key] = stored
            self._uploads.pop(upload.upload_id, None)
        return stored

    def abort(self, upload: Upload) -> None:
        with self._lock:
            self._uploads.pop(upload.upload_id, None)

    def _bucket(self, bucket: str) -> dict[str, StoredObject]:
        found = self._objects.get(bucket)
        if found is None:
            raise ObsError(404, "NoSuchBucket", "The specified bucket does not exist.")
        return found
