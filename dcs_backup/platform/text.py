"""Checking untrusted text and showing it back safely in answers and logs."""

from __future__ import annotations

from collections.abc import Sequence

MAX_SHOWN_VALUE = 40
MAX_SHOWN_NAME = 64
MAX_FOREIGN_TEXT = 512


def ascii_whole_number(raw: str | None) -> int | None:
    """``raw`` as an int when it is plain ASCII digits ("²" and "٣" are digits to str.isdigit, and int or
    float read "٣"): configuration values and the numbers in HTTP headers are ASCII or nothing."""
    return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None


def is_utf8_text(value: object) -> bool:
    """A string that can be encoded as UTF-8: JSON allows lone surrogates, DCS and hashing do not."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def show_value(value: object) -> str:
    """A short, escaped rendering of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 3] + "..."


def show_name(name: object) -> str:
    """A field name from a request, cut and escaped so it cannot break a line or flood an answer."""
    text = repr(str(name))[1:-1]
    return text if len(text) <= MAX_SHOWN_NAME else text[: MAX_SHOWN_NAME - 3] + "..."


def show_list(items: list[str], limit: int = 10) -> str:
    """At most ``limit`` items joined by commas, then "and N more"."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def foreign_text(value: object, limit: int = MAX_FOREIGN_TEXT) -> str:
    """Text another service sent (an error message): valid UTF-8, and cut, so it cannot break or flood an answer."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closest(word: object, choices: Sequence[str]) -> str | None:
    """The choice a mistyped ``word`` most likely meant, if any is close (difflib's ratio ≥ 0.75)."""
    if not isinstance(word, str):
        return None
    from difflib import get_close_matches  # only for a mistake: kept out of every cold start

    found = get_close_matches(word.lower(), choices, n=1, cutoff=0.75)
    return found[0] if found else None
