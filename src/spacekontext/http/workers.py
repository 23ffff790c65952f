"""The worker processes of `serve --workers N`, each accepting on a listening socket of its own.

uvicorn's supervisor hands every worker the one listening socket. Each worker's event loop then
accepts every pending connection when it wakes, so a burst of new connections lands mostly on
whichever worker woke first and stays there: one worker serves most of the load while the other
idles, and its queue is the latency tail (docs/benchmarks.md, "The uncached tail against the
bare route"). Here each worker binds its own socket on the address with `SO_REUSEPORT`, and the
kernel spreads incoming connections over the listening sockets by their address hash.

Only Linux spreads connections that way (elsewhere `SO_REUSEPORT` does not balance, or is
missing): `REUSE_PORT_BALANCES` tells the caller whether to use this module or the shared
socket of uvicorn's supervisor."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from types import FrameType
from typing import Any

import uvicorn

REUSE_PORT_BALANCES = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")

# The supervisor's own socket is bound once, never listens: it keeps the port reserved while
# workers come and go, and never receives a connection (only listening sockets are in the
# kernel's group that connections are spread over).
Address = tuple[Any, ...]

# A worker that dies this soon after it started is restarted only after a pause, growing up to
# the cap, so that a worker failing at once (a database gone, say) does not spin the machine.
QUICK_DEATH_S = 10.0
RESTART_PAUSE_S = 0.5
RESTART_PAUSE_CAP_S = 10.0
# How long a worker gets to finish its requests after SIGTERM before it is killed.
STOP_TIMEOUT_S = 30.0

log = logging.getLogger("spacekontext.workers")
_spawn = multiprocessing.get_context("spawn")


class WorkerStartupError(RuntimeError):
    """A worker exited before it ever served: the app cannot start as configured."""


def reserve(family: int, address: Address, *, strict: bool) -> socket.socket:
    """The supervisor's socket on `address`: bound with SO_REUSEPORT so that the workers can
    bind beside it, and never listening. `strict` leaves out SO_REUSEADDR, so that nobody can
    bind the port without SO_REUSEPORT while it is held (a second `serve` starting meanwhile
    fails its own port check); without SO_REUSEADDR the bind fails, though, while connections
    of a server that did not use SO_REUSEPORT linger in TIME_WAIT, hence the choice.
    Raises OSError when the port cannot be bound."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if not strict:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _listening_socket(family: int, address: Address) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to serve (sent to it pickled): the app as an import string,
    where to listen, and the uvicorn settings of `serve`."""

    app: str
    family: int
    address: Address
    factory: bool = False
    uvicorn_options: dict[str, Any] = field(default_factory=dict)


class _ReportingServer(uvicorn.Server):
    """Tells the supervisor once the app has started and the socket takes connections."""

    def __init__(self, config: uvicorn.Config, ready: Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._ready.set()


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _worker_main(spec: WorkerSpec, ready: Event) -> None:
    """A worker process: bind its own listening socket, serve until SIGTERM/SIGINT."""
    # uvicorn shuts down gracefully on these, then raises the signal again for the handler it
    # found: make that a normal exit (code 0), not a death by signal the supervisor would log.
    signal.signal(signal.SIGTERM, _exit_normally)
    signal.signal(signal.SIGINT, _exit_normally)
    host, port = spec.address[0], spec.address[1]
    config = uvicorn.Config(
        spec.app, factory=spec.factory, host=host, port=port, **spec.uvicorn_options
    )
    config.configure_logging()
    sock = _listening_socket(spec.family, spec.address)
    _ReportingServer(config, ready).run(sockets=[sock])


@dataclass
class _Worker:
    process: SpawnProcess
    ready: Event
    started_at: float
    ever_ready: bool = False


class Supervisor:
    """Starts `count` workers, restarts one that dies, and stops them all on SIGTERM/SIGINT.

    `run()` returns normally after a stop signal once the workers have finished (so that the
    caller's cleanup runs), calls `on_ready` once when all workers first serve, and raises
    WorkerStartupError when a worker of the first start exits before it served."""

    def __init__(
        self, spec: WorkerSpec, count: int, *, on_ready: Callable[[], None] | None = None
    ) -> None:
        self.spec = spec
        self.count = count
        self.on_ready = on_ready
        self.workers: list[_Worker | None] = [None] * count
        self._stop = threading.Event()
        self._pause = [0.0] * count
        self._restart_at = [0.0] * count
        self._announced = False

    def stop(self) -> None:
        self._stop.set()

    def _start(self, slot: int) -> None:
        ready = _spawn.Event()
        process = _spawn.Process(
            target=_worker_main, args=(self.spec, ready), name=f"worker-{slot}", daemon=False
        )
        process.start()
        self.workers[slot] = _Worker(process, ready, time.monotonic())

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def run(self) -> None:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for slot in range(self.count):
                self._start(slot)
            while not self._stop.wait(0.2):
                self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _watch(self) -> None:
        now = time.monotonic()
        for slot, worker in enumerate(self.workers):
            if worker is None:
                if now >= self._restart_at[slot]:
                    self._start(slot)
                continue
            if not worker.ever_ready and worker.ready.is_set():
                worker.ever_ready = True
            if worker.process.is_alive():
                continue
            worker.process.join()
            code = worker.process.exitcode
            if not worker.ever_ready and not self._announced:
                raise WorkerStartupError(
                    f"worker process {worker.process.pid} exited with code {code} before it "
                    "served; its log lines above tell why"
                )
            lived = now - worker.started_at
            self._pause[slot] = (
                min(max(self._pause[slot] * 2, RESTART_PAUSE_S), RESTART_PAUSE_CAP_S)
                if lived < QUICK_DEATH_S
                else 0.0
            )
            log.warning(
                "worker process %s died (exit code %s) after %.0f s; restarting it%s",
                worker.process.pid,
                code,
                lived,
                f" in {self._pause[slot]:.1f} s" if self._pause[slot] else "",
            )
            self.workers[slot] = None
            self._restart_at[slot] = now + self._pause[slot]
        if not self._announced and all(w is not None and w.ever_ready for w in self.workers):
            self._announced = True
            if self.on_ready is not None:
                self.on_ready()

    def _stop_all(self) -> None:
        running = [w for w in self.workers if w is not None and w.process.is_alive()]
        for worker in running:
            with contextlib.suppress(ProcessLookupError):
                assert worker.process.pid is not None
                os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for worker in running:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                log.warning("worker process %s did not stop in time; killed", worker.process.pid)
                worker.process.kill()
                worker.process.join()
