"""The `spacekontext` command."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from spacekontext.settings import Settings
from spacekontext.tools.backup.pitr_command import pitr_cli

cli = typer.Typer(no_args_is_help=True, help="Space Kontext backend.")
token_cli = typer.Typer(no_args_is_help=True, help="Development tokens.")
cli.add_typer(token_cli, name="token")
partitions_cli = typer.Typer(no_args_is_help=True, help="Monthly history partitions.")
cli.add_typer(partitions_cli, name="partitions")
storage_cli = typer.Typer(no_args_is_help=True, help="Object storage housekeeping.")
cli.add_typer(storage_cli, name="storage")
console = Console(stderr=True)


def load_settings(**overrides: object) -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:
        console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def say(message: str) -> None:
    """A progress line on stderr, never wrapped (a log reader greps whole lines)."""
    console.print(message, soft_wrap=True, highlight=False)


def fail(message: str) -> NoReturn:
    """A bad situation the user can fix: one line naming the cause and the fix, exit code 2."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


@contextlib.contextmanager
def database(settings: Settings, command: str, *, supervise: bool = False) -> Iterator[Settings]:
    """Settings whose DATABASE_URL points at a running server: the configured one, or the data
    dir's embedded server, attached for the command (db/embedded.py: started if none runs,
    stopped afterwards only if no other command is attached)."""
    from spacekontext.db.embedded import EmbeddedError, database_for

    with contextlib.ExitStack() as stack:
        try:
            ready = stack.enter_context(
                database_for(settings, command, supervise=supervise, say=say)
            )
        except EmbeddedError as exc:
            fail(str(exc))
        yield ready


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    profile: Annotated[
        str | None, typer.Option(help="tuned (default) or naive (the assessment's baseline).")
    ] = None,
    shared_socket: Annotated[
        bool,
        typer.Option(
            help="With --workers > 1: all workers accept from one listening socket (uvicorn's "
            "supervisor) instead of one SO_REUSEPORT socket each (the default on Linux)."
        ),
    ] = False,
) -> None:
    """Serve the API (starting the embedded PostgreSQL when DATABASE_URL is unset)."""
    # In multiprocess mode prometheus-client writes a file per metric into this directory as
    # soon as the metric modules are imported (below): it must exist first.
    if configured_metrics_dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        Path(configured_metrics_dir).mkdir(parents=True, exist_ok=True)
    import uvicorn

    from spacekontext.app import create_app
    from spacekontext.db.migrate import upgrade
    from spacekontext.http.workers import (
        REUSE_PORT_BALANCES,
        Supervisor,
        WorkerSpec,
        WorkerStartupError,
    )
    from spacekontext.observability.logging import configure_logging

    settings = load_settings(host=host, port=port, profile=profile)
    configure_logging(settings.log_level, json=settings.log_json)
    # Bound before anything is started: a port in use is a one-line error, with no database
    # started for nothing; and the socket is handed to uvicorn, so nothing can take it between.
    sock = _bind(settings.host, settings.port)
    reuse_port = workers > 1 and not shared_socket and REUSE_PORT_BALANCES
    if reuse_port:
        # Each worker binds a socket of its own (http/workers.py); this one only holds the port.
        sock = _reserve(sock, settings.host, settings.port)
    # uvicorn handles SIGTERM/SIGINT itself, then re-raises the signal once it has shut down;
    # with the default disposition SIGTERM would kill us before the embedded PostgreSQL is
    # stopped. Turn both into a normal exit so that every `finally` runs.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    with database(settings, "serve", supervise=True) as ready, _serving_record(ready):
        assert ready.database_url is not None
        say(f"data dir: {settings.data_dir} (from {settings.data_dir_source})")
        if not settings.database_url:
            say(f"embedded PostgreSQL: {ready.database_url}")
        say("applying migrations")
        upgrade(ready.database_url)
        _ensure_partitions(ready, ready.partition_months_ahead)
        _apply_index_profile(ready.database_url, ready.profile)
        if workers == 1:

            class AnnouncingServer(uvicorn.Server):
                """Prints the welcome once the app has started and takes connections."""

                async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                    await super().startup(sockets)
                    if not self.should_exit:
                        _print_welcome(ready)

            config = uvicorn.Config(
                create_app(ready),
                host=ready.host,
                port=ready.port,
                log_config=None,
                proxy_headers=False,
                server_header=False,
            )
            AnnouncingServer(config).run(sockets=[sock])
            return
        # Workers are separate processes: hand them the prepared settings via the env.
        os.environ["DATABASE_URL"] = ready.database_url
        os.environ["SPACEKONTEXT_HOME"] = str(ready.data_dir)
        os.environ["PROFILE"] = ready.profile
        _prepare_multiprocess_metrics(ready)
        if ready.cache_enabled and not ready.redis_url:
            # The in-process cache cannot see another worker's writes: with several
            # workers it would serve stale data, so it needs Redis.
            say("[yellow]cache disabled: --workers > 1 needs REDIS_URL")
            os.environ["CACHE_ENABLED"] = "false"
        options: dict[str, Any] = {
            "log_config": None,
            # As with one worker: client addresses are the peer's unless run behind a
            # proxy with --proxy-headers (docs/caching.md, "Rate limits").
            "proxy_headers": False,
            "server_header": False,
        }
        if reuse_port:
            spec = WorkerSpec(
                "spacekontext.app:app_from_env",
                sock.family,
                sock.getsockname(),
                factory=True,
                uvicorn_options=options,
            )
            try:
                Supervisor(spec, workers, on_ready=lambda: _print_welcome(ready)).run()
            except WorkerStartupError as exc:
                fail(f"{exc}; fix the cause, then start `serve` again")
            finally:
                sock.close()
            return
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(
            "spacekontext.app:app_from_env",
            factory=True,
            host=ready.host,
            port=ready.port,
            workers=workers,
            **options,
        )
        _print_welcome(ready)
        Multiprocess(config, sockets=[sock]).run()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket of `serve`, or a one-line error naming who holds the port."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        fail(f"cannot resolve HOST {host!r}: {exc.strerror}; set HOST to an address")
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is already in use{_holder_of(port)}; stop that "
                "process, or pass --port (PORT) with a free port"
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pass --host/--port")
    sock.set_inheritable(True)
    return sock


