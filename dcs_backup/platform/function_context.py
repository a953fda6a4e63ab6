"""What FunctionGraph tells an invocation through its context: getters' values and the remaining time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dcs_backup.platform.text import ascii_whole_number

DEFAULT_TIMEOUT_S = 300


def context_value(context: Any, method: str) -> str:
    """A context getter's value, or "" when the runtime does not offer that method."""
    getter = getattr(context, method, None)
    if getter is None:
        return ""
    value = getter()
    return value.strip() if isinstance(value, str) else ""


def remaining_ms(context: Any, env: Mapping[str, str]) -> float:
    """The context's remaining time; else the configured timeout (RUNTIME_TIMEOUT); else 300 s."""
    getter = getattr(context, "getRemainingTimeInMilliSeconds", None)
    if getter is not None:
        value = getter()
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    timeout = ascii_whole_number(env.get("RUNTIME_TIMEOUT", "").strip())
    return float(timeout) * 1000 if timeout else DEFAULT_TIMEOUT_S * 1000


def memory_size_mb(context: Any, env: Mapping[str, str]) -> int | None:
    """The function's memory in MB: the context's getMemorySize, else RUNTIME_MEMORY, else unknown."""
    getter = getattr(context, "getMemorySize", None)
    value = getter() if getter is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    text = value if isinstance(value, str) else env.get("RUNTIME_MEMORY", "")
    return ascii_whole_number(text.strip()) or None


def with_user_data(context: Any, env: Mapping[str, str], names: tuple[str, ...]) -> Mapping[str, str]:
    """``env``, plus the named variables the context's ``getUserData`` holds and ``env`` lacks.

    Encrypted user data is decrypted for the function's context; whether the runtime also puts it in the
    process environment is not documented, so both are read (the environment wins).
    """
    getter = getattr(context, "getUserData", None)
    if getter is None:
        return env
    found: dict[str, str] = {}
    for name in names:
        if env.get(name, "").strip():
            continue
        try:
            value = getter(name)
        except Exception:  # noqa: BLE001 - a runtime without that key may raise: then it is not set
            continue
        if isinstance(value, str) and value.strip():
            found[name] = value
    return {**env, **found} if found else env
