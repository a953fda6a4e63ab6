"""Structured JSON logging: one object per line, invocation context on every line, no secrets."""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"
_SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|access_?key|credential|^sk$|^ak$", re.IGNORECASE)
_SIGNATURE_PARTS = re.compile(r"(Access=|Signature=|X-Security-Token[\"']?\s*[:=]\s*[\"']?)[^\s,\"'}]+", re.IGNORECASE)
_MIN_SECRET_LENGTH = 4
# The SDK names its logger after the client class and stops it from propagating.
SDK_LOGGERS = ("HuaweiCloud-SDK-DcsClient", "py.warnings")


class SecretRedactor:
    """Masks credential values and credential-like keys anywhere in an event, nested or in text.

    A second line of defence: the code never logs credentials on purpose, but exception
    messages and third-party records are not under its control.
    """

    def __init__(self) -> None:
        self._values: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def remember(self, values: Iterable[str]) -> None:
        """Add this invocation's credential values to what is masked."""
        fresh = {v for v in values if len(v) >= _MIN_SECRET_LENGTH}
        with self._lock:
            self._values = self._values | fresh

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        return {key: self._clean(key, value) for key, value in event_dict.items()}

    def redact_text(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        return _SIGNATURE_PARTS.sub(lambda m: m.group(1) + REDACTED, text)

    def _clean(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and _SECRET_KEY.search(key) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, MutableMapping):
            return {k: self._clean(k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(None, v) for v in value]
        return value


redactor = SecretRedactor()


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
        structlog.processors.EventRenamer("message"),
        redactor,
    ]


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Route structlog and the SDK's stdlib loggers to ``stream`` as JSON lines at ``level``."""
    out = stream if stream is not None else sys.stderr
    numeric_level = logging.getLevelName(level)
    structlog.configure(
        processors=[*_processors(), structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
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
    """Start an invocation's log context afresh, so a warm container never carries keys over."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**context)