def _reserve(probe: socket.socket, host: str, port: int) -> socket.socket:
    """The port held for workers that bind it with SO_REUSEPORT, in place of `probe`.

    `probe` (bound without SO_REUSEPORT) proved that nobody listens on the port, not even a
    group of SO_REUSEPORT sockets that the workers would silently join (another `serve`). It
    is closed and the port bound again at once with SO_REUSEPORT and without listening, so
    that this process never takes connections of its own, and the port stays held while
    workers come and go. Between the two binds another program could take the port; then the
    second bind fails as the first would have."""
    from spacekontext.http.workers import reserve

    family, address = probe.family, probe.getsockname()
    probe.close()
    try:
        return reserve(family, address, strict=True)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            fail(f"cannot listen on {host}:{port}: {exc.strerror}; pass --host/--port")
    # Nobody listens (the probe said so): what remains in the way are connections of a server
    # without SO_REUSEPORT lingering in TIME_WAIT, which SO_REUSEADDR lets us bind beside.
    try:
        return reserve(family, address, strict=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"port {port} on {host} is already in use{_holder_of(port)}; stop that "
                "process, or pass --port (PORT) with a free port"
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror}; pass --host/--port")


def _holder_of(port: int) -> str:
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                if conn.pid is None:
                    return ""
                process = psutil.Process(conn.pid)
                parent = process.parent()
                if "multiprocessing" in " ".join(process.cmdline()) and parent is not None:
                    # A worker of a multi-process server: the one to stop is its supervisor.
                    process = parent
                return f" by pid {process.pid} ({' '.join(process.cmdline()[:3])})"
    return ""


@contextlib.contextmanager
def _serving_record(settings: Settings) -> Iterator[None]:
    """`run/serve.json` tells `spacekontext status` where the API listens; it counts only
    while this process holds its lock."""
    from spacekontext.tools.status import serving

    with serving(settings.data_dir, f"http://{_url_host(settings.host)}:{settings.port}"):
        yield


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  (a URL to open, not an address to bind)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _print_welcome(settings: Settings) -> None:
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    mint = ".venv/bin/spacekontext token create --email you@example.com"
    say(
        f"\n[bold green]Space Kontext API ready[/bold green] on {base}\n"
        f"  {base}/          start page\n"
        f"  {base}/docs      interactive API docs (Authorize with a token)\n"
        f"  {base}/healthz   liveness, {base}/readyz readiness\n"
        f"  token:  {mint}\n"
        f"  status: .venv/bin/spacekontext status\n"
    )


