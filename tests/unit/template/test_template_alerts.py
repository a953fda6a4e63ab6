"""The template's alerts (SMN topic, LTS error alarm, async failure destination) and the audit timer, structurally."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import structlog

from dcs_backup.platform.logs import configure_logging
from tests.unit.template.template_hcl import TEMPLATE, load, locals_, one, policy, resources, variables

TOPIC_URN = "${huaweicloud_smn_topic.alerts.topic_urn}"
# LTS's default delimiters (its "Using Search Syntax" page): a line is split into words at these.
LTS_DELIMITERS = re.compile(r"[,'\";=()\[\]{}@&<>/:\\?\n\t\r ]+")


RESOURCES = resources()
ALARM = RESOURCES["huaweicloud_lts_keywords_alarm_rule.errors"]


def _local_value(expression: Any) -> Any:
    """``${local.x}`` → the local's value (python-hcl2 keeps HCL escapes in strings: unescape them)."""
    match = re.fullmatch(r"\$\{local\.(\w+)\}", str(expression))
    if not match:
        return expression
    value = locals_()[match.group(1)]
    return value.replace('\\"', '"') if isinstance(value, str) else value


def _phrase_matches(phrase_query: str, line: str) -> bool:
    """LTS phrase search ``#"a b"``: the words a, b appear next to each other, in order."""
    match = re.fullmatch(r'#"(.+)"', phrase_query)
    assert match, phrase_query
    wanted = [w for w in LTS_DELIMITERS.split(match.group(1)) if w]
    words = [w for w in LTS_DELIMITERS.split(line) if w]
    return any(words[i : i + len(wanted)] == wanted for i in range(len(words) - len(wanted) + 1))


def _function_log_lines() -> dict[str, str]:
    """Lines as the function writes them (its own logging set-up), by what they are."""
    stream = io.StringIO()
    configure_logging("INFO", stream)
    log = structlog.get_logger("alerts-test")
    log.error("backup failed", instance_id="5f2b9c1e", reason="previous backup failed")
    log.info("retrying after an error", instance_id="5f2b9c1e", error="DCS.4096")
    log.warning("error budget low")
    logging.getLogger("HuaweiCloud-SDK-DcsClient").error("ConnectionException occurred. reset")
    lines = stream.getvalue().splitlines()
    configure_logging("INFO")
    kinds = ["structlog error", "info mentioning error", "warning mentioning error", "sdk error"]
    return dict(zip(kinds, lines, strict=True))


class TestTopic:
    def test_topic_exists_and_its_urn_is_an_output(self) -> None:
        topic = RESOURCES["huaweicloud_smn_topic.alerts"]
        assert topic["name"] == "${var.function_name}-alerts"
        outputs = {k: v for block in load("outputs.tf")["output"] for k, v in block.items()}
        assert outputs["alert_topic_urn"]["value"] == TOPIC_URN

    def test_email_subscription_is_conditional_on_the_email_variable(self) -> None:
        subscription = RESOURCES["huaweicloud_smn_subscription.email"]
        assert subscription["count"] == '${var.alert_email == "" ? 0 : 1}'
        assert (subscription["topic_urn"], subscription["protocol"], subscription["endpoint"]) == (
            TOPIC_URN,
            "email",
            "${var.alert_email}",
        )
        email = variables()["alert_email"]
        assert email["default"] == ""
        assert 'var.alert_email == ""' in one(email["validation"])["condition"]


class TestErrorAlarm:
    def test_watches_the_functions_log_group_and_stream(self) -> None:
        request = one(ALARM["keywords_requests"])
        assert request["log_group_id"] == "${huaweicloud_lts_group.function.id}"
        assert request["log_stream_id"] == "${huaweicloud_lts_stream.function.id}"
        function = RESOURCES["huaweicloud_fgs_function.dcs_backup"]
        assert (function["log_group_id"], function["log_stream_id"]) == (
            request["log_group_id"],
            request["log_stream_id"],
        )

    def test_fires_on_a_single_error_line(self) -> None:
        request = one(ALARM["keywords_requests"])
        assert (request["condition"], request["number"]) == (">=", 1)
        window = _local_value(request["search_time_range"])
        frequency = one(ALARM["frequency"])
        assert frequency["type"] == "FIXED_RATE" and frequency["fixed_rate_unit"] == request["search_time_range_unit"]
        # The window equals the period: every line is looked at, once.
        assert _local_value(frequency["fixed_rate"]) == window
        assert 1 <= window <= 60

    def test_keywords_match_the_functions_error_lines_and_nothing_else(self) -> None:
        keywords = _local_value(one(ALARM["keywords_requests"])["keywords"])
        lines = _function_log_lines()
        assert json.loads(lines["structlog error"])["level"] == "error"
        matched = {what for what, line in lines.items() if _phrase_matches(keywords, line)}
        # The SDK's own ERROR records (a retried connection reset) are written as warnings: no page.
        assert matched == {"structlog error"}

    def test_notifies_the_topic(self) -> None:
        assert ALARM["send_notifications"] is True
        # notification_save_rule is the provider's current block; notification_rule is deprecated.
        assert "notification_rule" not in ALARM
        rule = one(ALARM["notification_save_rule"])
        assert rule["template_name"] == "keywords_template"
        assert [topic["topic_urn"] for topic in rule["topics"]] == [TOPIC_URN]

    def test_provider_pin_has_the_notification_save_rule_block(self) -> None:
        versions = (TEMPLATE / "versions.tf").read_text(encoding="utf-8")
        assert re.search(r'version\s*=\s*"~> 1\.(7[4-9]|[89]\d)', versions)


