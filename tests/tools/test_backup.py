"""`spacekontext backup` and `spacekontext restore --verify` as an operator runs them: a seeded
system is backed up, restored into a fresh embedded PostgreSQL and a fresh object store, and the
restored API answers exactly as the original did. Then what the commands must refuse."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.embedded import attached
from spacekontext.db.engine import Database
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.services import build_services
from spacekontext.settings import Settings
from spacekontext.tools.backup.manifest import Manifest
from spacekontext.tools.backup.pgclient import NoMatchingClient, available_clients, client_for
from tests.conftest import require
from tests.storage.conftest import MotoServer, moto, moto_server  # noqa: F401

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent / "spacekontext"
BASE_URL = "http://testserver"
USERS = ("ann@example.com", "bob@example.com")


def floorplan_document(size: int) -> dict[str, object]:
    nodes = {
        f"n{i}": {"position": [i * 1.5, (i % 3) * 2.0], "connectedEdges": []} for i in range(4)
    }
    return {
        "nodes": nodes,
        "edges": {},
        "zones": [{"id": "z1", "points": [[0, 0], [4, 0], [4, 3], [0, 3]], "label": "Living"}],
        "furniture": [],
        "notes": secrets.token_hex(size),
    }


@dataclass
class System:
    """One deployment: its settings (database and store) and the commands' environment."""

    settings: Settings
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    async def arun(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.run, *args)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith(("S3_", "STORAGE_"))
    }
    return env | {"SPACEKONTEXT_HOME": str(home), "ENV": "test", "LOG_LEVEL": "warning"} | extra


def s3_env(server: MotoServer, bucket: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": server.url,
        "S3_BUCKET": bucket,
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_PART_SIZE_BYTES": str(5 * 1024 * 1024),
    }


