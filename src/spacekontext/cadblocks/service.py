"""The CAD block library: listing and filtering (from the table only), seeding the starter
library, reading a block's DXF and thumbnail, and admin uploads.

Objects first, rows second: a block row only ever points at objects that exist. A failed seed
or upload leaves at worst objects without rows, which the next seed overwrites (keys are
derived from the slug) and `storage reconcile` finds.

The library listing is cache-aside (ready-to-send bytes) under one shared generation,
`gen:cad-blocks`, replaced after the commit of every block write (upload, seed): see
docs/caching.md."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ezdxf.bbox
import orjson
from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert

from spacekontext.cache.aside import CacheAside, cache_key, shared_generation
from spacekontext.cadblocks.library import BlockSpec, block_dxf, block_svg, library
from spacekontext.cadblocks.models import CadBlock
from spacekontext.cadblocks.schemas import CadBlockRead, CadBlockUpload
from spacekontext.db.engine import Database, Statement
from spacekontext.dxf.preview import render_entities_svg
from spacekontext.dxf.reader import load_drawing, unit_scale
from spacekontext.errors import Conflict, Invalid, NotFound, Unprocessable
from spacekontext.ids import new_id
from spacekontext.search.engine import in_search_form, search_terms
from spacekontext.search.service import clean_query
from spacekontext.storage.base import ObjectStore, require_store

KEY_PREFIX = "cad-blocks/"
DXF_TYPE = "image/vnd.dxf"
SVG_TYPE = "image/svg+xml"
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
CAD_BLOCKS = shared_generation("cad-blocks")
# The library changes only through block writes, each of which replaces the generation: the TTL
# only bounds memory, and a stale entry after a failed bump (docs/caching.md, "Redis down").
LIST_TTL_S = 3600
# Whether a user owns a private block (admins who uploaded one): one statement on the driver,
# asked once per user and generation (`_owns_private_blocks`).
_OWNS_PRIVATE = Statement(
    "SELECT 1 AS owns FROM app.cad_blocks WHERE created_by_user_id = :user_id AND NOT is_public "
    "LIMIT 1"
)

_COLUMNS = (
    CadBlock.id,
    CadBlock.slug,
    CadBlock.name,
    CadBlock.category,
    CadBlock.subcategory,
    CadBlock.description,
    CadBlock.tags,
    CadBlock.width_m,
    CadBlock.depth_m,
    CadBlock.height_m,
    CadBlock.is_public,
)


def dxf_key(slug: str, version: str = "library") -> str:
    return f"{KEY_PREFIX}{slug}/{version}.dxf"


def thumbnail_key(slug: str, version: str = "library") -> str:
    return f"{KEY_PREFIX}{slug}/{version}.svg"


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_UNSAFE.sub("-", ascii_name).strip("-")[:100]
    if not slug:
        raise Invalid("the name gives an empty slug", code="invalid_name")
    return slug


def _read(row: Any) -> CadBlockRead:
    data = dict(row._mapping)
    return CadBlockRead(
        **data,
        dxf_url=f"/api/cad-blocks/{data['slug']}/dxf",
        thumbnail_url=f"/api/cad-blocks/{data['slug']}/thumbnail.svg",
    )


# The web client's vocabulary (category, subcategory) → ours; a subcategory of None is the
# whole category. Its door and window pickers ask for `door/door` and `window/window`.
CLIENT_CATEGORIES: dict[str, list[tuple[str, str | None]]] = {
    "door": [("doors", None)],
    "window": [("windows", None)],
    "bathroom": [("bath", None)],
    "kitchen": [("kitchen", None), ("appliances", "kitchen")],
    "misc": [("appliances", None), ("stairs", None)],
    "furniture": [("furniture", None)],
}
CLIENT_SUBCATEGORIES: dict[tuple[str, str], list[tuple[str, str | None]]] = {
    ("furniture", "bedroom"): [("furniture", "beds")],
}


def resolve_category(
    category: str | None, subcategory: str | None
) -> list[tuple[str | None, str | None]]:
    """The (category, subcategory) filters a request stands for: ours as given, or the web
    client's names as aliases of ours (where the subcategory repeats the category, or is
    absent, the whole category)."""
    if category is None or category not in CLIENT_CATEGORIES:
        return [(category, subcategory)]
    if subcategory is None or subcategory == category:
        return list(CLIENT_CATEGORIES[category])
    alias = CLIENT_SUBCATEGORIES.get((category, subcategory))
    if alias is not None:
        return list(alias)
    # furniture/seating: our furniture category has the same subcategory names.
    return [(ours, subcategory) for ours, _ in CLIENT_CATEGORIES[category]]


def _visible(user_id: str | None) -> Any:
    if user_id is None:
        return CadBlock.is_public.is_(True)
    return or_(CadBlock.is_public.is_(True), CadBlock.created_by_user_id == user_id)


@dataclass(frozen=True, slots=True)
class BlockFilter:
    """Which blocks a listing shows: a category and subcategory (any case), words to search."""

    category: str | None = None
    subcategory: str | None = None
    search: str | None = None

    def normalized(self) -> BlockFilter:
        return BlockFilter(
            self.category.lower() if self.category else None,
            self.subcategory.lower() if self.subcategory else None,
            self.search,
        )


class CadBlockService:
    def __init__(
        self, db: Database, store: ObjectStore | None = None, cache: CacheAside | None = None
    ) -> None:
        self._db = db
        self._store = store
        self._cache = cache or CacheAside(None)  # None: caching off

    async def list_json(self, user_id: str, wanted: BlockFilter | None = None) -> bytes:
        """The listing as JSON (`{"blocks": [...]}`), from the cache when current.

        A listing holds the public blocks plus the caller's own private ones. Users who own no
        private block (everybody but an admin who uploaded one) share one cached listing per
        filter: one load per filter and generation, where a listing per user and filter missed
        nearly every time (a thousand users times the filters they pick). Whether a user owns a
        private block is itself cached per user, under the same generation, so the upload of
        one is seen at once. Loaded from the primary: the generation is shared by every user,
        so a reader other than the writer would otherwise reload pre-write rows from a lagging
        replica and store them under the new tag (read-your-writes only covers the writer)."""
        wanted = (wanted or BlockFilter()).normalized()
        owner: str | None = user_id
        if self._cache.enabled and not await self._owns_private_blocks(user_id):
            owner = None

        async def load() -> bytes:
            blocks = await self.list(owner, wanted, primary=self._cache.enabled)
            return orjson.dumps(
                {"blocks": [block.model_dump(mode="json", by_alias=True) for block in blocks]}
            )

        filters = (wanted.category, wanted.subcategory, wanted.search)
        return await self._cache.cached_bytes(
            cache_key("cad-blocks", owner, *filters)
            if owner is not None
            else cache_key("cad-blocks-public", *filters),
            load,
            generation=CAD_BLOCKS,
            ttl_s=LIST_TTL_S,
        )

    async def _owns_private_blocks(self, user_id: str) -> bool:
        async def load() -> bytes:
            found = await self._db.fetch(_OWNS_PRIVATE, {"user_id": user_id}, primary=True)
            return b"1" if found else b"0"

        owns = await self._cache.cached_bytes(
            cache_key("cad-blocks-private", user_id), load, generation=CAD_BLOCKS, ttl_s=LIST_TTL_S
        )
        return owns == b"1"

    async def list(
        self, user_id: str | None, wanted: BlockFilter | None = None, *, primary: bool = False
    ) -> list[CadBlockRead]:
        """The blocks `user_id` may see (the public ones and its own), or the public ones alone
        (None), filtered as `wanted` says."""
        wanted = (wanted or BlockFilter()).normalized()
        query = select(*_COLUMNS).where(_visible(user_id))
        filters = []
        for category, sub in resolve_category(wanted.category, wanted.subcategory):
            conditions = []
            if category:
                conditions.append(CadBlock.category == category)
            if sub:
                conditions.append(CadBlock.subcategory == sub)
            if conditions:
                filters.append(and_(*conditions))
        if filters:
            query = query.where(or_(*filters))
        search = wanted.search
        if search is not None and search.isprintable() is False:
            search = "".join(ch if ch.isprintable() else " " for ch in search)
        wanted_terms = search_terms(clean_query(search)) if search and search.strip() else None
        # Served by ix_cad_blocks_category_subcategory (category, subcategory, name).
        query = query.order_by(CadBlock.category, CadBlock.subcategory, CadBlock.name)
        async with self._db.read(user_id=user_id, primary=primary) as session:
            if wanted_terms is not None:
                # The search engine's match (words, prefixes, swapped letters, near misses).
                terms = await in_search_form(session, wanted_terms)
                match = terms.matches("app.cad_blocks.search", "app.cad_blocks.search_name")
                query = query.where(text(match).bindparams(**terms.params()))
            rows = (await session.execute(query)).all()
        return [_read(row) for row in rows]

    async def _visible_keys(self, user_id: str, slug: str) -> tuple[str | None, str | None, str]:
        async with self._db.read(user_id=user_id) as session:
            row = (
                await session.execute(
                    select(CadBlock.dxf_key, CadBlock.thumbnail_key, CadBlock.slug).where(
                        and_(CadBlock.slug == slug, _visible(user_id))
                    )
                )
            ).first()
        if row is None:
            raise NotFound("block not found")
        return row.dxf_key, row.thumbnail_key, row.slug

    async def dxf(self, user_id: str, slug: str) -> bytes:
        key, _, _ = await self._visible_keys(user_id, slug)
        if key is None:
            raise NotFound("this block has no DXF")
        return await require_store(self._store).get_bytes(key)

    async def thumbnail(self, user_id: str, slug: str) -> bytes:
        _, key, _ = await self._visible_keys(user_id, slug)
        if key is None:
            raise NotFound("this block has no thumbnail")
        return await require_store(self._store).get_bytes(key)

    async def public_thumbnail(self, slug: str) -> bytes | None:
        """A public block's thumbnail, for anyone (an `<img>` sends no bearer token); None
        when the block is not public (or missing), so the caller asks for a session."""
        async with self._db.read() as session:
            key = await session.scalar(
                select(CadBlock.thumbnail_key).where(
                    CadBlock.slug == slug, CadBlock.is_public.is_(True)
                )
            )
        if key is None:
            return None
        return await require_store(self._store).get_bytes(key)

    async def seed(self, specs: Sequence[BlockSpec] | None = None) -> int:
        """Store every starter block's DXF and thumbnail, then upsert the rows (idempotent:
        running it again refreshes the same keys and rows)."""
        store = require_store(self._store)
        specs = list(specs if specs is not None else library())
        for spec in specs:
            await store.put_bytes(dxf_key(spec.slug), block_dxf(spec), content_type=DXF_TYPE)
            await store.put_bytes(
                thumbnail_key(spec.slug), block_svg(spec).encode(), content_type=SVG_TYPE
            )
        rows = [
            {
                "slug": spec.slug,
                "name": spec.name,
                "category": spec.category,
                "subcategory": spec.subcategory,
                "description": spec.description or None,
                "tags": list(spec.tags),
                "dxf_key": dxf_key(spec.slug),
                "thumbnail_key": thumbnail_key(spec.slug),
                "width_m": spec.width_m,
                "depth_m": spec.depth_m,
                "height_m": spec.height_m,
                "is_public": True,
            }
            for spec in specs
        ]
        async with self._db.unit_of_work() as uow:
            await self.upsert_rows(uow.session, rows)
            uow.after_commit(partial(self._cache.bump, CAD_BLOCKS))
            await uow.commit()
        return len(rows)

    @staticmethod
    async def upsert_rows(session: Any, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        statement = insert(CadBlock).values(rows)
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[CadBlock.slug],
                set_={name: excluded[name] for name in rows[0] if name != "slug"}
                | {"updated_at": func.now()},
            )
        )

    async def upload(self, user_id: str, data: CadBlockUpload, dxf: bytes) -> CadBlockRead:
        """An admin's block: the DXF as uploaded (its only block definition, or its model
        space), measured for width and depth in metres, with a generated thumbnail."""
        store = require_store(self._store)
        drawing = load_drawing(dxf)
        scale, _ = unit_scale(drawing, None)
        blocks = [b for b in drawing.blocks if not b.name.startswith("*") and len(b) > 0]
        entities: Any = blocks[0] if len(blocks) == 1 else drawing.modelspace()
        box = ezdxf.bbox.extents(entities)
        if not box.has_data:
            raise Unprocessable(
                "the DXF has no geometry to make a block of", code="dxf_no_geometry"
            )
        svg = render_entities_svg(entities, title=data.name)
        slug = slugify(data.name)
        # Read-then-write: the primary, so that a block another admin has just created is seen
        # (a lagging replica would let the upload store its objects and then hit the unique slug).
        async with self._db.read(primary=True) as session:
            taken = await session.scalar(select(CadBlock.id).where(CadBlock.slug == slug))
        if taken is not None:
            raise Conflict(f"a block named {slug!r} exists", code="block_exists")
        # Keys unique to this upload: a concurrent upload of the same name that loses the race
        # below must not delete the winner's objects.
        version = new_id()
        keys = (dxf_key(slug, version), thumbnail_key(slug, version))
        await store.put_bytes(keys[0], dxf, content_type=DXF_TYPE)
        await store.put_bytes(keys[1], svg.encode(), content_type=SVG_TYPE)
        try:
            async with self._db.unit_of_work() as uow:
                block = CadBlock(
                    slug=slug,
                    name=data.name,
                    category=data.category,
                    subcategory=data.subcategory,
                    description=data.description,
                    tags=[t.strip().lower()[:64] for t in data.tags if t.strip()],
                    dxf_key=keys[0],
                    thumbnail_key=keys[1],
                    width_m=round(box.size.x * scale, 6),
                    depth_m=round(box.size.y * scale, 6),
                    height_m=data.height_m,
                    is_public=data.is_public,
                    created_by_user_id=user_id,
                )
                uow.session.add(block)
                await uow.flush()
                row = (
                    await uow.session.execute(select(*_COLUMNS).where(CadBlock.id == block.id))
                ).one()
                uow.after_commit(partial(self._cache.bump, CAD_BLOCKS))
                await uow.commit()
        except BaseException:
            # The row did not land: the objects must not stay behind.
            for key in keys:
                await store.delete(key)
            raise
        return _read(row)
