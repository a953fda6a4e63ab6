"""OBS's AK/SK request signature (the SDK's 'obs' and 'v2' forms) and pre-signed URLs, for verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence

# Query parameters that are part of the signed resource (those the export uses, and a few neighbours).
SUB_RESOURCES = frozenset(
    {"acl", "uploads", "uploadid", "partnumber", "versionid", "location", "delete", "metadata", "tagging"}
)
# Authorization prefix → the prefix of the headers it signs.
HEADER_PREFIXES = {"OBS": "x-obs-", "AWS": "x-amz-"}


def string_to_sign(
    method: str,
    resource: str,
    query: Sequence[tuple[str, str | None]],
    headers: Mapping[str, str],
    header_prefix: str,
    expires: str | None = None,
) -> str:
    """Method, Content-MD5, Content-Type, Date (or Expires), the prefixed headers, then the resource.

    ``headers`` are keyed lower-case; ``resource`` is ``/bucket`` or ``/bucket/encoded-key``; a query
    item's value is None when it came without ``=`` (``?uploads``).
    """
    prefixed = sorted((k, v) for k, v in headers.items() if k.startswith(header_prefix))
    date = expires if expires is not None else ("" if f"{header_prefix}date" in headers else headers.get("date", ""))
    lines = [method, headers.get("content-md5", ""), headers.get("content-type", ""), date]
    lines += [f"{k}:{v.strip() if k.startswith(header_prefix + 'meta-') else v}" for k, v in prefixed]
    signed = sorted(
        ((k, v) for k, v in query if k.lower() in SUB_RESOURCES or k.lower().startswith(header_prefix)),
        key=lambda item: item[0],
    )
    sub = "&".join(k if v is None else f"{k}={v}" for k, v in signed)
    return "\n".join(lines) + "\n" + resource + (f"?{sub}" if sub else "")


def sign(secret_key: str, text: str) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_authorization(value: str) -> tuple[str, str, str] | None:
    """``OBS ak:signature`` or ``AWS ak:signature`` → (prefix, access key, signature)."""
    prefix, _, rest = value.partition(" ")
    access_key, _, signature = rest.partition(":")
    if prefix not in HEADER_PREFIXES or not access_key or not signature:
        return None
    return prefix, access_key, signature
