"""Redaction and the JSON line format."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from dcs_backup.platform.logs import REDACTED, SecretRedactor, bind_invocation, configure_logging, redactor


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


def test_secrets_are_scoped_to_the_invocation() -> None:
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


class TestSignedLinks:
    """Pre-signed OBS links (v2 and v4, with a temporary key's token) quoted in a line lose every credential."""

    V2 = (
        "https://b.obs.cn-north-4.myhuaweicloud.com/f.rdb?AccessKeyId=AKV2EXAMPLE&Expires=1767225600"
        "&x-obs-security-token=OBSTOKENEXAMPLE&Signature=SIGV2EXAMPLE%3D"
    )
    AWS_V2 = "https://b.obs.example.com/f.rdb?AWSAccessKeyId=AKAWSEXAMPLE&Expires=1&x-amz-security-token=AMZTOKEN"
    V4 = (
        "https://b.obs.example.com/f.rdb?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKV4EXAMPLE%2F20260101%2Fcn-north-4%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
        "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=V4TOKENEXAMPLE"
        "&X-Amz-Signature=V4SIGNATUREEXAMPLE"
    )
    SECRETS = (
        "AKV2EXAMPLE",
        "OBSTOKENEXAMPLE",
        "SIGV2EXAMPLE",
        "AKAWSEXAMPLE",
        "AMZTOKEN",
        "AKV4EXAMPLE",
        "V4TOKENEXAMPLE",
        "V4SIGNATUREEXAMPLE",
    )

    @pytest.mark.parametrize("link", [V2, AWS_V2, V4, V4.lower(), V2.upper()])
    def test_every_credential_parameter_is_masked(self, link: str) -> None:
        cleaned = SecretRedactor().redact_text(f"GET {link} failed")
        assert not any(secret.lower() in cleaned.lower() for secret in self.SECRETS), cleaned

    def test_what_is_not_a_credential_stays_readable(self) -> None:
        # GIVEN a v4 link, THEN its host, path, expiry and signed headers are still there to debug with
        cleaned = SecretRedactor().redact_text(self.V4)
        assert cleaned.startswith("https://b.obs.example.com/f.rdb?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
        assert "X-Amz-Expires=3600" in cleaned and "X-Amz-SignedHeaders=host" in cleaned
        assert f"X-Amz-Security-Token={REDACTED}&" in cleaned

    def test_tokens_in_a_header_dump_are_masked(self) -> None:
        text = "headers {'x-obs-security-token': 'HDRTOKEN1', 'X-Amz-Security-Token': \"HDRTOKEN2\"}"
        cleaned = SecretRedactor().redact_text(text)
        assert "HDRTOKEN1" not in cleaned and "HDRTOKEN2" not in cleaned

    def test_a_log_line_quoting_a_link_carries_none_of_its_credentials(self) -> None:
        # GIVEN JSON logging, WHEN a line quotes v2 and v4 links in its message and a field
        stream = io.StringIO()
        configure_logging("INFO", stream)
        structlog.get_logger("t").warning(f"download of {self.V2} failed", detail=f"retrying {self.V4}")
        configure_logging("INFO")
        # THEN the written line holds none of the credentials
        (line,) = stream.getvalue().splitlines()
        assert json.loads(line)["level"] == "warning"
        assert not any(secret in line for secret in self.SECRETS), line


def test_the_sdks_lines_start_with_timestamp_level_message_and_its_location_too() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    logging.getLogger("HuaweiCloud-SDK-DcsClient").warning("slow answer")
    configure_logging("INFO")
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert list(line)[:4] == ["timestamp", "level", "message", "location"]
    assert line["location"].startswith("test_the_sdks_lines_start_with_timestamp_level_message")
