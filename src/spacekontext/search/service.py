"""Full-text search over the caller's projects and files and the block library.

Three ways to match, one ranking:
- `websearch_to_tsquery` on the stored, weighted tsvector columns: stems ("kitchens" finds
  "kitchen"), quotes, `or`, `-word`, exactly as people type into search boxes; it never raises
  on odd syntax;
- the same words as prefixes (`kitch:*`), for search-as-you-type;
- trigram word similarity on the name (`<%`, the GIN trigram index) for near misses ("kitchn").
A row that matches as text scores 1 + ts_rank (normalized to 0..1, name weight A > description
B > category C), a near miss only its similarity x 0.1: text matches always come first, name
matches above description matches, near misses after both.

Every query is scoped in SQL: projects and files by owner, blocks by public or own."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import text

from spacekontext.db.engine import Database
from spacekontext.errors import Invalid
from spacekontext.search.schemas import SearchHit, SearchResults, SearchType

MAX_QUERY_CHARS = 200
MAX_PREFIX_WORDS = 8
MAX_LIMIT = 50
ALL_TYPES: tuple[SearchType, ...] = ("projects", "files", "blocks")
# ts_headline marks the matches with characters that cannot come from a tsquery; the text is
# HTML-escaped afterwards and the markers become <mark> tags.
_START, _STOP = "\u2e22", "\u2e23"
_HEADLINE = f"StartSel={_START}, StopSel={_STOP}, MaxWords=24, MinWords=8, MaxFragments=2"
_TITLE = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"
_WORDS = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_PROJECTS = """
WITH q AS (
    SELECT websearch_to_tsquery('english', :q) || to_tsquery('english', :prefix) AS tsq
), mine AS MATERIALIZED (
    -- The caller's projects first (B-tree on user_id): a common word matches a few percent of
    -- a million rows through the GIN index, the caller owns a few hundred at most.
    SELECT id, name, description, updated_at, search FROM app.projects WHERE user_id = :user_id
), hits AS (
    SELECT p.id, p.name, p.description, p.updated_at,
           CASE WHEN p.search @@ q.tsq THEN 1 + ts_rank(p.search, q.tsq, 32) ELSE 0 END
             + 0.1 * word_similarity(:q, p.name) AS score
    FROM mine p, q
    WHERE p.search @@ q.tsq OR :q <% p.name
    ORDER BY score DESC, p.id
    LIMIT :limit
)
SELECT h.id, h.name, h.updated_at, h.score,
       ts_headline('english', h.name, q.tsq, :title_opts) AS title,
       CASE WHEN h.description IS NULL THEN NULL
            ELSE ts_headline('english', h.description, q.tsq, :headline_opts) END AS snippet
FROM hits h, q
ORDER BY h.score DESC, h.id
"""

_FILES = """
WITH q AS (
    SELECT websearch_to_tsquery('english', :q) || to_tsquery('english', :prefix) AS tsq
), mine AS MATERIALIZED (
    SELECT id, original_name, project_id, category, updated_at, search
    FROM app.files WHERE user_id = :user_id AND status = 'ready'
), hits AS (
    SELECT f.id, f.original_name, f.project_id, f.category, f.updated_at,
           CASE WHEN f.search @@ q.tsq THEN 1 + ts_rank(f.search, q.tsq, 32) ELSE 0 END
             + 0.1 * word_similarity(:q, f.original_name) AS score
    FROM mine f, q
    WHERE f.search @@ q.tsq OR :q <% f.original_name
    ORDER BY score DESC, f.id
    LIMIT :limit
)
SELECT h.id, h.original_name AS name, h.project_id, h.category, h.updated_at, h.score,
       ts_headline('english', regexp_replace(h.original_name, '[^[:alnum:]]+', ' ', 'g'),
                   q.tsq, :title_opts) AS title,
       NULL AS snippet
