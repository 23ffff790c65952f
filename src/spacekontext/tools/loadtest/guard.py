"""Load only ever goes to this machine: the target must be a loopback address."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class NotLoopback(ValueError):
    """The target is not on this machine's loopback interface."""


def ensure_loopback(url: str) -> str:
    """Return the base URL (no trailing slash) if its host is `localhost` or a loopback IP
    literal (127.0.0.0/8, ::1); raise NotLoopback otherwise. Names other than `localhost` are
    refused rather than resolved: what a name resolves to can change under our feet."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise NotLoopback(f"{url!r}: only http(s) URLs can be load-tested")
    host = parts.hostname or ""
    if parts.username or parts.password:
        raise NotLoopback(f"{url!r}: credentials in the URL are not accepted")
    if host != "localhost":
        try:
            address = ipaddress.ip_address(host)
        except ValueError as exc:
            raise NotLoopback(
                f"{url!r}: the target must be localhost or a loopback address"
            ) from exc
        if not address.is_loopback:
            raise NotLoopback(f"{url!r}: {host} is not a loopback address")
    return url.rstrip("/")
