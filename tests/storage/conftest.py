"""Fixtures for object storage: a real S3-compatible HTTP server (moto_server) on a free
loopback port, which tests may stop and restart to inject faults, and stores of both backends."""

from __future__ import annotations

import io
import secrets
import socket
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from spacekontext.app import create_app
from spacekontext.db.engine import Database
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.local import LocalObjectStore
from spacekontext.storage.s3 import S3ObjectStore
from spacekontext.storage.signing import UrlSigner
from tests.conftest import require

BASE_URL = "http://testserver"
PART_SIZE = 5 * 1024 * 1024
TEST_MAX_UPLOAD = 12 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """`moto_server` in a subprocess. `stop()` kills it (its in-memory buckets vanish with it);
    `start()` brings it back on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.executable = Path(sys.executable).with_name("moto_server")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.executable), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/moto-api/", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise RuntimeError("moto_server exited at start") from None
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    require(server.executable.exists(), "moto_server (pip install 'moto[server]')")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The server, restarted if an earlier test left it stopped."""
    if not moto_server.running:
        moto_server.start()
    return moto_server


def s3_store_for(server: MotoServer, bucket: str) -> S3ObjectStore:
    return S3ObjectStore(
        bucket=bucket,
        endpoint_url=server.url,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
        part_size=PART_SIZE,
    )


@pytest.fixture
async def s3_store(moto: MotoServer) -> AsyncIterator[S3ObjectStore]:
    store = s3_store_for(moto, f"test-{secrets.token_hex(6)}")
    await store.ensure_bucket()
    yield store
    await store.aclose()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(
        tmp_path / "objects", UrlSigner(secrets.token_bytes(32)), base_url=BASE_URL
    )


@pytest.fixture(params=["local", "s3"])
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def files_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"public_base_url": BASE_URL, "max_upload_bytes": TEST_MAX_UPLOAD}
    )


@pytest.fixture
async def store(
    store_backend: str, request: pytest.FixtureRequest, local_store: LocalObjectStore
) -> AsyncIterator[ObjectStore]:
    """The store of the current backend (the contract suite runs once per backend)."""
    if store_backend == "local":
        yield local_store
        return
    # One bucket for the session, emptied after each test: creating buckets in moto gets
    # slower as they pile up.
    server: MotoServer = request.getfixturevalue("moto")
    s3 = s3_store_for(server, "contract")
    await s3.ensure_bucket()
    yield s3
    if server.running:
        await s3.ensure_bucket()  # a test may have restarted the server (and lost the bucket)
        keys = [info.key async for info in s3.list("")]
        for key in keys:
            await s3.delete(key)
    await s3.aclose()


@pytest.fixture
async def app_services(
    files_settings: Settings, engine: AsyncEngine, connection: AsyncConnection, store: ObjectStore
) -> AsyncIterator[Services]:
    built = build_services(files_settings, Database(engine, bind=connection), store=store)
    yield built
    await built.verifier.aclose()


@pytest.fixture
async def api(files_settings: Settings, app_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An API client over the app wired to the store of the current backend."""
    app = create_app(files_settings, services=app_services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def fetch(api: httpx.AsyncClient) -> Callable[[str], object]:
    """GET a signed URL: through the app for the local backend, over HTTP for S3."""

    async def get(url: str) -> httpx.Response:
        if url.startswith(BASE_URL):
            return await api.get(url.removeprefix(BASE_URL))
        async with httpx.AsyncClient() as http:
            return await http.get(url)

    return get


# --- sample files of every accepted kind --------------------------------------------------


def _dxf() -> bytes:
    import ezdxf

    doc = ezdxf.new()
    doc.modelspace().add_lwpolyline([(0, 0), (10, 0), (10, 8), (0, 8)], close=True)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plan.txt", "hello")
    return buffer.getvalue()


def _glb() -> bytes:
    body = b'{"asset":{"version":"2.0"}}  '
    return (
        b"glTF"
        + struct.pack("<II", 2, 12 + 8 + len(body))
        + struct.pack("<I", len(body))
        + (b"JSON" + body)
    )


SAMPLES: dict[str, bytes] = {
    "dxf": _dxf(),
    "dwg": b"AC1032" + secrets.token_bytes(2000),
    "ifc": b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition'),'2;1');\nENDSEC;\n",
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    "png": b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(3000),
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + secrets.token_bytes(3000),
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + secrets.token_bytes(100),
    "svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>\n',
    "gltf": b'{\n  "asset": {"version": "2.0"},\n  "scenes": []\n}\n',
    "glb": _glb(),
    "obj": b"# a triangle\nmtllib wall.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
    "mtl": b"# materials\nnewmtl wall\nKd 0.8 0.8 0.8\n",
    "zip": _zip(),
}


def multipart(
    parts: list[tuple[str, str | None, bytes | AsyncIterator[bytes]]],
    *,
    boundary: str = "skboundary7MA4YWxkTrZu0gW",
) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    """A multipart/form-data body in the order given, streamed (values may be async iterators,
    so tests can act mid-upload)."""

    async def body() -> AsyncIterator[bytes]:
        for name, filename, value in parts:
            disposition = f'form-data; name="{name}"'
            if filename is not None:
                escaped = filename.replace("\\", "\\\\").replace('"', "%22")
                disposition += f'; filename="{escaped}"'
            head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            if filename is not None:
                head += "Content-Type: application/octet-stream\r\n"
            yield (head + "\r\n").encode("utf-8", "surrogateescape")
            if isinstance(value, bytes):
                yield value
            else:
                async for chunk in value:
                    yield chunk
            yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return {"content-type": f"multipart/form-data; boundary={boundary}"}, body()
