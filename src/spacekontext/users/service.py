"""Users: created on first sight from token claims, kept in step by Clerk webhooks.

Every authenticated request needs the user row of its token subject. Each process keeps the rows
it has read while it hears their changes from the database (users/directory.py); otherwise the
lookup is cached under the subject's generation, which the webhooks bump when they change or
delete the user."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import orjson
from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spacekontext.auth.tokens import Identity
from spacekontext.cache.aside import CacheAside, cache_key, owner_generation
from spacekontext.db.engine import Database, Statement
from spacekontext.errors import Forbidden
from spacekontext.ids import new_id
from spacekontext.jobs.service import DELETE_PREFIX_JOB, enqueue
from spacekontext.settings import Settings
from spacekontext.storage.keys import user_prefix
from spacekontext.users.directory import UserDirectory
from spacekontext.users.models import User


@dataclass(frozen=True, slots=True)
class CurrentUserInfo:
    id: str
    clerk_id: str
    email: str | None


def is_admin(user: CurrentUserInfo, settings: Settings) -> bool:
    """The one admin check: the user's e-mail is in `ADMIN_EMAILS` (case-insensitively)."""
    if user.email is None:
        return False
    return user.email.lower() in {email.strip().lower() for email in settings.admin_emails}


def require_admin(user: CurrentUserInfo, settings: Settings, *, action: str) -> None:
    """Admin-only actions answer everyone else 403 `admin_only`: the client contract's answer
    for its admin-only route, and these routes are documented, so the answer leaks nothing."""
    if not is_admin(user, settings):
        raise Forbidden(f"only administrators can {action}", code="admin_only")


def _values(identity: Identity) -> dict[str, str | None]:
    return {
        "clerk_id": identity.subject,
        "email": identity.email.lower() if identity.email else None,
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "image_url": identity.image_url,
    }


async def upsert_user(session: AsyncSession, identity: Identity) -> str:
    """Insert or update the user of `identity` inside the caller's transaction.

    If the e-mail already belongs to another subject (an account re-created at the identity
    provider), the new subject is kept without claiming the address."""
    values = _values(identity)
    for attempt in (values, {**values, "email": None}):
        statement = (
            insert(User)
            .values(id=new_id(), **attempt)
            .on_conflict_do_update(
                index_elements=[User.clerk_id],
                set_={k: v for k, v in attempt.items() if k != "clerk_id"}
                | {"updated_at": func.now()},
            )
            .returning(User.id)
        )
        try:
            async with session.begin_nested():
                return str((await session.execute(statement)).scalar_one())
        except IntegrityError:
            if attempt["email"] is None:
                raise
    raise AssertionError("unreachable")


# Every authenticated request's first statement (on a cache miss): parsed once.
_BY_SUBJECT = Statement("SELECT id, clerk_id, email FROM app.users WHERE clerk_id = :subject")


# Subjects whose user id is remembered for read-ahead (about 150 bytes each).
REMEMBERED_IDS = 100_000


def subject_generation(subject: str) -> str:
    """The cached user lookup of one token subject; bump it when that user changes."""
    return owner_generation("subject", subject)


class ProfileSource(Protocol):
    """Completes a verified identity from the identity provider (auth/clerk.py)."""

    async def complete(self, identity: Identity) -> Identity: ...


class UserService:
    def __init__(
        self,
        db: Database,
        cache: CacheAside | None = None,
        profiles: ProfileSource | None = None,
        directory: UserDirectory[CurrentUserInfo] | None = None,
    ) -> None:
        """`profiles`: where a user seen for the first time gets the e-mail and names that a
        session token does not carry (Clerk's Backend API when configured). `directory`: this
        process's own copy of the rows, kept in step by the database's notifications
        (users/directory.py); consulted before the cache while it is serving."""
        self._db = db
        self._cache = cache or CacheAside(None)
        self._profiles = profiles
        self.directory = directory
        self._ids: dict[str, str] = {}

    async def resolve(self, identity: Identity) -> CurrentUserInfo:
        """The user row for a verified token subject, inserted on first sight."""
        directory = self._serving_directory()
        if directory is not None:
            user = directory.get(identity.subject)
            if user is None:
                # Taken before the read: a change heard meanwhile keeps the row out.
                epoch = directory.epoch
                # From the primary: a replica could still hold the row a notification
                # already announced as changed.
                user = await self._resolve(identity, primary=True)
                directory.keep(identity.subject, user, epoch)
            self._remember(identity.subject, user.id)
            return user

        async def load() -> bytes:
            return orjson.dumps(asdict(await self._resolve(identity)))

        generation, key = self.cache_keys(identity.subject)
        body = await self._cache.cached_bytes(key, load, generation=generation)
        user = CurrentUserInfo(**orjson.loads(body))
        self._remember(identity.subject, user.id)
        return user

    @staticmethod
    def cache_keys(subject: str) -> list[str]:
        """The generation and the key of a subject's cached user record."""
        return [subject_generation(subject), cache_key("user:subject", subject)]

    def read_ahead_keys(self, subject: str) -> list[str]:
        """The cache keys `resolve` will read for `subject`: none while the directory serves."""
        return [] if self._serving_directory() is not None else self.cache_keys(subject)

    def _serving_directory(self) -> UserDirectory[CurrentUserInfo] | None:
        directory = self.directory
        return directory if directory is not None and directory.serving else None

    def remembered_id(self, subject: str) -> str | None:
        """The user id this process last resolved for `subject`: a guess, good for reading
        ahead (cache/readahead.py), never for deciding anything (the user may have been
        deleted and re-created since)."""
        return self._ids.get(subject)

    def _remember(self, subject: str, user_id: str) -> None:
        if self._ids.get(subject) != user_id:
            if len(self._ids) >= REMEMBERED_IDS:
                self._ids.pop(next(iter(self._ids)))  # the oldest: a plain bound, not an LRU
            self._ids[subject] = user_id

    async def _resolve(self, identity: Identity, *, primary: bool = False) -> CurrentUserInfo:
        rows = await self._db.fetch(_BY_SUBJECT, {"subject": identity.subject}, primary=primary)
        if rows:
            return CurrentUserInfo(rows[0]["id"], rows[0]["clerk_id"], rows[0]["email"])
        if self._profiles is not None:
            identity = await self._profiles.complete(identity)
        async with self._db.unit_of_work() as uow:
            user_id = await upsert_user(uow.session, identity)
            await uow.commit()
        return CurrentUserInfo(user_id, identity.subject, _values(identity)["email"])


async def delete_user(session: AsyncSession, subject: str) -> str | None:
    """Delete a user inside the caller's transaction; their projects go with them (cascade) and
    their stored objects are removed by a job committed in the same transaction. Returns the
    deleted user's id (None when there was none)."""
    result = await session.execute(delete(User).where(User.clerk_id == subject).returning(User.id))
    user_id = result.scalar_one_or_none()
    if user_id is None:
        return None
    await enqueue(session, DELETE_PREFIX_JOB, {"prefix": user_prefix(user_id)})
    return str(user_id)
