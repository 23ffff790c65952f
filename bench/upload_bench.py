"""Upload benchmark: peak RSS growth of the API process while a large file streams through it,
and throughput through the API vs a direct presigned PUT, against a local S3-compatible server.

    .venv/bin/python bench/upload_bench.py --size-mb 500

Starts moto_server and `spacekontext serve` (embedded PostgreSQL, STORAGE_BACKEND=s3) on free
loopback ports in a temporary home, and stops them at the end."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import psutil

BIN = Path(sys.executable).parent
CHUNK = 1024 * 1024
BOUNDARY = "benchboundary0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def payload(size: int) -> Iterator[bytes]:
    block = b"%PDF-1.7\n" + secrets.token_bytes(CHUNK - 9)
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


def form(project_id: str, size: int, *, file_first: bool) -> tuple[Iterator[bytes], int]:
    fields = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="projectId"\r\n\r\n{project_id}\r\n'
    ).encode()
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        if not file_first:
            yield fields
        yield head
        yield from payload(size)
        yield b"\r\n"
        if file_first:
            yield fields
        yield tail

    return body(), len(fields) + len(head) + size + 2 + len(tail)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024

    home = Path(tempfile.mkdtemp(prefix="skbench-"))
    s3_port, api_port = free_port(), free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    env = os.environ | {
        "SPACEKONTEXT_HOME": str(home),
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3_url,
        "S3_BUCKET": "bench",
        "S3_ACCESS_KEY_ID": "bench",
        "S3_SECRET_ACCESS_KEY": "bench",
        "PUBLIC_BASE_URL": api_url,
        "MAX_UPLOAD_BYTES": str(size + 1024 * 1024),
        "LOG_LEVEL": "warning",
    }
    env.pop("DATABASE_URL", None)
    moto = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = None
    try:
        wait_http(s3_url + "/moto-api/")
        boto3.client(
            "s3",
            endpoint_url=s3_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        api = subprocess.Popen(
            [str(BIN / "spacekontext"), "serve", "--port", str(api_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(api_url + "/healthz", timeout_s=120)
        token = subprocess.run(
            [str(BIN / "spacekontext"), "token", "create", "--email", "bench@example.com"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=api_url, headers=headers, timeout=600) as http:
            project = http.post("/api/projects", json={"name": "bench"}).json()["project"]
            print(f"file: {args.size_mb} MB; API pid {api.pid}; moto pid {moto.pid}")
            for file_first in (True, False):
                order = "file first (spooled)" if file_first else "fields first (streamed)"
                for _ in range(args.runs):
                    body, length = form(project["id"], size, file_first=file_first)
                    with RssSampler(api.pid) as rss:
                        started = time.perf_counter()
                        response = http.post(
                            "/api/files/upload",
                            content=body,
                            headers={
                                "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                                "content-length": str(length),
                            },
                        )
                        elapsed = time.perf_counter() - started
                    assert response.status_code == 201, response.text
                    growth = (rss.peak - rss.baseline) / 2**20
                    print(
                        f"API upload, {order}: {args.size_mb / elapsed:.1f} MB/s, "
                        f"RSS {rss.baseline / 2**20:.0f} MB -> peak {rss.peak / 2**20:.0f} MB "
                        f"(growth {growth:.1f} MB)"
                    )
                    http.delete(f"/api/files/{response.json()['file']['id']}")
            for _ in range(args.runs):
                started = time.perf_counter()
                presigned = http.post(
                    "/api/files/presign",
                    json={"projectId": project["id"], "filename": "big.pdf", "size": size},
                ).json()
                with httpx.Client(timeout=600) as direct:
                    put = direct.put(
                        presigned["uploadUrl"],
                        content=payload(size),
                        headers=presigned["headers"] | {"content-length": str(size)},
                    )
                assert put.status_code == 200, put.text
                done = http.post(f"/api/files/{presigned['fileId']}/complete")
                assert done.status_code == 200, done.text
                elapsed = time.perf_counter() - started
                print(f"direct presigned PUT + complete: {args.size_mb / elapsed:.1f} MB/s")
                http.delete(f"/api/files/{presigned['fileId']}")
    finally:
        for process in (api, moto):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