class TestAsyncFailureDestination:
    def test_failed_asynchronous_runs_go_to_the_topic(self) -> None:
        config = RESOURCES["huaweicloud_fgs_async_invoke_configuration.dcs_backup"]
        failure = one(config["on_failure"])
        assert failure["destination"] == "SMN"
        assert failure["param"] == "${jsonencode({topic_urn = huaweicloud_smn_topic.alerts.topic_urn})}"
        assert "on_success" not in config


class TestPublishPermission:
    def test_smn_role_allows_exactly_publish(self) -> None:
        role = RESOURCES["huaweicloud_identity_role.smn_publish"]
        assert role["type"] == "XA"
        assert re.findall(r'"([a-z]+:[A-Za-z:]+)"', role["policy"]) == ["smn:topic:publish"]
        assert "Deny" not in role["policy"]

    def test_publish_is_scoped_to_the_alerts_topic(self) -> None:
        (statement,) = policy(RESOURCES["huaweicloud_identity_role.smn_publish"])["Statement"]
        assert statement["Action"] == ["smn:topic:publish"]
        assert statement["Resource"] == ["SMN:*:*:topic:${huaweicloud_smn_topic.alerts.name}"]

    def test_only_the_smn_role_grants_smn_and_the_agency_holds_it(self) -> None:
        roles = {k: v for k, v in RESOURCES.items() if k.startswith("huaweicloud_identity_role.")}
        assert {k for k, v in roles.items() if "smn:" in v["policy"]} == {"huaweicloud_identity_role.smn_publish"}
        agency = RESOURCES["huaweicloud_identity_agency.function"]
        assert (
            "[huaweicloud_identity_role.dcs_backup.name, huaweicloud_identity_role.smn_publish.name]"
            in one(agency["project_role"])["roles"]
        )


class TestAuditTimer:
    AUDIT = RESOURCES["huaweicloud_fgs_function_trigger.audit"]

    def test_is_created_only_when_audit_schedule_is_set(self) -> None:
        assert self.AUDIT["count"] == '${var.audit_schedule == "" ? 0 : 1}'
        assert variables()["audit_schedule"]["default"] == ""

    def test_is_a_cron_timer_on_audit_schedule(self) -> None:
        assert self.AUDIT["type"] == "TIMER"
        event = self.AUDIT["event_data"]
        assert 'schedule_type = "Cron"' in event and "schedule = var.audit_schedule" in event
        assert '"${var.function_name}-audit"' in event

    def test_user_event_json_holds_action_audit_and_the_optional_rpo(self) -> None:
        event = self.AUDIT["event_data"]
        # user_event is a JSON string: the merge always starts with action = "audit".
        assert re.search(r'user_event = jsonencode\(merge\(\{action = "audit"\}, ', event)
        assert "var.rpo_hours == null ? {} : {rpo_hours = var.rpo_hours}" in event
        # The audit covers what the backup schedule backs up.
        assert "var.timer_select == null ? {} : {select = var.timer_select}" in event
        assert "backup_format" not in event and "remark" not in event

    def test_rpo_hours_is_optional_and_validated(self) -> None:
        rpo = variables()["rpo_hours"]
        assert rpo["type"] == "number" and rpo["default"] is None
        condition = one(rpo["validation"])["condition"]
        assert "var.rpo_hours == null" in condition and "floor(var.rpo_hours)" in condition

    def test_audit_schedule_validation_accepts_empty(self) -> None:
        condition = one(variables()["audit_schedule"]["validation"])["condition"]
        assert condition.startswith('${var.audit_schedule == "" || ')
