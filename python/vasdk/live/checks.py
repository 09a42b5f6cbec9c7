"""Input checks and access rules of the live view's HTTP API.

Everything that comes from the web is checked here before it reaches the pipeline, with the
same limits as the C API (ids, sizes, JSON depth); the pipeline then validates rules and
channels itself and its errors come back as 400 with the message that names the field.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

# A channel id as the live view accepts it: it also names a folder of best shots and a URL path.
CHANNEL_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_BODY = 64 * 1024
MAX_URL = 2048
MAX_DEPTH = 16
# Only camera URLs: a web client must not make the pipeline open a file of this machine.
URL_SCHEMES = ("rtsp", "rtsps")


class BadInput(ValueError):
    """A request the API refuses; the message names the field and the cause (HTTP 400)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return None


def allowed_hosts(host: str, port: int) -> set[str]:
    """Host headers a loopback server answers: others are DNS-rebinding attempts."""
    names = {host, "127.0.0.1", "localhost", "[::1]"} if is_loopback(host) else {host}
    return {f"{n}:{port}" for n in names} | ({"localhost", "127.0.0.1"} if port == 80 else set())


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of parsed JSON, stopping once past the limit."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def parse_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY:
        raise BadInput(f"body: larger than {MAX_BODY} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise BadInput(f"body: not valid UTF-8 JSON: {e}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"body: must be a JSON object, got {type(doc).__name__}")
    if depth(doc) > MAX_DEPTH:
        raise BadInput(f"body: nested deeper than {MAX_DEPTH} levels")
    return doc


def channel_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not CHANNEL_ID.match(value):
        raise BadInput(
            f"{field}: must be 1-64 characters of letters, digits, '_', '.', '-' "
            f"(not starting with '.' or '-'), got {value!r:.80}"
        )
    return value


def camera_url(value: Any, field: str = "url") -> str:
    if not isinstance(value, str) or not value:
        raise BadInput(f"{field}: must be a non-empty string")
    if len(value) > MAX_URL:
        raise BadInput(f"{field}: longer than {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadInput(f"{field}: contains whitespace or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in URL_SCHEMES:
        raise BadInput(
            f"{field}: only {', '.join(s + '://' for s in URL_SCHEMES)} cameras can be "
            f"added from the web (no files), got {parts.scheme or 'no scheme'!r}"
        )
    if not parts.hostname:
        raise BadInput(f"{field}: has no host")
    return value


def only_keys(doc: dict[str, Any], allowed: set[str], what: str) -> None:
    extra = sorted(set(doc) - allowed)
    if extra:
        raise BadInput(f"{what}: unknown field {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")


def rules_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A rules document for update_rules: {"rules": [...], ...}; the pipeline checks the rest."""
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise BadInput("rules: must be a list of rule objects")
    if len(rules) > 256:
        raise BadInput("rules: more than 256 rules")
    return doc


def redact_url(url: str) -> str:
    """A camera URL without its password, for the page and the API."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
