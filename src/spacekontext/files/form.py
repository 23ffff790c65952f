"""Streaming parse of the upload form (multipart/form-data: file, projectId, category).

`await request.form()` would spool every file part to a temporary file before the route sees a
byte, then the route would read it back: double I/O, and the size limit applied only after the
whole body had arrived. Here python-multipart's push parser is fed the request body chunk by
chunk and the file's bytes flow on to the object store as they arrive.

The key of an object depends on the form fields (project, category). When the client sends them
before the file, the file streams straight through. When it sends the file first (browsers keep
the order in which FormData was filled), its bytes are spooled to a temporary file on disk - never
held in memory beyond 1 MB - until the fields have been read, then streamed to the store.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO, Any

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header

from spacekontext.errors import Invalid, TooLarge

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16
_SPOOL_MEMORY_BYTES = 1024 * 1024
_READ_BLOCK = 1024 * 1024

# Parser events: ("part", name, filename, content_type) | ("data", bytes) | ("end",) | ("done",)
Event = tuple[Any, ...]


@dataclass
class UploadForm:
    fields: dict[str, str]
    filename: str
    content_type: str
    chunks: AsyncIterator[bytes]


def boundary_of(content_type: str) -> bytes:
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise Invalid(
            "the upload must be multipart/form-data with a boundary", code="invalid_multipart"
        )
    return boundary


class _Collector:
    """Turns python-multipart's callbacks into a list of events per chunk written."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda d, s, e: self.events.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self.events.append(("end",)),
            "on_end": lambda: self.events.append(("done",)),
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        filename = options.get(b"filename")
        self.events.append(
            (
                "part",
                name.decode("utf-8", "replace") if name is not None else None,
                filename.decode("utf-8", "replace") if filename is not None else None,
                self._headers.get(b"content-type", b"application/octet-stream").decode("latin-1"),
            )
        )


async def _events(body: AsyncIterator[bytes], boundary: bytes) -> AsyncIterator[Event]:
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    async for chunk in body:
        try:
            parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own errors on malformed input
            raise Invalid("malformed multipart body", code="invalid_multipart") from exc
        events, collector.events = collector.events, []
        for event in events:
            yield event
            if event[0] == "done":
                return
    raise Invalid("the multipart body ended early", code="upload_incomplete")


async def _read_field(events: AsyncIterator[Event], name: str) -> str:
    value = bytearray()
    async for event in events:
        if event[0] == "end":
            try:
                text = value.decode("utf-8").strip()
            except UnicodeDecodeError as exc:
                raise Invalid(f"field {name!r} is not UTF-8", code="invalid_field") from exc
            if "\x00" in text:
                # PostgreSQL's text cannot hold it.
                raise Invalid(f"field {name!r} contains a NUL character", code="invalid_field")
            return text
        if event[0] == "data":
            value += event[1]
            if len(value) > MAX_FIELD_BYTES:
                raise Invalid(f"field {name!r} is too long", code="invalid_field")
    raise Invalid("the multipart body ended early", code="upload_incomplete")


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the upload exceeds {limit} bytes",
        code="upload_too_large",
        details={"limitBytes": limit},
    )


async def _read_fields_to_end(events: AsyncIterator[Event], fields: dict[str, str]) -> None:
    async for event in events:
        if event[0] == "done":
            return
        if event[0] == "part":
            _, name, filename, _ = event
            if filename is not None or name is None:
                raise Invalid("only one file per upload", code="invalid_multipart")
            if len(fields) >= MAX_FIELDS:
                raise Invalid("too many form fields", code="invalid_multipart")
            fields.setdefault(name, await _read_field(events, name))


@asynccontextmanager
async def open_upload_form(
    body: AsyncIterator[bytes],
    content_type: str,
    *,
    required: tuple[str, ...],
    max_file_bytes: int,
    check_filename: Callable[[str], object],
) -> AsyncIterator[UploadForm]:
    """Parse up to the file part and yield the form; its `chunks` stream the file's bytes and
    finish only once the whole body has been read and found well-formed. `check_filename` runs
    as soon as the file part's headers arrive, so a refused name costs no upload."""
    events = _events(body, boundary_of(content_type))
    fields: dict[str, str] = {}
    file_part: tuple[str, str] | None = None
    async for event in events:
        if event[0] == "done":
            break
        if event[0] != "part":
            continue
        _, name, filename, part_type = event
        if name is None:
            raise Invalid("a form part has no name", code="invalid_multipart")
        if filename is None:
            if len(fields) >= MAX_FIELDS:
                raise Invalid("too many form fields", code="invalid_multipart")
            fields.setdefault(name, await _read_field(events, name))
            continue
        if name != FILE_FIELD:
            raise Invalid(
                f"the file must be sent as the {FILE_FIELD!r} field", code="invalid_multipart"
            )
        check_filename(filename)
        file_part = (filename, part_type)
        break
    if file_part is None:
        raise Invalid(f"the {FILE_FIELD!r} field is missing", code="missing_file")

    async def file_data() -> AsyncIterator[bytes]:
        size = 0
        async for event in events:
            if event[0] == "end":
                return
            if event[0] == "data":
                size += len(event[1])
                if size > max_file_bytes:
                    raise _too_large(max_file_bytes)
                yield event[1]
        raise Invalid("the multipart body ended early", code="upload_incomplete")

    def missing() -> list[str]:
        return [name for name in required if not fields.get(name)]

    if not missing():

        async def streamed() -> AsyncIterator[bytes]:
            async for chunk in file_data():
                yield chunk
            await _read_fields_to_end(events, fields)

        yield UploadForm(fields, file_part[0], file_part[1], streamed())
        return

    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY_BYTES)  # noqa: SIM115
    try:
        async for chunk in file_data():
            await anyio.to_thread.run_sync(spool.write, chunk)
        await _read_fields_to_end(events, fields)
        if absent := missing():
            raise Invalid(
                f"missing form field(s): {', '.join(absent)}",
                code="missing_field",
                details={"fields": absent},
            )
        await anyio.to_thread.run_sync(spool.seek, 0)

        async def replayed() -> AsyncIterator[bytes]:
            while block := await anyio.to_thread.run_sync(spool.read, _READ_BLOCK):
                yield block

        yield UploadForm(fields, file_part[0], file_part[1], replayed())
    finally:
        await anyio.to_thread.run_sync(spool.close)
