"""The emulator's signature check agrees with the SDK's known-answer vector."""

from __future__ import annotations

from dcs_emulator import signature


def test_known_answer_vector() -> None:
    headers = {
        "content-type": "application/json;charset=utf-8",
        "host": "dcs.cn-north-4.myhuaweicloud.com",
        "user-agent": "test-agent",
        "x-project-id": "0123456789abcdef0123456789abcdef",
        "x-sdk-date": "20250101T000000Z",
        "x-security-token": "STSTOKEN",
    }
    canonical = signature.canonical_request(
        "POST",
        "/v2/0123456789abcdef0123456789abcdef/instances/inst-1/backups",
        [],
        headers,
        sorted(headers),
        b'{"remark": "fg-backup", "backup_format": "rdb"}',
    )
    assert (
        signature.signature("SKTEST", "20250101T000000Z", canonical)
        == "808fe844f639f3f982c7bc56c559c875ea1ca5ac0decfb17d811216e0c6e7712"
    )


def test_authorization_header_is_parsed() -> None:
    parts = signature.parse_authorization("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ff")
    assert parts == {"Access": "AK", "SignedHeaders": "host;x-sdk-date", "Signature": "ff"}