def _prepare_multiprocess_metrics(settings: Settings) -> None:
    """Workers write their Prometheus samples to files in one directory so that `/metrics` on
    any worker reports all of them (prometheus-client's multiprocess mode). The directory must
    be free of samples at start: files of a previous run would be counted again."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(configured) if configured else settings.data_dir / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    downgrade: Annotated[bool, typer.Option(help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Apply (or revert) database migrations."""
    from spacekontext.db import migrate as migrations

    settings = load_settings()
    with database(settings, "migrate") as ready:
        assert ready.database_url is not None
        if downgrade:
            migrations.downgrade(ready.database_url, revision)
        else:
            migrations.upgrade(ready.database_url, revision)
        console.print(f"database at {migrations.current_revision(ready.database_url)}")


@cli.command()
def seed(
    users: Annotated[int, typer.Option(min=0, max=10_000_000, help="Users to create.")] = 1000,
    projects_per_user: Annotated[
        float, typer.Option(min=0, max=1000, help="Average projects per user (skewed split).")
    ] = 5.0,
    floorplans_per_project: Annotated[int, typer.Option(min=0, max=50)] = 2,
    models_per_project: Annotated[int, typer.Option(min=0, max=50)] = 1,
    massings_per_project: Annotated[int, typer.Option(min=0, max=50)] = 1,
    files_per_project: Annotated[int, typer.Option(min=0, max=100)] = 5,
    cad_blocks: Annotated[int, typer.Option(min=0, max=100_000)] = 200,
    seed_value: Annotated[
        int, typer.Option("--seed", help="Same seed, same data (ids and content hashes).")
    ] = 1,
    objects: Annotated[
        bool, typer.Option(help="Store the files' objects (--no-objects: rows only).")
    ] = True,
    workers: Annotated[
        int | None, typer.Option(min=0, max=64, help="Generator processes (default: cores).")
    ] = None,
    reset: Annotated[
        bool, typer.Option(help="Delete every user, project and block first (TRUNCATE).")
    ] = False,
    history: Annotated[
        bool, typer.Option(help="Keep version 1 of each floorplan in its history, as the API.")
    ] = True,
) -> None:
    """Generate a realistic, reproducible data set of any size (COPY, parallel generation)."""
    from spacekontext.db.migrate import upgrade
    from spacekontext.tools.seed.command import seed_with_progress, summary_table
    from spacekontext.tools.seed.objects import store_sink_factory
    from spacekontext.tools.seed.writer import SeedConflict, SeedPlan

    settings = load_settings()
    plan = SeedPlan(
        users=users,
        projects_per_user=projects_per_user,
        floorplans_per_project=floorplans_per_project,
        models_per_project=models_per_project,
        massings_per_project=massings_per_project,
        files_per_project=files_per_project,
        cad_blocks=cad_blocks,
        seed=seed_value,
        history=history,
    )
    with database(settings, "seed") as ready:
        url = ready.database_url
        assert url is not None
        upgrade(url)
        try:
            sink = store_sink_factory(settings) if objects and files_per_project else None
            report = seed_with_progress(
                console, url, plan, objects=sink, workers=workers, reset_first=reset
            )
        except SeedConflict as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(summary_table(report))


