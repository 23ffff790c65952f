"""A small labelled query set for tuning and checking the search engine: what people type
into a search box (typos, missing accents, half words) and the names they want back.

The corpus is the starter block library plus a few accented and place names. A name counts
as relevant when a person typing the query would want it, whether or not any algorithm finds
it (Armchair for "chiar" is relevant, and missed)."""

from __future__ import annotations

from spacekontext.cadblocks.library import library

EXTRA_NAMES = (
    "Zürich Office",
    "Café Zürich",
    "Genève Bureau",
    "São Paulo Loft",
    "Düsseldorf Atelier",
    "Crèche Les Pins",
    "Library extension",
    "Public library",
    "Chair factory conversion",
)


def corpus() -> list[str]:
    return [spec.name for spec in library()] + list(EXTRA_NAMES)


def _named(*fragments: str) -> frozenset[str]:
    """Every corpus name containing one of the fragments (case-insensitive)."""
    return frozenset(name for name in corpus() if any(f.lower() in name.lower() for f in fragments))


ZURICH = frozenset({"Zürich Office", "Café Zürich"})
DOORS = frozenset(n for n in _named("door") if "door" in n.lower())

# query -> the names that are relevant to it
LABELLED: dict[str, frozenset[str]] = {
    # typos the issue names
    "frige": _named("fridge", "refrigerator"),
    "zurch": ZURICH,
    "sfoa": _named("sofa"),
    "libary": _named("library"),
    "chiar": _named("chair"),
    # accents, both ways
    "Zurich": ZURICH,
    "zürich": ZURICH,
    "ZÜRICH": ZURICH,
    "geneve": frozenset({"Genève Bureau"}),
    "Genève": frozenset({"Genève Bureau"}),
    "sao paulo": frozenset({"São Paulo Loft"}),
    "dusseldorf": frozenset({"Düsseldorf Atelier"}),
    "creche": frozenset({"Crèche Les Pins"}),
    "cafe": frozenset({"Café Zürich"}),
    # more typos
    "kitchn": _named("kitchen"),
    "refridgerator": _named("refrigerator"),
    "dishwaser": _named("dishwasher"),
    "wardobe": _named("wardrobe"),
    "bathub": _named("bathtub"),
    "showr": _named("shower"),
    "toilett": _named("toilet"),
    "micowave": _named("microwave"),
    "bokshelf": _named("bookshelf"),
    "nighstand": _named("nightstand"),
    "stiar": _named("stair"),
    "widnow": _named("window"),
    "armchar": _named("armchair"),
    "spirl stair": _named("spiral stair"),
    "sliding dor": _named("sliding door"),
    "dor": DOORS,
    "cooktp": _named("cooktop"),
    # prefixes while typing
    "kitc": _named("kitchen"),
    "bathr": frozenset(),  # no bathroom in the library; "bathtub" is not what is meant
    "wash": _named("wash"),
    "casem": _named("casement"),
    # exact words
    "bed": _named(" bed"),
    "sofa": _named("sofa"),
    "urinal": _named("urinal"),
    # nothing to find
    "xylophone": frozenset(),
    "garage": frozenset(),
    "matress": frozenset(),
}

THRESHOLD_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(11))  # 0.30 .. 0.80


def scores(found: dict[str, set[str]]) -> tuple[float, float, float]:
    """Micro-averaged (precision, recall, F1) of the found names against LABELLED."""
    tp = fp = fn = 0
    for query, relevant in LABELLED.items():
        got = found.get(query, set())
        tp += len(got & relevant)
        fp += len(got - relevant)
        fn += len(relevant - got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
