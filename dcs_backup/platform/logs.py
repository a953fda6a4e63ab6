"""Structured JSON logging: one object per line, invocation context on every line, no secrets.

Keys come in a stable order: ``timestamp``, ``level``, ``message``, ``location`` (``function:line`` of the
call, as Powertools' Logger writes it), then the line's own fields, then the invocation's context. The local
runner may hand in another renderer (a console one for a person at a terminal); the platform never does.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"
HIDDEN = "<hidden>"
_SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|access_?key|credential|^sk$|^ak$", re.IGNORECASE)
# Credential parts of a signed request or link, case-insensitive, "=" possibly percent-encoded: the SDK's
# Authorization header (Access=, Signature=), OBS and S3 pre-signed links in v2 (AccessKeyId, AWSAccessKeyId,
# Signature) and v4 (X-Amz-Credential, X-Amz-Signature), and security tokens as a query parameter
# (x-obs-security-token, X-Amz-Security-Token) or a header (X-Security-Token: ...). Values end at "&".
_CREDENTIAL_PARAM = r"(?:Access|AccessKeyId|Signature|Credential)(?:=|%3D)"
_SECURITY_TOKEN = r"Security-?Token[\"']?\s*(?:[:=]|%3D)\s*[\"']?"
_SIGNATURE_PARTS = re.compile(rf"({_CREDENTIAL_PARAM}|{_SECURITY_TOKEN})[^\s&,\"'}}]+", re.IGNORECASE)
_SIGNATURE_REDACTED = rf"\g<1>{REDACTED}"
_MIN_SECRET_LENGTH = 4
# The SDK names its logger after the client class and stops it from propagating.
SDK_LOGGERS = ("HuaweiCloud-SDK-DcsClient", "py.warnings")


class SecretRedactor:
    """Masks credential values and credential-like keys anywhere in an event, nested or in text.

    A second line of defence: the code never logs credentials on purpose, but exception
    messages and third-party records are not under its control. What it masks belongs to
    the current invocation (a context variable that worker threads inherit), so the cost of
    a log line does not grow with the number of invocations a warm container has served.
    """

    def __init__(self) -> None:
        self._secrets: ContextVar[tuple[str, ...]] = ContextVar(f"secrets-{id(self)}", default=())
        self._internals: ContextVar[tuple[str, ...]] = ContextVar(f"internals-{id(self)}", default=())

    def remember(self, secrets: Iterable[str], internals: Iterable[str] = ()) -> None:
        """Mask ``secrets`` everywhere and ``internals`` (endpoint, project) in answers, for this invocation."""
        self._secrets.set(_longest_first(self._secrets.get(), secrets))
        self._internals.set(_longest_first(self._internals.get(), internals))

    def forget(self) -> None:
        """Start a new invocation with nothing remembered."""
        self._secrets.set(())
        self._internals.set(())

    @property
    def remembered_count(self) -> int:
        return len(self._secrets.get())

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        return {key: self._clean(key, value, ()) for key, value in event_dict.items()}

    def redact_text(self, text: str) -> str:
        return self._redact_text(text, ())

    def redact_public(self, value: Any) -> Any:
        """What a caller may see: secrets masked, and the endpoint and project id hidden too."""
        return self._clean(None, value, self._internals.get())

    def _redact_text(self, text: str, internals: tuple[str, ...]) -> str:
        for secret in self._secrets.get():
            if secret in text:
                text = text.replace(secret, REDACTED)
        for internal in internals:
            if internal in text:
                text = text.replace(internal, HIDDEN)
        # Every signature part holds a "=" or a ":"; most values (ids, names) hold neither.
        if "=" in text or ":" in text:
            text = _SIGNATURE_PARTS.sub(_SIGNATURE_REDACTED, text)
        return text

    def _clean(self, key: object, value: Any, internals: tuple[str, ...]) -> Any:
        if isinstance(key, str) and _is_secret_key(key) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self._redact_text(value, internals)
        if isinstance(value, MutableMapping):
            return {k: self._clean(k, v, internals) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(None, v, internals) for v in value]
        return value


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    """Log lines reuse a few dozen keys: each is judged once (bounded, as keys from DCS answers vary)."""
    return _SECRET_KEY.search(key) is not None


def _longest_first(known: tuple[str, ...], values: Iterable[str]) -> tuple[str, ...]:
    """Longest first, so a secret that contains another is masked whole."""
    fresh = {v for v in values if len(v) >= _MIN_SECRET_LENGTH}
    return tuple(sorted(fresh.union(known), key=len, reverse=True))


redactor = SecretRedactor()


_CALLSITE = (structlog.processors.CallsiteParameter.FUNC_NAME, structlog.processors.CallsiteParameter.LINENO)
FIRST_KEYS = ("timestamp", "level", "message", "location")


def _location(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Powertools' ``location``: the function and line that wrote the line."""
    function, line = event_dict.pop("func_name", None), event_dict.pop("lineno", None)
    if function is not None:
        event_dict["location"] = f"{function}:{line}"
    return event_dict


def _in_stable_order(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The first keys always first, so a person reading raw lines finds the message at the same place."""
    first = {key: event_dict.pop(key) for key in FIRST_KEYS if key in event_dict}
    return {**first, **event_dict}


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.CallsiteParameterAdder(_CALLSITE),
        _location,
        structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
        structlog.processors.EventRenamer("message"),
        redactor,
    ]


def _sdk_errors_as_warnings(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The SDK logs every connection reset at ERROR, retried or not; ERROR lines page a person.

    The function's own lines say what finally failed, so the SDK's are kept, as warnings.
    """
    record = event_dict.get("_record")
    if record is not None and record.name in SDK_LOGGERS and event_dict.get("level") in ("error", "critical"):
        event_dict["sdk_level"] = event_dict["level"]
        event_dict["level"] = "warning"
    return event_dict


_configured: list[tuple[str, TextIO, Processor | None]] = []


def configure_logging(level: str, stream: TextIO | None = None, renderer: Processor | None = None) -> None:
    """Route structlog and the SDK's stdlib loggers to ``stream`` at ``level``: JSON lines unless ``renderer``.

    Done once per container, and again only when the level, the stream or the renderer changes.
    """
    out = stream if stream is not None else sys.stderr
    if _configured == [(level, out, renderer)]:
        return
    _configured[:] = [(level, out, renderer)]
    numeric_level = logging.getLevelName(level)
    render = renderer if renderer is not None else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[*_processors(), _in_stable_order, render],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_processors(), _sdk_errors_as_warnings],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _in_stable_order, render],
        )
    )
    logging.captureWarnings(True)
    for name in SDK_LOGGERS:
        sdk_logger = logging.getLogger(name)
        sdk_logger.handlers = [handler]
        # The SDK logs every HTTP exchange at INFO; keep that for DEBUG runs only.
        sdk_logger.setLevel(numeric_level if numeric_level <= logging.DEBUG else max(numeric_level, logging.WARNING))
        sdk_logger.propagate = False


def bind_invocation(**context: Any) -> None:
    """Start an invocation's log context afresh, so a warm container never carries keys or secrets over."""
    structlog.contextvars.clear_contextvars()
    redactor.forget()
    structlog.contextvars.bind_contextvars(**context)