FROM hits h, q
ORDER BY h.score DESC, h.id
"""

_BLOCKS = """
WITH q AS (
    SELECT websearch_to_tsquery('english', :q) || to_tsquery('english', :prefix) AS tsq
), hits AS (
    SELECT b.id, b.slug, b.name, b.category, b.subcategory, b.tags, b.updated_at,
           CASE WHEN b.search @@ q.tsq THEN 1 + ts_rank(b.search, q.tsq, 32) ELSE 0 END
             + 0.1 * word_similarity(:q, b.name) AS score
    FROM app.cad_blocks b, q
    WHERE (b.is_public OR b.created_by_user_id = :user_id)
      AND (b.search @@ q.tsq OR :q <% b.name)
    ORDER BY score DESC, b.id
    LIMIT :limit
)
SELECT h.id, h.slug, h.name, h.category, h.subcategory, h.updated_at, h.score,
       ts_headline('english', h.name, q.tsq, :title_opts) AS title,
       ts_headline('english', concat_ws(' ', h.category, h.subcategory,
                                         app.immutable_text_array(h.tags)),
                   q.tsq, :headline_opts) AS snippet
FROM hits h, q
ORDER BY h.score DESC, h.id
"""

_SQL: dict[SearchType, tuple[str, str]] = {
    "projects": ("project", _PROJECTS),
    "files": ("file", _FILES),
    "blocks": ("block", _BLOCKS),
}


def clean_query(raw: str) -> str:
    """Control characters (NUL cannot even be sent to PostgreSQL) become spaces; whitespace
    runs collapse. Over MAX_QUERY_CHARS is refused rather than silently cut: a search box
    never sends that much, and a cut query would answer a different question."""
    query = " ".join(_CONTROL.sub(" ", raw).split())
    if not query:
        raise Invalid("the search query is empty", code="invalid_query")
    if len(query) > MAX_QUERY_CHARS:
        raise Invalid(
            f"the search query is longer than {MAX_QUERY_CHARS} characters",
            code="query_too_long",
            details={"maxChars": MAX_QUERY_CHARS},
        )
    return query


def prefix_query(query: str) -> str:
    """`to_tsquery` text matching every word as a prefix. Only letters and digits survive, so
    no tsquery operator can be smuggled in."""
    words = _WORDS.findall(query.lower())[:MAX_PREFIX_WORDS]
    return " & ".join(f"{word[:64]}:*" for word in words)


def parse_types(raw: str | None) -> list[SearchType]:
    if raw is None or not raw.strip():
        return list(ALL_TYPES)
    chosen: list[SearchType] = []
    for part in raw.split(","):
        name = part.strip().lower()
        if not name:
            continue
        match = next((t for t in ALL_TYPES if t == name), None)
        if match is None:
            raise Invalid(
                f"unknown search type {name[:40]!r}",
                code="invalid_types",
                details={"allowed": list(ALL_TYPES)},
            )
        if match not in chosen:
            chosen.append(match)
    return chosen or list(ALL_TYPES)


def _marked(value: str | None) -> str | None:
    if value is None:
        return None
    return html.escape(value).replace(_START, "<mark>").replace(_STOP, "</mark>")


class SearchService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, user_id: str, raw_query: str, *, types: list[SearchType], limit: int
    ) -> SearchResults:
        if not 1 <= limit <= MAX_LIMIT:
            raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
        query = clean_query(raw_query)
        params: dict[str, Any] = {
            "q": query,
            "prefix": prefix_query(query),
            "user_id": user_id,
            "limit": limit,
            "title_opts": _TITLE,
            "headline_opts": _HEADLINE,
        }
        hits: list[SearchHit] = []
        async with self._db.read(user_id=user_id) as session:
            for kind in types:
                hit_type, sql = _SQL[kind]
                rows = (await session.execute(text(sql), params)).mappings().all()
                for row in rows:
                    data = dict(row)
                    hits.append(
                        SearchHit(
                            type=hit_type,
                            id=data["id"],
                            name=data["name"],
                            title=_marked(data["title"]) or html.escape(data["name"]),
                            snippet=_marked(data.get("snippet")),
                            score=round(float(data["score"]), 6),
                            project_id=data.get("project_id"),
                            category=data.get("category"),
                            subcategory=data.get("subcategory"),
                            slug=data.get("slug"),
                            updated_at=data.get("updated_at"),
                        )
                    )
        hits.sort(key=lambda hit: (-hit.score, hit.type, hit.id))
        return SearchResults(query=query, types=types, results=hits[:limit])
