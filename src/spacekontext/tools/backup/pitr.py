"""Continuous archiving and point-in-time recovery with pgBackRest, the production mode of
database backups (docs/backups.md, "Modes").

`spacekontext backup` takes a logical copy at one instant: whatever was written after it is
lost on a restore. Here PostgreSQL ships every WAL segment to a pgBackRest repository as it is
filled (or after `archive_timeout` at the latest), and a full or differential base backup is
taken on a schedule; a restore replays the WAL on top of the newest base backup up to any chosen
moment. The recovery point is then the last archived segment: seconds, not a day.

pgBackRest works on the database host, as the cluster's owner, on the data directory itself
(not through a connection), so these functions run `pgbackrest` with a configuration file this
module can write, and, when asked, as another OS user (`run_as`, through runuser when root)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

DEFAULT_ARCHIVE_TIMEOUT_S = 60


class PgBackRestFailed(Exception):
    pass


def render_config(
    stanza: str,
    *,
    pg_data: Path,
    pg_port: int,
    pg_socket_dir: Path | None,
    repo_path: Path,
    retention_full: int = 2,
) -> str:
    """A pgbackrest.conf for one cluster and a repository directory (a mounted volume, or a
    path synchronised elsewhere; an S3 repository takes `repo1-type=s3` and its options
    instead of `repo1-path`, by hand)."""
    lines = [
        "[global]",
        f"repo1-path={repo_path}",
        f"repo1-retention-full={retention_full}",
        "compress-type=zst",
        "start-fast=y",
        "log-level-console=warn",
    ]
    lines += ["", f"[{stanza}]", f"pg1-path={pg_data}", f"pg1-port={pg_port}"]
    if pg_socket_dir is not None:
        lines.append(f"pg1-socket-path={pg_socket_dir}")
    return "\n".join(lines) + "\n"


def archive_settings(
    stanza: str, config: Path, *, archive_timeout_s: int = DEFAULT_ARCHIVE_TIMEOUT_S
) -> dict[str, str]:
    """The postgresql.conf settings that ship every WAL segment to the repository;
    `archive_timeout` bounds the recovery point on a quiet database."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": (f"'pgbackrest --config={config} --stanza={stanza} archive-push %p'"),
        "archive_timeout": str(archive_timeout_s),
    }


@dataclass(frozen=True, slots=True)
class BaseBackup:
    label: str
    kind: str  # full, diff, incr
    started_at: datetime
    stopped_at: datetime
    wal_start: str
    wal_stop: str


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    backups: list[BaseBackup]
    wal_min: str | None
    wal_max: str | None

    @property
    def earliest_recovery_time(self) -> datetime | None:
        """A restore can reach no earlier than the end of the oldest base backup."""
        return self.backups[0].stopped_at if self.backups else None


@dataclass(frozen=True)
class PgBackRest:
    stanza: str
    config: Path | None = None
    run_as: str | None = None
    program: str = "pgbackrest"
    env: dict[str, str] = field(default_factory=dict)

    def _command(self, *args: str) -> list[str]:
        command = [self.program]
        if self.config is not None:
            command.append(f"--config={self.config}")
        command += [f"--stanza={self.stanza}", *args]
        if self.run_as and hasattr(os, "geteuid") and os.geteuid() == 0:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return command

    def run(self, *args: str, timeout_s: float = 3600) -> str:
        try:
            done = subprocess.run(  # noqa: S603 (pgbackrest with our own arguments)
                self._command(*args),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=os.environ | self.env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PgBackRestFailed(f"pgbackrest {args[0]}: {exc}") from exc
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise PgBackRestFailed(
                f"pgbackrest {args[0]} exited with {done.returncode}: " + " | ".join(message)
            )
        return done.stdout

    def create_stanza(self) -> None:
        """Once per cluster: the repository learns the cluster (idempotent)."""
        self.run("stanza-create")

    def check(self) -> None:
        """Forces a WAL switch and waits until the segment is in the repository: proves that
        archiving works end to end."""
        self.run("check")

    def backup(self, kind: str = "full") -> None:
        if kind not in ("full", "diff", "incr"):
            raise ValueError("kind must be full, diff or incr")
        self.run("backup", f"--type={kind}")

    def info(self) -> RepositoryInfo:
        data: list[dict[str, Any]] = orjson.loads(self.run("info", "--output=json"))
        stanza = next((item for item in data if item.get("name") == self.stanza), None)
        if stanza is None:
            return RepositoryInfo([], None, None)
        backups = [
            BaseBackup(
                label=item["label"],
                kind=item["type"],
                started_at=datetime.fromtimestamp(item["timestamp"]["start"], UTC),
                stopped_at=datetime.fromtimestamp(item["timestamp"]["stop"], UTC),
                wal_start=item["archive"]["start"],
                wal_stop=item["archive"]["stop"],
            )
            for item in stanza.get("backup", [])
        ]
        archives = stanza.get("archive") or [{}]
        return RepositoryInfo(backups, archives[-1].get("min"), archives[-1].get("max"))

    def restore(self, data_dir: Path, *, target_time: datetime | None = None) -> None:
        """Into `data_dir` (empty): the newest base backup, then the WAL up to `target_time`
        (the latest archived WAL when None), after which the server is promoted on start."""
        args = ["restore", f"--pg1-path={data_dir}"]
        if target_time is not None:
            if target_time.tzinfo is None:
                raise ValueError("the recovery target needs a time zone")
            args += [
                "--type=time",
                f"--target={target_time.isoformat(sep=' ')}",
                "--target-action=promote",
            ]
        self.run(*args)