@cli.command()
def loadtest(
    target: Annotated[
        str, typer.Option(help="Base URL of a running server; loopback only.")
    ] = "http://127.0.0.1:8000",
    users: Annotated[
        str, typer.Option(help="Steps of concurrent simulated users, comma-separated.")
    ] = "100,250,500,1000,2000",
    step_seconds: Annotated[float, typer.Option(min=1, max=3600)] = 60.0,
    ramp_seconds: Annotated[float, typer.Option(min=0, max=600)] = 10.0,
    think: Annotated[str, typer.Option(help="Think time range in seconds, MIN,MAX.")] = "1,3",
    timeout: Annotated[float, typer.Option(min=0.1, max=300, help="Per request, s.")] = 30.0,
    seed_value: Annotated[int, typer.Option("--seed", help="The seeded data's --seed.")] = 1,
    label: Annotated[str, typer.Option(help="Name of this run in the report.")] = "run",
    out: Annotated[
        str | None, typer.Option(help="Output path prefix (.md, .json, .png are added).")
    ] = None,
    continue_after_break: Annotated[
        bool, typer.Option(help="Run every step even after one breaks.")
    ] = False,
    max_minutes: Annotated[float, typer.Option(min=0.1, max=240)] = 60.0,
) -> None:
    """Simulated users against a running server: per-step throughput, latency per action,
    errors, PostgreSQL connections, pool waits and cache hits; Markdown, JSON and a chart."""
    from datetime import UTC, datetime
    from pathlib import Path

    from spacekontext.tools.loadtest.command import prepare_run
    from spacekontext.tools.loadtest.guard import NotLoopback
    from spacekontext.tools.loadtest.report import markdown, write_outputs
    from spacekontext.tools.loadtest.runner import LoadTestConfig, run_loadtest, run_on_fast_loop

    settings = load_settings()
    try:
        steps = tuple(int(part) for part in users.split(",") if part.strip())
        low, high = (float(part) for part in think.split(","))
        config = LoadTestConfig(
            base_url=target,
            steps=steps,
            step_s=step_seconds,
            ramp_s=ramp_seconds,
            think_s=(low, high),
            request_timeout_s=timeout,
            seed=seed_value,
            stop_after_break=not continue_after_break,
            max_total_s=max_minutes * 60,
            label=label,
        )
    except NotLoopback as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        console.print(f"[red]invalid options:[/red] {exc}")
        raise typer.Exit(2) from exc
    tokens, dsn = prepare_run(settings, max(steps), seed_value, console)
    result = run_on_fast_loop(run_loadtest(config, tokens, dsn=dsn, progress=console.print))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    prefix = Path(out) if out else Path("loadtest-results") / f"{label}-{stamp}"
    paths = write_outputs(result, prefix)
    typer.echo(markdown(result))
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))


def _apply_index_profile(url: str, profile: str) -> None:
    from spacekontext.db.urls import libpq_dsn
    from spacekontext.tools.profiles import apply_index_profile

    changed = apply_index_profile(libpq_dsn(url), profile)
    if changed:
        verb = "dropped" if profile == "naive" else "restored"
        say(f"profile {profile}: {verb} indexes {', '.join(changed)}")


@cli.command()
def indexes(
    action: Annotated[
        str, typer.Argument(help="status, naive (drop the assessment's missing indexes), tuned.")
    ] = "status",
) -> None:
    """Show, drop (naive) or restore (tuned) the indexes the assessment found missing, without
    a migration. `serve --profile` applies its profile's set at start."""
    from spacekontext.db.migrate import upgrade
    from spacekontext.db.urls import libpq_dsn
    from spacekontext.tools.profiles import index_status

    if action not in ("status", "naive", "tuned"):
        console.print("[red]ACTION must be status, naive or tuned")
        raise typer.Exit(2)
    settings = load_settings()
    if action == "naive" and settings.env == "production":
        console.print("[red]refused: the naive profile is a load-test baseline")
        raise typer.Exit(2)
    with database(settings, "indexes") as ready:
        url = ready.database_url
        assert url is not None
        upgrade(url)
        if action != "status":
            _apply_index_profile(url, action)
        for name, present in index_status(libpq_dsn(url)).items():
            typer.echo(f"{name}\t{'present' if present else 'dropped'}")


@token_cli.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The user's e-mail; the token's subject.")],
    first_name: Annotated[str | None, typer.Option()] = None,
    last_name: Annotated[str | None, typer.Option()] = None,
    days: Annotated[int, typer.Option(min=1, max=365, help="Validity in days.")] = 30,
) -> None:
    """Mint a development bearer token (refused in production)."""
    from spacekontext.auth.tokens import DevTokens

    settings = load_settings()
    if settings.env == "production" or not settings.dev_tokens_enabled:
        console.print(
            "[red]dev tokens are disabled here (ENV=production or DEV_TOKENS_ENABLED=false)"
        )
        raise typer.Exit(2)
    if "@" not in email or len(email) > 320:
        console.print("[red]--email must be an e-mail address")
        raise typer.Exit(2)
    tokens = DevTokens.from_data_dir(settings.data_dir)
    typer.echo(tokens.mint(email, first_name=first_name, last_name=last_name, ttl_s=days * 86400))


