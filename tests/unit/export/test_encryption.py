"""The server-side encryption every upload asks for, as the OBS SDK puts it on the wire with the ``obs`` signature."""

from __future__ import annotations

from typing import Any

from dcs_backup.export.obs import ObsAccess, build_obs_client, upload_encryption
from tests.support import KMS_KEY_ID


def _initiate_headers(kms_key_id: str | None) -> dict[str, Any]:
    """The headers the SDK would send to initiate an upload on a regional (host name) endpoint; nothing is sent."""
    client = build_obs_client(ObsAccess("https://obs.eu-de.example.com", "AK", "SK"))
    headers: dict[str, Any] = client.convertor.trans_initiate_multipart_upload(sseHeader=upload_encryption(kms_key_id))[
        "headers"
    ]
    return headers


def _sse_headers(headers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in headers.items() if "server-side-encryption" in k}


def test_with_a_kms_key_an_upload_asks_for_sse_kms_with_that_key() -> None:
    assert _sse_headers(_initiate_headers(KMS_KEY_ID)) == {
        "x-obs-server-side-encryption": "kms",
        "x-obs-server-side-encryption-kms-key-id": KMS_KEY_ID,
    }


def test_without_a_kms_key_an_upload_asks_for_sse_obs() -> None:
    assert _sse_headers(_initiate_headers(None)) == {"x-obs-server-side-encryption": "AES256"}
