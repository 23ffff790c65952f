"""Search over the caller's projects and files and the block library.

Matching and scoring are the search engine's (search/engine.py, shared with the block library's
`?search=`): words, stems and prefixes on the weighted tsvector columns, swapped letters, and
trigram near misses, all accent-insensitive. Text matches come first (name weight A >
description B > category C), swapped letters next, near misses after both.

Every query is scoped in SQL: projects and files by owner, blocks by public or own."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import text

from spacekontext.db.engine import Database
from spacekontext.errors import Invalid
from spacekontext.search.engine import TSQUERY, SearchTerms, in_search_form, search_terms
from spacekontext.search.schemas import SearchHit, SearchResults, SearchType

MAX_QUERY_CHARS = 200
MAX_LIMIT = 50
ALL_TYPES: tuple[SearchType, ...] = ("projects", "files", "blocks")
# ts_headline marks the matches with characters that cannot come from a tsquery; the text is
# HTML-escaped afterwards and the markers become <mark> tags.
_START, _STOP = "\u2e22", "\u2e23"
_HEADLINE = f"StartSel={_START}, StopSel={_STOP}, MaxWords=24, MinWords=8, MaxFragments=2"
_TITLE = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _fill(sql: str, terms: SearchTerms, alias: str, name: str) -> str:
    """The engine's match and score over the row alias. They take the query's forms as
    expressions of the bound parameters (folded into constants at planning, so the GIN indexes
    serve them); the headlines read the query from the `q` row."""
    return sql.format(
        TSQUERY=TSQUERY,
        score=terms.score(f"{alias}.search", f"{alias}.{name}"),
        match=terms.matches(f"{alias}.search", f"{alias}.{name}"),
    )


_PROJECTS = """
WITH q AS (
    SELECT {TSQUERY} AS tsq
), mine AS MATERIALIZED (
    -- The caller's projects first (B-tree on user_id): a common word matches a few percent of
    -- a million rows through the GIN index, the caller owns a few hundred at most.
    SELECT id, name, description, updated_at, search, search_name
    FROM app.projects WHERE user_id = :user_id
), hits AS (
    SELECT p.id, p.name, p.description, p.updated_at,
           {score} AS score
    FROM mine p, q
    WHERE {match}
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
    SELECT {TSQUERY} AS tsq
), mine AS MATERIALIZED (
    SELECT id, original_name, project_id, category, updated_at, search, search_name
    FROM app.files WHERE user_id = :user_id AND status = 'ready'
), hits AS (
    SELECT f.id, f.original_name, f.project_id, f.category, f.updated_at,
           {score} AS score
    FROM mine f, q
    WHERE {match}
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
    SELECT {TSQUERY} AS tsq
), hits AS (
    SELECT b.id, b.slug, b.name, b.category, b.subcategory, b.tags, b.updated_at,
           {score} AS score
    FROM app.cad_blocks b, q
    WHERE (b.is_public OR b.created_by_user_id = :user_id)
      AND {match}
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

# (hit type, SQL, row alias, name column)
_SQL: dict[SearchType, tuple[str, str, str, str]] = {
    "projects": ("project", _PROJECTS, "p", "search_name"),
    "files": ("file", _FILES, "f", "search_name"),
    "blocks": ("block", _BLOCKS, "b", "search_name"),
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
            "user_id": user_id,
            "limit": limit,
            "title_opts": _TITLE,
            "headline_opts": _HEADLINE,
        }
        hits: list[SearchHit] = []
        async with self._db.read(user_id=user_id) as session:
            terms = await in_search_form(session, search_terms(query))
            params |= terms.params()
            for kind in types:
                hit_type, sql, alias, name = _SQL[kind]
                statement = text(_fill(sql, terms, alias, name))
                rows = (await session.execute(statement, params)).mappings().all()
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
