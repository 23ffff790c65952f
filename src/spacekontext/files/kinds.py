"""The kinds of file the platform accepts, recognised twice: by the name's extension and by
the first bytes of the content. A renamed executable or an HTML page called `plan.pdf` is
refused (415) however it is labelled; the MIME type stored and served is the kind's own, never
the client's claim."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from spacekontext.errors import Invalid, UnsupportedMedia
from spacekontext.storage.keys import extension_of

SNIFF_BYTES = 8192


def _text(head: bytes) -> str | None:
    """The head decoded as text, or None if it looks binary."""
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return None if controls > len(text) // 100 else text


_DXF = re.compile(r"\s*(?:999\s*\r?\n[^\n]*\n\s*)*0\s*\r?\n\s*SECTION\b")
_SVG = re.compile(r"<svg[\s>/]", re.IGNORECASE)
_OBJ_KEYWORDS = frozenset(
    [
        "v",
        "vt",
        "vn",
        "vp",
        "f",
        "l",
        "p",
        "o",
        "g",
        "s",
        "mtllib",
        "usemtl",
        "cstype",
        "deg",
        "curv",
        "curv2",
        "surf",
    ]
)
_MTL_KEYWORDS = frozenset(
    ["newmtl", "ka", "kd", "ks", "ke", "ns", "ni", "d", "tr", "illum", "map_kd", "map_ka", "map_ks"]
)


def _first_keyword(text: str) -> str | None:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.split()[0].lower()
    return None


def _dxf(head: bytes) -> bool:
    if head.startswith(b"AutoCAD Binary DXF\r\n\x1a\x00"):
        return True
    text = _text(head)
    return text is not None and _DXF.match(text) is not None


def _svg(head: bytes) -> bool:
    text = _text(head)
    return text is not None and text.lstrip().startswith("<") and _SVG.search(text) is not None


def _gltf(head: bytes) -> bool:
    text = _text(head)
    return text is not None and text.lstrip().startswith("{")


def _obj(head: bytes) -> bool:
    text = _text(head)
    return text is not None and _first_keyword(text) in _OBJ_KEYWORDS


def _mtl(head: bytes) -> bool:
    text = _text(head)
    return text is not None and _first_keyword(text) in _MTL_KEYWORDS


def _ifc(head: bytes) -> bool:
    text = _text(head)
    return text is not None and text.lstrip().startswith("ISO-10303-21;")


def _magic(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


@dataclass(frozen=True, slots=True)
class FileKind:
    name: str
    mime_type: str
    looks_right: Callable[[bytes], bool]


_KINDS = (
    FileKind("dxf", "image/vnd.dxf", _dxf),
    # AutoCAD DWG: "AC10" followed by the release digits (AC1015 = 2000 … AC1032 = 2018+).
    FileKind("dwg", "image/vnd.dwg", _magic(b"AC10", b"AC2")),
    FileKind("ifc", "application/x-step", _ifc),
    FileKind("pdf", "application/pdf", _magic(b"%PDF-")),
    FileKind("png", "image/png", _magic(b"\x89PNG\r\n\x1a\n")),
    FileKind("jpg", "image/jpeg", _magic(b"\xff\xd8\xff")),
    FileKind("webp", "image/webp", _webp),
    FileKind("svg", "image/svg+xml", _svg),
    FileKind("gltf", "model/gltf+json", _gltf),
    FileKind("glb", "model/gltf-binary", _magic(b"glTF")),
    FileKind("obj", "model/obj", _obj),
    FileKind("mtl", "model/mtl", _mtl),
    FileKind("zip", "application/zip", _magic(b"PK\x03\x04", b"PK\x05\x06")),
)
KINDS: dict[str, FileKind] = {kind.name: kind for kind in _KINDS}
EXTENSIONS: dict[str, FileKind] = {**KINDS, "jpeg": KINDS["jpg"]}


def kind_for_name(filename: str) -> FileKind:
    kind = EXTENSIONS.get(extension_of(filename))
    if kind is None:
        raise UnsupportedMedia(
            "this kind of file is not accepted",
            code="unsupported_file_type",
            details={"allowed": sorted(EXTENSIONS)},
        )
    return kind


def check_content(kind: FileKind, head: bytes) -> None:
    """Refuse content that is not what its extension says (415)."""
    if not head:
        raise Invalid("the file is empty", code="empty_file")
    if not kind.looks_right(head[:SNIFF_BYTES]):
        raise UnsupportedMedia(
            f"the content is not a valid {kind.name} file", code="content_mismatch"
        )
