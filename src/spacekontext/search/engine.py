"""How a search box's words match a row: one engine for `GET /api/search` and the block
library's `?search=` (docs/search.md has the reasoning and the tuning figures).

A row matches when
1. the whole query matches as text: `websearch_to_tsquery` (stems, quotes, `or`, `-word`) or
   every word as a prefix (`kitc` finds "kitchen" while typing), on the stored weighted
   tsvector; it scores 1 + ts_rank; or when
2. every word is found, forgiving typos: as text, itself or with two neighbouring letters
   swapped ("sfoa" finds "sofa", "chiar" "chair"; trigrams cannot see these: a swap in a short
   word breaks most of its trigrams, word similarity sfoa/sofa = 0.2), or as a near miss of the
   name: pg_trgm word similarity at least `TRIGRAM_THRESHOLD` (GIN trigram index; "frige"
   finds "fridge", "zurch" "Zürich"). All words found as text (with swaps) score 0.5, else 0.
Every arm compares unaccented, lower-cased text on both sides, so "Zurich" finds "Zürich" and
the other way round: the stored columns (`search`, `search_name`) are built with
`app.search_text` (migrations 0006, 0007), and the query's words go through the same function
first (`in_search_form`, one round trip). Near-miss similarity adds
0.1 x similarity to every score, which orders rows within an arm.

The threshold is tuned on the labelled queries of tests/search/labelled.py: the value with the
best F1 over the grid 0.30-0.80. The index answers `<%`, whose cut-off is the setting
`pg_trgm.word_similarity_threshold`; reads run in autocommit, where SET LOCAL would not outlive
its statement, so migration 0006 sets it for the database to the grid's floor (0.3, a wide net
for the index) and the query keeps the rows at or above the tuned value
(`word_similarity >= :threshold`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# Tuned: tests/search/test_tuning.py (F1 on tests/search/labelled.py), docs/search.md.
TRIGRAM_THRESHOLD = 0.45
TRANSPOSED_MIN_LETTERS = 4
MAX_WORDS = 8
MAX_WORD_CHARS = 64
_WORDS = re.compile(r"[^\W_]+")
_WORD_CATEGORIES = frozenset({"Ll", "Lu", "Lt", "Lo", "Nd"})

# The whole query, as SQL over the bound parameters of `SearchTerms.params()`.
# Each tsquery is built in a scalar subquery: an InitPlan, built once per query. A prepared
# statement's generic plan does not fold functions of its parameters, and a filter on a small
# table's sequential scan would otherwise parse the query again for every row.
TSQUERY = "(SELECT websearch_to_tsquery('english', :q) || to_tsquery('english', :prefix))"


def transpositions(word: str) -> list[str]:
    """The word with each pair of neighbouring letters swapped (distinct, not the word)."""
    seen: list[str] = []
    for i in range(len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word and swapped not in seen:
            seen.append(swapped)
    return seen


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """A cleaned query and its forms. Only letters and digits reach the tsquery texts, so no
    tsquery operator can be smuggled in."""

    text: str
    prefix: str  # to_tsquery text: every word as a prefix
    words: tuple[str, ...]
    # Per word, to_tsquery text: the word or one of its swaps, as a prefix.
    forms: tuple[str, ...]

    def params(self, threshold: float = TRIGRAM_THRESHOLD) -> dict[str, Any]:
        values: dict[str, Any] = {"q": self.text, "prefix": self.prefix}
        if self.words:
            values["threshold"] = threshold
        for i, (word, forms) in enumerate(zip(self.words, self.forms, strict=True)):
            values[f"w{i}"] = word
            values[f"t{i}"] = forms
        return values

    def _tolerant(self, search: str, name: str) -> str:
        # Every word must be found, in the text (swaps allowed) or as a near miss of the name.
        per_word = [
            f"({search} @@ (SELECT to_tsquery('english', :t{i})) "
            f"OR (:w{i} <% {name} AND word_similarity(:w{i}, {name}) >= :threshold))"
            for i in range(len(self.words))
        ]
        return " AND ".join(per_word)

    def matches(self, search: str, name: str) -> str:
        """SQL: does the row match? `search` is its tsvector column, `name` its unaccented,
        lower-cased name column (`search_name`, trigram-indexed)."""
        if not self.words:
            return f"({search} @@ {TSQUERY})"
        return f"({search} @@ {TSQUERY} OR ({self._tolerant(search, name)}))"

    def score(self, search: str, name: str) -> str:
        """SQL: the row's score (see the module's docstring)."""
        swapped = " AND ".join(
            f"{search} @@ (SELECT to_tsquery('english', :t{i}))" for i in range(len(self.words))
        )
        return (
            f"CASE WHEN {search} @@ {TSQUERY} THEN 1 + ts_rank({search}, {TSQUERY}, 32) "
            + (f"WHEN {swapped} THEN 0.5 " if swapped else "")
            + "ELSE 0 END "
            f"+ 0.1 * word_similarity(:q, {name})"
        )


def search_terms(query: str) -> SearchTerms:
    """The forms of a cleaned query (see `SearchTerms`)."""
    # A word character that unaccent expands into punctuation ("½" → " 1/2", U+02BC → an apostrophe)
    # would reach to_tsquery as a syntax error: NFKC splits compatibility characters into
    # plain ones, and only letters and decimal digits make words.
    normal = "".join(
        ch if unicodedata.category(ch) in _WORD_CATEGORIES else " "
        for ch in unicodedata.normalize("NFKC", query.lower())
    )
    words = tuple(w[:MAX_WORD_CHARS] for w in _WORDS.findall(normal)[:MAX_WORDS])
    forms = []
    for word in words:
        variants = [word]
        if len(word) >= TRANSPOSED_MIN_LETTERS and word.isalpha():
            variants += transpositions(word)
        forms.append(" | ".join(f"{variant}:*" for variant in variants))
    return SearchTerms(query, " & ".join(f"{word}:*" for word in words), words, tuple(forms))


_UNACCENT = sql_text(
    "SELECT app.search_text(t) FROM unnest(CAST(:texts AS text[])) WITH ORDINALITY AS u(t, n) "
    "ORDER BY n"
)


async def in_search_form(
    executor: AsyncSession | AsyncConnection, terms: SearchTerms
) -> SearchTerms:
    """The terms unaccented and lower-cased by the database's own `app.search_text`, the
    function the search columns are built with, in one round trip. The queries then compare
    plain parameters with stored columns: no function call per row, and a plan that does not
    depend on folding function calls of parameters (prepared statements get generic plans)."""
    texts = [terms.text, terms.prefix, *terms.words, *terms.forms]
    if all(value.isascii() for value in texts):
        # unaccent's rules map only non-ASCII characters: ASCII needs lower-casing alone,
        # and the round trip is saved for most queries.
        done = [value.lower() for value in texts]
    else:
        result = await executor.execute(_UNACCENT, {"texts": texts})
        done = [str(value) for value in result.scalars().all()]
    count = len(terms.words)
    return SearchTerms(
        text=done[0],
        prefix=done[1],
        words=tuple(done[2 : 2 + count]),
        forms=tuple(done[2 + count :]),
    )
