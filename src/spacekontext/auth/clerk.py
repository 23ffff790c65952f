"""Clerk's Backend API, for the one thing a session token lacks: who the user is.

A Clerk session token carries the user id (`sub`) but no e-mail or name. A user seen for the
first time is looked up with `GET /v1/users/{id}` (CLERK_SECRET_KEY) so that the row starts
complete; the `user.created` webhook would fill it later anyway, so a failed lookup is logged
and the user is provisioned without an e-mail rather than refused."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import httpx

from spacekontext.auth.tokens import Identity

log = logging.getLogger("spacekontext.auth.clerk")

# Clerk user ids: `user_` and base62. Anything else (a dev token's `dev|…`) is not looked up.
_CLERK_USER_ID = re.compile(r"user_[A-Za-z0-9]{1,64}")


def _primary_email(user: dict[str, Any]) -> str | None:
    addresses = [a for a in user.get("email_addresses") or [] if isinstance(a, dict)]
    primary = user.get("primary_email_address_id")
    for address in addresses:
        if address.get("id") == primary and isinstance(address.get("email_address"), str):
            return str(address["email_address"])
    for address in addresses:
        if isinstance(address.get("email_address"), str):
            return str(address["email_address"])
    return None


def identity_from_clerk_user(subject: str, user: dict[str, Any]) -> Identity:
    """An identity from a Clerk user object (Backend API or webhook `data`)."""

    def text(name: str) -> str | None:
        value = user.get(name)
        return value if isinstance(value, str) and value else None

    return Identity(
        subject=subject,
        email=_primary_email(user),
        first_name=text("first_name"),
        last_name=text("last_name"),
        image_url=text("image_url"),
    )


class ClerkBackend:
    """The user profile lookup of UserService, against Clerk's Backend API."""

    def __init__(
        self, base_url: str, secret_key: str, *, http: httpx.AsyncClient | None = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._secret_key = secret_key
        self._http = http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)

    async def complete(self, identity: Identity) -> Identity:
        """`identity` with the e-mail and names Clerk holds for it; unchanged when it already
        has an e-mail, is not a Clerk user id, or the lookup fails."""
        if identity.email is not None or not _CLERK_USER_ID.fullmatch(identity.subject):
            return identity
        url = f"{self._base_url}/v1/users/{quote(identity.subject, safe='')}"
        try:
            response = await self._http.get(
                url, headers={"Authorization": f"Bearer {self._secret_key}"}
            )
        except httpx.HTTPError as exc:
            log.warning("clerk user lookup failed: %s", type(exc).__name__)
            return identity
        if response.status_code != 200:
            log.warning("clerk user lookup answered %s", response.status_code)
            return identity
        try:
            user = response.json()
        except ValueError:
            log.warning("clerk user lookup answered a body that is not JSON")
            return identity
        if not isinstance(user, dict) or user.get("id") != identity.subject:
            log.warning("clerk user lookup answered another user")
            return identity
        found = identity_from_clerk_user(identity.subject, user)
        return Identity(
            subject=identity.subject,
            email=found.email,
            first_name=found.first_name or identity.first_name,
            last_name=found.last_name or identity.last_name,
            image_url=found.image_url or identity.image_url,
            expires_at=identity.expires_at,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