async def make_bucket(server: MotoServer, bucket: str) -> None:
    from tests.storage.conftest import s3_store_for

    store = s3_store_for(server, bucket)
    await store.ensure_bucket()
    await store.aclose()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # An embedded server's Unix socket lives in its data dir: the path must stay short.
    path = Path(tempfile.mkdtemp(prefix="skbk-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.asynccontextmanager
async def api_of(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    db = Database.from_settings(settings)
    services = build_services(settings, db)
    app = create_app(settings, services=services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            yield http
    finally:
        await services.aclose()
        await db.dispose()


def system_settings(home: Path, database_url: str, **extra: object) -> Settings:
    return Settings(
        env="test",
        SPACEKONTEXT_HOME=home,
        database_url=database_url,
        public_base_url=BASE_URL,
        rate_limit_enabled=False,
        jobs_in_process=False,
        **extra,
    )


def bearer(home: Path) -> Callable[[str], dict[str, str]]:
    tokens = DevTokens.from_data_dir(home.resolve())
    return lambda email: {"Authorization": f"Bearer {tokens.mint(email)}"}


async def seed(api: httpx.AsyncClient, auth: Callable[[str], dict[str, str]]) -> None:
    for user_index, email in enumerate(USERS):
        for n in range(2):
            created = await api.post(
                "/api/projects",
                json={"name": f"Project {n} of {email}", "description": "a house", "settings": {}},
                headers=auth(email),
            )
            assert created.status_code == 201, created.text
            project_id = created.json()["project"]["id"]
            for level in range(2):
                plan = await api.post(
                    f"/api/projects/{project_id}/floorplans",
                    json={
                        "name": f"Level {level}",
                        "level": level,
                        "data": floorplan_document(500 * (level + 1)),
                    },
                    headers=auth(email),
                )
                assert plan.status_code == 201, plan.text
            content = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(4000 * (user_index + n + 1))
            uploaded = await api.post(
                "/api/files/upload",
                files={"file": (f"site-{n}.png", content, "image/png")},
                data={"projectId": project_id, "category": "render"},
                headers=auth(email),
            )
            assert uploaded.status_code == 201, uploaded.text


async def download(api: httpx.AsyncClient, url: str) -> bytes:
    if url.startswith(BASE_URL):
        response = await api.get(url.removeprefix(BASE_URL))
    else:
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
    assert response.status_code == 200, response.text
    return response.content


async def observe(
    api: httpx.AsyncClient, auth: Callable[[str], dict[str, str]]
) -> dict[str, object]:
    """What the API serves each user: the project list as sent, every floorplan's bytes as
    sent, every file's content."""
    seen: dict[str, object] = {}
    for email in USERS:
        projects = await api.get("/api/projects", headers=auth(email))
        assert projects.status_code == 200
        seen[f"{email} projects"] = projects.content
        for project in projects.json()["projects"]:
            plans = await api.get(f"/api/projects/{project['id']}/floorplans", headers=auth(email))
            for plan in plans.json()["floorplans"]:
                full = await api.get(f"/api/floorplans/{plan['id']}", headers=auth(email))
                assert full.status_code == 200
                seen[f"floorplan {plan['id']}"] = full.content
            files = await api.get(f"/api/projects/{project['id']}/files", headers=auth(email))
            for file in files.json()["files"]:
                direct = await api.get(f"/api/files/{file['id']}", headers=auth(email))
                assert direct.status_code == 200
                detail = await api.get(
                    f"/api/files/{file['id']}",
                    headers=auth(email) | {"Accept": "application/json"},
                )
                assert await download(api, detail.json()["url"]) == direct.content
                seen[f"file {file['id']}"] = direct.content
    assert len(seen) == 2 + 4 * 2 + 4, sorted(seen)
    return seen


async def seeded(settings: Settings, home: Path) -> dict[str, object]:
    """A source system seeded through its API, and what its API then serves (`observe`)."""
    async with api_of(settings) as api:
        await seed(api, bearer(home))
        return await observe(api, bearer(home))


async def observed(settings: Settings, home: Path) -> dict[str, object]:
    """What the API of a system serves (`observe`), to compare with the source's."""
    async with api_of(settings) as api:
        return await observe(api, bearer(home))


def table_counts(database_url: str) -> dict[str, int]:
    """Counted here independently of the command."""
    with psycopg.connect(libpq_dsn(database_url)) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'app' AND c.relkind = 'r'"  # partitions, not their parent
        ).fetchall()
        return {
            f"{schema}.{name}": conn.execute(
                f'SELECT count(*) FROM "{schema}"."{name}"'
            ).fetchone()[0]
            for schema, name in tables
        }


def directory_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and ".tmp" not in path.relative_to(root).parts
    }


async def bucket_hashes(server: MotoServer, bucket: str) -> dict[str, str]:
    return {key: sha for key, (sha, _) in (await bucket_objects(server, bucket)).items()}


async def bucket_objects(server: MotoServer, bucket: str) -> dict[str, tuple[str, str | None]]:
    """key -> (sha256, the Content-Type S3 serves it with)."""
    from tests.storage.conftest import s3_store_for

    store = s3_store_for(server, bucket)
    try:
        found = {}
        async for info in store.list(""):
            head = await store.head(info.key)
            assert head is not None
            digest = hashlib.sha256(await store.get_bytes(info.key)).hexdigest()
            found[info.key] = (digest, head.content_type)
        return found
    finally:
        await store.aclose()


def app_counts(counts: dict[str, int]) -> dict[str, int]:
    return {table: rows for table, rows in counts.items() if table.startswith("app.")}


# --- the round trip ---------------------------------------------------------------------------


async def test_backup_restores_into_a_fresh_embedded_postgres_and_store(
    create_database: Callable[[], str], short_dir: Path
) -> None:
    source_url = create_database()
    upgrade(source_url)
    source_home = short_dir / "src"
    source = system_settings(source_home, source_url)
    before = await seeded(source, source_home)
    source_counts = table_counts(source_url)
    source_objects = directory_hashes(source_home / "objects")
    assert len(source_objects) == 4
    assert source_counts["app.projects"] == 4 and source_counts["app.floorplans"] == 8

    backup_dir = short_dir / "backup"
    done = await System(source, environment(source_home, DATABASE_URL=source_url)).arun(
        "backup", str(backup_dir)
    )
    assert done.returncode == 0, done.stderr
    manifest = Manifest.from_json((backup_dir / "manifest.json").read_bytes())
    assert app_counts(manifest.database.tables) == source_counts
    assert {e.key: e.sha256 for e in manifest.objects} == source_objects
    assert directory_hashes(backup_dir / "objects") == source_objects

    # The target: no DATABASE_URL, a new data dir: the command starts a new embedded server.
    target_home = short_dir / "dst"
    restored = await System(source, environment(target_home)).arun(
        "restore", str(backup_dir), "--verify"
    )
    assert restored.returncode == 0, restored.stderr
    assert "verified:" in restored.stderr and "problems" not in restored.stderr
    assert directory_hashes(target_home / "objects") == source_objects

    with attached(target_home, "tests") as target_url:
        assert table_counts(target_url) == source_counts
        after = await observed(system_settings(target_home, target_url), target_home)
    assert after == before


async def test_backup_to_a_bucket_restores_into_a_fresh_bucket(
    create_database: Callable[[], str],
    short_dir: Path,
    moto: MotoServer,  # noqa: F811
) -> None:
    suffix = secrets.token_hex(4)
    source_bucket, backup_bucket, target_bucket = (
        f"src-{suffix}",
        f"backups-{suffix}",
        f"dst-{suffix}",
    )
    for bucket in (source_bucket, backup_bucket, target_bucket):
        await make_bucket(moto, bucket)
    source_url = create_database()
    upgrade(source_url)
    source_home = short_dir / "src"
    source_env = s3_env(moto, source_bucket)
    source = system_settings(
        source_home,
        source_url,
        storage_backend="s3",
        s3_endpoint_url=moto.url,
        s3_bucket=source_bucket,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )
    before = await seeded(source, source_home)
    source_objects = await bucket_hashes(moto, source_bucket)
    assert len(source_objects) == 4

    target = f"s3://{backup_bucket}/nightly/1"
    done = await System(
        source, environment(source_home, DATABASE_URL=source_url, **source_env)
    ).arun("backup", target)
    assert done.returncode == 0, done.stderr
    in_backup = await bucket_hashes(moto, backup_bucket)
    assert {
        k.removeprefix("nightly/1/objects/"): v
        for k, v in in_backup.items()
        if k.startswith("nightly/1/objects/")
    } == source_objects
    assert {"nightly/1/manifest.json", "nightly/1/database.dump"} <= set(in_backup)

    target_home = short_dir / "dst"
    restored = await System(source, environment(target_home, **s3_env(moto, target_bucket))).arun(
        "restore", target, "--verify"
    )
    assert restored.returncode == 0, restored.stderr
    # Same bytes, and served as the same type (a signed S3 GET answers with the stored one).
    assert await bucket_objects(moto, target_bucket) == await bucket_objects(moto, source_bucket)
    assert {t for _, t in (await bucket_objects(moto, target_bucket)).values()} == {"image/png"}

    with attached(target_home, "tests") as target_url:
        assert table_counts(target_url) == table_counts(source_url)
        restored_settings = source.model_copy(
            update={"home": target_home, "database_url": target_url, "s3_bucket": target_bucket}
        )
        after = await observed(restored_settings, target_home)
    assert after == before


async def test_a_postgresql_15_backup_restores_into_embedded_postgresql_18(
    short_dir: Path,
) -> None:
    """Each side gets the client programs of its own server: pg_dump 15 for the 15 server,
    pg_restore 18 (which reads 15's archives) for the embedded 18."""
    from tests.db import servers

    require(servers.available(), "PostgreSQL 15 server binaries (apt: postgresql-15)")
    with servers.primary_cluster() as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE app15")
        source_url = cluster.url.rsplit("/", 1)[0] + "/app15"
        upgrade(source_url)
        source_home = short_dir / "src"
        source = system_settings(source_home, source_url)
        before = await seeded(source, source_home)
        source_counts = table_counts(source_url)
        backup_dir = short_dir / "backup"
        done = await System(source, environment(source_home, DATABASE_URL=source_url)).arun(
            "backup", str(backup_dir)
        )
        assert done.returncode == 0, done.stderr

        # The dump carries no compression methods (PostgreSQL 18 here has no lz4, below);
        # a restore into a server that has lz4 (this one) sets the documents' again.
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE app15again")
        again_url = cluster.url.rsplit("/", 1)[0] + "/app15again"
        again = await System(source, environment(short_dir / "again", DATABASE_URL=again_url)).arun(
            "restore", str(backup_dir)
        )
        assert again.returncode == 0, again.stderr
        with psycopg.connect(again_url) as conn:
            methods = conn.execute(
                "SELECT DISTINCT a.attcompression::text FROM pg_attribute a"
                " JOIN pg_class c ON c.oid = a.attrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'app' AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)"
                " AND a.attnum > 0"
                " AND c.relkind IN ('r', 'p')"
            ).fetchall()
        assert methods == [("l",)]
    assert "pg_dump 15." in done.stderr
    manifest = Manifest.from_json((backup_dir / "manifest.json").read_bytes())
    assert (manifest.database.server_major, manifest.database.client_major) == (15, 15)

    target_home = short_dir / "dst"
    restored = await System(source, environment(target_home)).arun(
        "restore", str(backup_dir), "--verify"
    )
    assert restored.returncode == 0, restored.stderr
    assert "PostgreSQL 18" in restored.stderr and "pg_restore 18." in restored.stderr
    with attached(target_home, "tests") as target_url:
        assert table_counts(target_url) == source_counts
        assert await observed(system_settings(target_home, target_url), target_home) == before


def test_the_client_programs_follow_the_server_version() -> None:
    majors = {client.major for client in available_clients()}
    require({15, 18} <= majors, "pg_dump 15 (apt: postgresql-15) beside the embedded 18")
    assert client_for(15).major == 15
    assert client_for(18).major == 18
    # No 16 here: the oldest newer client serves an older server.
    assert client_for(16).major == 18
    # A 15 server cannot restore an 18 archive with pg_restore 15.
    assert client_for(15, at_least=18).major == 18
    with pytest.raises(NoMatchingClient, match="major version 99 or newer"):
        client_for(99)


# --- what is refused ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def small_backup(
    create_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[System, Path, dict[str, int]]:
    """A seeded source system and a backup of it (left untouched by the tests)."""
    url = create_database()
    upgrade(url)
    home = tmp_path_factory.mktemp("small-src")
    settings = system_settings(home, url)
    async with api_of(settings) as api:
        await seed(api, bearer(home))
    system = System(settings, environment(home, DATABASE_URL=url))
    backup_dir = tmp_path_factory.mktemp("small-backup") / "b"
    done = await system.arun("backup", str(backup_dir))
    assert done.returncode == 0, done.stderr
    return system, backup_dir, table_counts(url)


def restore_env(url: str, home: Path) -> dict[str, str]:
    return environment(home, DATABASE_URL=url)


async def test_restore_refuses_what_is_not_a_backup(
    small_backup: tuple[System, Path, dict[str, int]],
    create_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    system, _, _ = small_backup
    url = create_database()
    run = System(system.settings, restore_env(url, tmp_path / "home")).arun
    not_one = tmp_path / "not-a-backup"
    not_one.mkdir()
    (not_one / "notes.txt").write_text("hello")
    cases = {
        str(not_one): "no manifest.json: not a backup",
        str(tmp_path / "missing"): "no such directory",
    }
    garbled = tmp_path / "garbled"
    garbled.mkdir()
    (garbled / "manifest.json").write_text("{not json")
    cases[str(garbled)] = "manifest.json is not JSON"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "manifest.json").write_text('{"format": "other", "version": 1}')
    cases[str(foreign)] = "is not a spacekontext-backup manifest"
    for source, message in cases.items():
        result = await run("restore", source, "--verify")
        assert result.returncode == 2, (source, result.stderr)
        assert message in " ".join(result.stderr.split()), result.stderr
    assert table_counts(url) == {}  # nothing was restored
    assert not (not_one / ".tmp").exists()


async def test_restore_refuses_a_database_that_is_not_empty(
    small_backup: tuple[System, Path, dict[str, int]], tmp_path: Path
) -> None:
    system, backup_dir, counts = small_backup
    # The source system itself: restoring over live data must be refused.
    result = await system.arun("restore", str(backup_dir))
    assert result.returncode == 2, result.stderr
    assert "the target database is not empty" in " ".join(result.stderr.split())
    assert table_counts(system.env["DATABASE_URL"]) == counts


async def test_restore_refuses_a_store_that_is_not_empty(
    small_backup: tuple[System, Path, dict[str, int]],
    create_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    system, backup_dir, _ = small_backup
    url = create_database()
    home = tmp_path / "home"
    (home / "objects" / "users").mkdir(parents=True)
    (home / "objects" / "users" / "stray.bin").write_bytes(b"x")
    result = await System(system.settings, restore_env(url, home)).arun("restore", str(backup_dir))
    assert result.returncode == 2, result.stderr
    assert "the target object store is not empty" in " ".join(result.stderr.split())
    assert table_counts(url) == {}


async def test_backup_refuses_a_destination_that_is_not_empty(
    small_backup: tuple[System, Path, dict[str, int]],
) -> None:
    system, backup_dir, _ = small_backup
    manifest_before = (backup_dir / "manifest.json").read_bytes()
    result = await system.arun("backup", str(backup_dir))
    assert result.returncode == 2, result.stderr
    assert "is not empty" in result.stderr
    assert (backup_dir / "manifest.json").read_bytes() == manifest_before


async def test_a_bucket_that_does_not_exist_is_a_failure_not_a_traceback(
    small_backup: tuple[System, Path, dict[str, int]],
    moto: MotoServer,  # noqa: F811
) -> None:
    system, _, _ = small_backup
    env = system.env | s3_env(moto, "unused") | {"STORAGE_BACKEND": "local"}
    result = await System(system.settings, env).arun("backup", "s3://no-such-bucket-7f3a/x")
    assert result.returncode == 1, result.stderr
    assert "failed: the object store is unavailable" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_corrupted_object_is_reported_and_not_restored(
    small_backup: tuple[System, Path, dict[str, int]],
    create_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    system, backup_dir, counts = small_backup
    copy = tmp_path / "copy"
    shutil.copytree(backup_dir, copy)
    manifest = Manifest.from_json((copy / "manifest.json").read_bytes())
    victim = manifest.objects[1]
    path = copy / "objects" / victim.key
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # one flipped byte, same size
    path.write_bytes(bytes(data))

    url = create_database()
    home = tmp_path / "home"
    result = await System(system.settings, restore_env(url, home)).arun(
        "restore", str(copy), "--verify"
    )
    assert result.returncode == 1, result.stderr
    text = " ".join(result.stderr.split())
    assert f"object_hash: {victim.key}" in text
    assert victim.sha256 in text
    # The database is restored, the other objects are; the corrupted one is not served.
    assert table_counts(url) == counts
    restored = directory_hashes(home / "objects")
    assert victim.key not in restored
    assert restored == {e.key: e.sha256 for e in manifest.objects if e.key != victim.key}


async def test_a_corrupted_dump_restores_nothing(
    small_backup: tuple[System, Path, dict[str, int]],
    create_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    system, backup_dir, _ = small_backup
    copy = tmp_path / "copy"
    shutil.copytree(backup_dir, copy)
    dump = copy / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    url = create_database()
    home = tmp_path / "home"
    result = await System(system.settings, restore_env(url, home)).arun("restore", str(copy))
    assert result.returncode == 2, result.stderr
    assert "database.dump does not match the manifest" in " ".join(result.stderr.split())
    assert table_counts(url) == {}
    assert directory_hashes(home / "objects") == {}
