"""Redaction and the JSON line format."""

from __future__ import annotations

import io
import json
import logging

import structlog

from dcs_backup.logs import REDACTED, SecretRedactor, bind_invocation, configure_logging, redactor


def test_known_secret_values_are_masked_inside_text() -> None:
    masker = SecretRedactor()
    masker.remember(["s3cr3t-value"])
    cleaned = masker(None, "info", {"message": "failed with key s3cr3t-value in it"})
    assert cleaned["message"] == f"failed with key {REDACTED} in it"


def test_credential_like_keys_are_masked_at_any_depth() -> None:
    cleaned = SecretRedactor()(
        None, "info", {"headers": {"Authorization": "x", "X-Security-Token": "y"}, "items": [{"secret_key": "z"}]}
    )
    assert cleaned["headers"] == {"Authorization": REDACTED, "X-Security-Token": REDACTED}
    assert cleaned["items"] == [{"secret_key": REDACTED}]


def test_signature_parts_in_text_are_masked() -> None:
    text = "Authorization: SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=host, Signature=abc123"
    cleaned = SecretRedactor().redact_text(text)
    assert "AKEXAMPLE" not in cleaned and "abc123" not in cleaned


def test_structlog_and_sdk_records_are_one_json_object_per_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    redactor.remember(["another-secret-0001"])
    structlog.get_logger("t").info("hello", detail="with another-secret-0001")
    logging.getLogger("HuaweiCloud-SDK-DcsClient").error("ConnectionException occurred. %s", "reset")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["hello", "ConnectionException occurred. reset"]
    assert lines[0]["detail"] == f"with {REDACTED}"
    assert all({"timestamp", "level"} <= line.keys() for line in lines)


def test_finding_11_secrets_are_scoped_to_the_invocation() -> None:
    # GIVEN 2,000 invocations, each with new credentials
    for n in range(2000):
        bind_invocation(request_id=str(n))
        redactor.remember([f"token-of-invocation-{n:04d}"])
    # THEN only the current invocation's secrets are held, and an earlier one's is no longer searched for
    assert redactor.remembered_count == 1
    assert redactor.redact_text("token-of-invocation-1999") == REDACTED


def test_the_sdks_error_records_are_written_as_warnings() -> None:
    # GIVEN the SDK logs a connection reset at ERROR (it does so before the function retries)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    logging.getLogger("HuaweiCloud-SDK-DcsClient").error("ConnectionException occurred. reset")
    configure_logging("INFO")
    # THEN the line is a warning, saying the SDK's own level: only the function's lines page a person
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["level"], line["sdk_level"]) == ("warning", "error")
