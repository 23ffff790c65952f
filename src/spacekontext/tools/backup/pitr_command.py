"""`spacekontext pitr`: continuous archiving and point-in-time recovery with pgBackRest, run on
the database host as the cluster's owner (docs/backups.md, "Continuous archiving")."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from spacekontext.settings import Settings
from spacekontext.tools.backup.pitr import (
    DEFAULT_ARCHIVE_TIMEOUT_S,
    PgBackRest,
    PgBackRestFailed,
    archive_settings,
    render_config,
)

pitr_cli = typer.Typer(
    no_args_is_help=True,
    help="Continuous archiving and point-in-time recovery (pgBackRest, on the database host).",
)
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


def _backrest() -> PgBackRest:
    settings = _settings()
    return PgBackRest(settings.pgbackrest_stanza, config=settings.pgbackrest_config)


@pitr_cli.command("config")
def config(
    pg_data: Annotated[Path, typer.Option(help="The cluster's data directory.")],
    repo: Annotated[Path, typer.Option(help="The repository directory.")],
    pg_port: Annotated[int, typer.Option(min=1, max=65535)] = 5432,
    pg_socket_dir: Annotated[Path | None, typer.Option()] = None,
    retention_full: Annotated[int, typer.Option(min=1, max=100)] = 2,
    archive_timeout: Annotated[
        int, typer.Option(min=1, max=3600, help="Seconds: the recovery point on a quiet database.")
    ] = DEFAULT_ARCHIVE_TIMEOUT_S,
) -> None:
    """Print a pgbackrest.conf for this cluster and the postgresql.conf lines that archive its
    WAL (write them where they belong, then `pitr init`)."""
    settings = _settings()
    config_path = settings.pgbackrest_config or Path("/etc/pgbackrest/pgbackrest.conf")
    typer.echo(f"# {config_path}")
    typer.echo(
        render_config(
            settings.pgbackrest_stanza,
            pg_data=pg_data,
            pg_port=pg_port,
            pg_socket_dir=pg_socket_dir,
            repo_path=repo,
            retention_full=retention_full,
        )
    )
    typer.echo("# postgresql.conf (restart PostgreSQL after changing archive_mode)")
    lines = archive_settings(
        settings.pgbackrest_stanza, config_path, archive_timeout_s=archive_timeout
    )
    for key, value in lines.items():
        typer.echo(f"{key} = {value}")


@pitr_cli.command("init")
def init() -> None:
    """Create the stanza in the repository and check that WAL reaches it."""
    backrest = _backrest()
    try:
        backrest.create_stanza()
        backrest.check()
    except PgBackRestFailed as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print(f"stanza {backrest.stanza}: archiving works")


@pitr_cli.command("backup")
def backup(
    kind: Annotated[str, typer.Option("--type", help="full, diff or incr.")] = "full",
) -> None:
    """Take a base backup (full weekly and diff daily is a common schedule)."""
    if kind not in ("full", "diff", "incr"):
        console.print("[red]--type must be full, diff or incr")
        raise typer.Exit(2)
    try:
        _backrest().backup(kind)
    except PgBackRestFailed as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print(f"{kind} backup done")


@pitr_cli.command("info")
def info() -> None:
    """The base backups, the archived WAL range and the earliest time a restore can reach."""
    try:
        found = _backrest().info()
    except PgBackRestFailed as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    for item in found.backups:
        typer.echo(
            f"{item.label}\t{item.kind}\t{item.started_at.isoformat()}\t{item.stopped_at.isoformat()}"
        )
    typer.echo(f"archived WAL: {found.wal_min or '-'} .. {found.wal_max or '-'}")
    earliest = found.earliest_recovery_time
    typer.echo(f"earliest recovery time: {earliest.isoformat() if earliest else '-'}")


@pitr_cli.command("restore")
def restore(
    data_dir: Annotated[Path, typer.Argument(help="An empty directory for the new cluster.")],
    to: Annotated[
        datetime | None,
        typer.Option(
            "--to",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"],
            help="Recovery target with its offset, e.g. '2026-12-06 10:15:00+0000'; "
            "default: the latest archived WAL.",
        ),
    ] = None,
) -> None:
    """Restore the newest base backup before --to into DATA_DIR and replay the WAL up to --to;
    PostgreSQL started on DATA_DIR then promotes itself."""
    if data_dir.exists() and any(data_dir.iterdir()):
        console.print(f"[red]refused: {data_dir} is not empty", soft_wrap=True)
        raise typer.Exit(2)
    try:
        _backrest().restore(data_dir, target_time=to)
    except (PgBackRestFailed, ValueError) as exc:
        console.print(f"[red]{exc}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    console.print(f"restored into {data_dir}; start PostgreSQL on it")
