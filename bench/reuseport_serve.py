"""An ASGI app under the supervisor of `spacekontext serve --workers N`: each worker on a
listening socket of its own (SO_REUSEPORT), so that a yardstick such as `bare_app.py` can be
measured the way the app is served, next to `uvicorn --workers N` (one shared socket).

    python bench/reuseport_serve.py bench.bare_app:app --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spacekontext.http.workers import Supervisor, WorkerSpec, reserve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", help="module:attribute of the ASGI app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    held = reserve(socket.AF_INET, (args.host, args.port), strict=False)
    spec = WorkerSpec(
        args.app,
        held.family,
        held.getsockname(),
        uvicorn_options={"access_log": False, "log_level": "warning"},
    )
    try:
        Supervisor(spec, args.workers).run()
    finally:
        held.close()


if __name__ == "__main__":
    main()
