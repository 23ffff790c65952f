"""`spacekontext status`: where the data lives, what runs on it, and how to reach it.

`serve` records where the API listens in `run/serve.json`, flock-ed for as long as it runs, so a
record left by a crash is never taken for a live server."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from spacekontext.db.embedded import embedded_status
from spacekontext.settings import Settings


def _record_path(data_dir: Path) -> Path:
    return data_dir / "run" / "serve.json"


@contextlib.contextmanager
def serving(data_dir: Path, url: str) -> Iterator[None]:
    path = _record_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another `serve` on the same data dir (on another port): it keeps the record.
            yield
            return
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "url": url, "since": time.time()}).encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        os.close(fd)


def serving_record(data_dir: Path) -> dict[str, Any] | None:
    """The running `serve`'s record, or None (no file, or its process is gone)."""
    path = _record_path(data_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # held by the live serve: the record is current
        else:
            return None
        record: dict[str, Any] = json.loads(path.read_text() or "{}")
        return record or None
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def api_answers(url: str, timeout_s: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def redact(url: str) -> str:
    """A URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def gather(settings: Settings) -> dict[str, Any]:
    data_dir = settings.data_dir
    status: dict[str, Any] = {
        "dataDir": str(data_dir),
        "dataDirFrom": settings.data_dir_source,
        "env": settings.env,
    }
    if settings.database_url:
        status["database"] = {"kind": "external", "url": redact(settings.database_url)}
    else:
        status["database"] = {"kind": "embedded", **embedded_status(data_dir)}
    record = serving_record(data_dir)
    if record is not None:
        status["api"] = {
            "url": record.get("url"),
            "pid": record.get("pid"),
            "answering": api_answers(str(record.get("url"))),
        }
    else:
        status["api"] = None
    status["engines"] = {
        "pooler": settings.database_pooler,
        "replicas": [redact(url) for url in settings.database_read_urls],
        "redis": redact(settings.redis_url) if settings.redis_url else None,
        "cache": (
            "off" if not settings.cache_enabled else "redis" if settings.redis_url else "memory"
        ),
        "storage": (
            {"backend": "s3", "bucket": settings.s3_bucket, "endpoint": settings.s3_endpoint_url}
            if settings.storage_backend == "s3"
            else {"backend": "local", "dir": str(data_dir / "objects")}
        ),
        "auth": "jwks" if settings.auth_jwks_url else "dev tokens",
        "jobs": "in-process" if settings.jobs_in_process else "separate workers",
    }
    return status


def render(status: dict[str, Any]) -> str:
    lines = [f"data dir     {status['dataDir']}  (from {status['dataDirFrom']})"]
    database = status["database"]
    if database["kind"] == "external":
        lines.append(f"database     {database['url']}  (DATABASE_URL)")
    elif database["running"]:
        users = ", ".join(f"{a['command']} (pid {a['pid']})" for a in database["attached"])
        lines += [
            f"database     embedded PostgreSQL {database['version']}, "
            f"running, pid {database['pid']}",
            f"  socket     {database['socketDir']}",
            f"  url        {database['url']}",
            f"  psql       psql '{database['url']}'",
            f"  used by    {users or 'no command (started by hand?)'}",
        ]
    else:
        state = "stopped" if database["initialised"] else "not created yet"
        lines.append(f"database     embedded PostgreSQL, {state} (commands start it as needed)")
        lines.append(f"  data       {database['dataDir']}")
    api = status["api"]
    if api is None:
        lines.append("api          not running (start it with `spacekontext serve`)")
    else:
        state = "answering" if api["answering"] else "starting or not answering"
        lines.append(f"api          {api['url']}  (pid {api['pid']}, {state})")
        lines.append(f"  docs       {api['url']}/docs")
    engines = status["engines"]
    storage = engines["storage"]
    where = storage.get("dir") or f"bucket {storage['bucket']}"
    lines += [
        f"pooler       {engines['pooler']}",
        f"replicas     {', '.join(engines['replicas']) or 'none'}",
        f"cache        {engines['cache']}" + (f" ({engines['redis']})" if engines["redis"] else ""),
        f"storage      {storage['backend']} ({where})",
        f"auth         {engines['auth']}",
        f"jobs         {engines['jobs']}",
    ]
    return "\n".join(lines)