def _ensure_partitions(settings: Settings, months_ahead: int) -> list[str]:
    import asyncio

    from spacekontext.db.engine import create_engine_for
    from spacekontext.db.partitions import MONTHLY_TABLES, ensure_monthly_partitions

    assert settings.database_url is not None

    async def run() -> list[str]:
        engine = create_engine_for(settings.database_url or "", settings)
        try:
            created: list[str] = []
            async with engine.begin() as conn:
                for table in MONTHLY_TABLES:
                    created += await ensure_monthly_partitions(
                        conn, months_ahead=months_ahead, table=table
                    )
            return created
        finally:
            await engine.dispose()

    created = asyncio.run(run())
    if created:
        say(f"created partitions: {', '.join(created)}")
    return created


@partitions_cli.command("ensure")
def partitions_ensure(
    months_ahead: Annotated[
        int | None,
        typer.Option(min=0, max=120, help="Months after this one to create (default: setting)."),
    ] = None,
) -> None:
    """Create this month's and the next N months' history partitions (idempotent)."""
    settings = load_settings()
    with database(settings, "partitions ensure") as ready:
        created = _ensure_partitions(
            ready, ready.partition_months_ahead if months_ahead is None else months_ahead
        )
        if not created:
            console.print("all partitions already exist")


@cli.command()
def worker() -> None:
    """Run the background job worker (object deletion, digests, sweeping stale uploads).
    Run any number of them; set JOBS_IN_PROCESS=false on the API processes then."""
    # First: a SIGTERM during start-up must still detach from the database cleanly.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    import asyncio

    from spacekontext.app import configure_error_tracking
    from spacekontext.db.engine import Database
    from spacekontext.observability.logging import configure_logging
    from spacekontext.services import build_services

    settings = load_settings()
    configure_error_tracking(settings)
    configure_logging(settings.log_level, json=settings.log_json)

    async def run(ready: Settings) -> None:
        services = build_services(ready, Database.from_settings(ready))
        console.print(f"job worker {services.worker.name} polling")
        try:
            await services.worker.run_forever()
        finally:
            await services.aclose()
            await services.db.dispose()

    with (
        database(settings, "worker", supervise=True) as ready,
        contextlib.suppress(KeyboardInterrupt),
    ):
        asyncio.run(run(ready))


@storage_cli.command("reconcile")
def storage_reconcile(
    fix: Annotated[bool, typer.Option(help="Delete orphan objects and dangling rows.")] = False,
    grace_s: Annotated[
        float, typer.Option(min=0, help="Ignore objects younger than this (uploads in flight).")
    ] = 3600.0,
) -> None:
    """Report objects without a row and ready rows without an object (and repair with --fix)."""
    import asyncio

    import orjson

    from spacekontext.db.engine import Database
    from spacekontext.services import build_services

    async def run(ready: Settings) -> bytes:
        services = build_services(ready, Database.from_settings(ready))
        try:
            report = await services.files.reconcile(fix=fix, grace_s=grace_s)
        finally:
            await services.aclose()
            await services.db.dispose()
        return orjson.dumps(
            report.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2
        )

    with database(load_settings(), "storage reconcile") as ready:
        typer.echo(asyncio.run(run(ready)).decode())


class ReportFormat(StrEnum):
    md = "md"
    json = "json"


class FailOn(StrEnum):
    critical = "critical"
    warning = "warning"


