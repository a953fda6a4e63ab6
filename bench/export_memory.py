"""Export a generated backup of ≥ 1 GB through the engine and report peak RSS and throughput.

The emulators run in this process but keep no data (generated downloads, digests of uploads), so
the peak RSS is the engine's own plus a few MiB of server buffers. The plain copy, for comparison,
streams the same link into a multipart upload with the same SDK, without MD5, checks or pacing.

    python -m bench.export_memory [--size-mb 1024] [--part-mb 64]
"""

from __future__ import annotations

import argparse
import resource
import time

import requests

from dcs_backup.export.obs import ObsAccess, build_obs_client
from dcs_backup.platform.retry import Deadline
from devkit.export_rig import BUCKET, SECURITY_TOKEN, export_rig
from devkit.seed import ACCESS_KEY, HA_ID, SECRET_KEY

MIB = 1 << 20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_copy(storage: str, link: str, part_size: int) -> float:
    """Seconds for the SDK's own streamed multipart copy of the link (no checks)."""
    from obs import CompleteMultipartUploadRequest, CompletePart

    client = build_obs_client(ObsAccess(storage, ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN))
    started = time.monotonic()
    with requests.get(link, stream=True, timeout=30) as response:
        size = int(response.headers["Content-Length"])
        upload_id = client.initiateMultipartUpload(BUCKET, "plain/copy").body.uploadId
        parts = []
        for number, offset in enumerate(range(0, size, part_size), start=1):
            length = min(part_size, size - offset)
            sent = client.uploadPart(
                BUCKET, "plain/copy", number, upload_id, content=response.raw, partSize=length, autoClose=False
            )
            parts.append(CompletePart(number, sent.body.etag))
        client.completeMultipartUpload(BUCKET, "plain/copy", upload_id, CompleteMultipartUploadRequest(parts=parts))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--part-mb", type=int, default=64)
    args = parser.parse_args()
    limit_mib = 2 * args.part_mb + 64
    with export_rig(keep_data=False) as rig:
        backup_id = rig.state.add_backup(HA_ID, size_bytes=args.size_mb * MIB).backup_id
        before_mib = _peak_rss_mib()
        started = time.monotonic()
        result = rig.export(
            HA_ID, backup_id, part_size=args.part_mb * MIB, deadline=Deadline.from_remaining_ms(3_600_000)
        )
        engine_s = time.monotonic() - started
        peak_mib = _peak_rss_mib()
        plain_s = _plain_copy(rig.storage.endpoint, rig.links(HA_ID, backup_id)[0].link, args.part_mb * MIB)
    print(f"exported {args.size_mb} MiB in {args.part_mb} MiB parts: {result.status}")
    print(f"peak RSS {peak_mib:.0f} MiB (before the export {before_mib:.0f} MiB; limit {limit_mib} MiB)")
    print(f"engine {args.size_mb / engine_s:.0f} MiB/s ({engine_s:.1f} s)")
    print(f"plain SDK copy {args.size_mb / plain_s:.0f} MiB/s ({plain_s:.1f} s)")
    if result.status != "done" or peak_mib > limit_mib:
        raise SystemExit("FAILED: the export is not done, or its peak RSS is over the limit")


if __name__ == "__main__":
    main()
