"""Clerk webhooks (delivered by Svix): signature checked, each message applied exactly once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import orjson
from sqlalchemy.dialects.postgresql import insert
from svix.webhooks import Webhook, WebhookVerificationError

from spacekontext.auth.clerk import identity_from_clerk_user
from spacekontext.cache.aside import CacheAside
from spacekontext.db.engine import Database
from spacekontext.errors import Invalid, Unavailable
from spacekontext.projects.service import projects_generation
from spacekontext.users.service import delete_user, subject_generation, upsert_user
from spacekontext.webhooks.models import WebhookEvent

HANDLED_EVENTS = ("user.created", "user.updated", "user.deleted")
# The column that records a delivery (`webhook_events.svix_id`).
MAX_MESSAGE_ID = 128


def _text(data: Mapping[str, Any], key: str, max_chars: int) -> str | None:
    """An optional text field of the event's `data`: absent, null or empty is None."""
    return _checked(key, data.get(key), max_chars)


def _checked(key: str, value: Any, max_chars: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_chars:
        raise Invalid(
            f"webhook `data.{key}` must be text of at most {max_chars} characters",
            code="invalid_payload",
            details={"field": f"data.{key}"},
        )
    return value


class ClerkWebhookService:
    def __init__(self, db: Database, secret: str | None, cache: CacheAside | None = None) -> None:
        self._db = db
        self._webhook = Webhook(secret) if secret else None
        self._cache = cache or CacheAside(None)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        if self._webhook is None:
            raise Unavailable("webhooks are not configured (CLERK_WEBHOOK_SECRET)")
        try:
            self._webhook.verify(body, dict(headers))
        except WebhookVerificationError as exc:
            raise Invalid("Invalid signature", code="invalid_signature") from exc
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Invalid("webhook body is not valid JSON", code="malformed_json") from exc
        if not isinstance(payload, dict):
            raise Invalid("webhook payload must be an object", code="invalid_payload")
        return payload

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, bool]:
        """Apply one delivery. Returns (event type, whether it changed anything)."""
        payload = self.verify(body, headers)
        message_id = headers.get("svix-id") or headers.get("webhook-id") or ""
        if len(message_id) > MAX_MESSAGE_ID:
            raise Invalid(
                f"the message id is longer than {MAX_MESSAGE_ID} characters",
                code="invalid_payload",
            )
        event_type = payload.get("type")
        data = payload.get("data")
        if not isinstance(event_type, str) or not isinstance(data, dict):
            raise Invalid("webhook payload needs `type` and `data`", code="invalid_payload")
        if event_type not in HANDLED_EVENTS:
            return event_type, False
        subject = _text(data, "id", 255)
        if subject is None:
            raise Invalid("webhook `data.id` is missing", code="invalid_payload")
        # Checked before anything is recorded: a refused delivery leaves no trace, and Svix
        # retries it once the sender is fixed.
        for key, max_chars in (("first_name", 255), ("last_name", 255), ("image_url", 2048)):
            _text(data, key, max_chars)
        identity = identity_from_clerk_user(subject, data)
        _checked("email_addresses", identity.email, 320)

        async with self._db.unit_of_work() as uow:
            recorded = await uow.session.execute(
                insert(WebhookEvent)
                .values(svix_id=message_id, event_type=event_type)
                .on_conflict_do_nothing()
                .returning(WebhookEvent.svix_id)
            )
            if recorded.first() is None:
                return event_type, False  # a replay: already applied
            stale = [subject_generation(subject)]
            if event_type == "user.deleted":
                deleted_id = await delete_user(uow.session, subject)
                if deleted_id is not None:
                    stale.append(projects_generation(deleted_id))  # gone by cascade
            else:
                await upsert_user(uow.session, identity)
            uow.after_commit(partial(self._cache.bump, *stale))
            await uow.commit()
        return event_type, True