@cli.command()
def assess(
    database_url: Annotated[
        str | None,
        typer.Option(help="Database to assess (any PostgreSQL); default: the app's own."),
    ] = None,
    schema: Annotated[
        str | None, typer.Option(help="Only this schema (default: every user schema).")
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="md (the report) or json (for CI).")
    ] = ReportFormat.md,
    fail_on: Annotated[
        FailOn | None, typer.Option(help="Exit 1 when a finding is at least this severe.")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=512, help="App worker processes per host.")
    ] = 1,
    hosts: Annotated[int, typer.Option(min=1, max=512, help="Hosts running the app.")] = 1,
    target_users: Annotated[
        int, typer.Option(min=1, help="Scale to project the figures to.")
    ] = 1_000,
) -> None:
    """The scalability assessment, live from the database's catalog and statistics."""
    import orjson

    from spacekontext.errors import DomainError
    from spacekontext.tools.assess import app_shape, to_json, to_markdown
    from spacekontext.tools.assess import assess as run_assessment

    settings = load_settings()
    try:
        with contextlib.ExitStack() as stack:
            url = database_url
            if url is None:
                url = stack.enter_context(database(settings, "assess")).database_url
            assert url is not None
            shape = app_shape(
                settings,
                database_url=database_url,
                workers=workers,
                hosts=hosts,
                target_users=target_users,
            )
            report = run_assessment(url, shape, schema=schema)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    level = fail_on.value if fail_on else None
    if output_format is ReportFormat.json:
        payload = to_json(report, fail_on=level)
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(to_markdown(report))
    if report.fails(level):
        raise typer.Exit(1)


@cli.command()
def backup(
    target: Annotated[str, typer.Argument(help="A new or empty directory, or s3://bucket/prefix.")],
) -> None:
    """Back up the database (pg_dump) and every stored object, with a manifest of row counts,
    object keys, sizes and sha256 (docs/backups.md)."""
    from spacekontext.tools.backup.command import run_backup

    settings = load_settings()
    with database(settings, "backup") as ready:
        assert ready.database_url is not None
        code = run_backup(console, settings, ready.database_url, target)
    raise typer.Exit(code)


@cli.command()
def restore(
    source: Annotated[str, typer.Argument(help="A backup directory, or s3://bucket/prefix.")],
    verify: Annotated[
        bool, typer.Option(help="Then compare every table's row count and object's sha256.")
    ] = False,
) -> None:
    """Restore a backup into an empty database and an empty object store (exit 1 when objects
    could not be restored or the verification differs, 2 when refused)."""
    from spacekontext.tools.backup.command import run_restore

    settings = load_settings()
    with database(settings, "restore") as ready:
        assert ready.database_url is not None
        code = run_restore(console, settings, ready.database_url, source, verify=verify)
    raise typer.Exit(code)


cli.add_typer(pitr_cli, name="pitr")

library_cli = typer.Typer(no_args_is_help=True, help="The CAD block library.")
cli.add_typer(library_cli, name="library")


@library_cli.command("seed")
def library_seed() -> None:
    """Store the starter blocks (DXF + SVG thumbnail) in the object store and upsert their rows.
    Idempotent: running it again refreshes the same objects and rows."""
    import asyncio

    from spacekontext.db.engine import Database
    from spacekontext.db.migrate import upgrade
    from spacekontext.services import build_services

    async def run(ready: Settings) -> int:
        services = build_services(ready, Database.from_settings(ready))
        try:
            return await services.cadblocks.seed()
        finally:
            await services.aclose()
            await services.db.dispose()

    with database(load_settings(), "library seed") as ready:
        assert ready.database_url is not None
        upgrade(ready.database_url)
        count = asyncio.run(run(ready))
    console.print(f"seeded {count} blocks")


@cli.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=3600,
            help="Wait up to this many seconds for `serve` to answer (exit 2 if it does not).",
        ),
    ] = None,
) -> None:
    """The data dir, the embedded database (pid, socket, a URL for psql or `assess
    --database-url`), the API's URL when `serve` runs, and the configured engines."""
    import time

    import orjson

    from spacekontext.tools.status import gather, render

    settings = load_settings()
    report = gather(settings)
    if wait is not None:
        deadline = time.monotonic() + wait
        if not (report["api"] and report["api"]["answering"]):
            say(f"waiting up to {wait:.0f} s for the API to answer…")
        while not (report["api"] and report["api"]["answering"]):
            if time.monotonic() > deadline:
                say(render(report))
                fail(
                    f"no API answered within {wait:.0f} s; is `spacekontext serve` running "
                    "on this data dir? (see its output)"
                )
            time.sleep(0.5)
            report = gather(settings)
    if as_json:
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(render(report))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
