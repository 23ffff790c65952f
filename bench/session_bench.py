"""The cost of reading a request's session credential on the hot path (auth/session.py), for a
bearer token and for the session cookie among a browser's usual headers.

    .venv/bin/python bench/session_bench.py
"""

from __future__ import annotations

import timeit

from spacekontext.auth.session import SessionPolicy

TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6Imluc18xIn0." + "x" * 600 + ".sig"
BROWSER = [
    (b"host", b"app.example.com"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"),
    (b"accept", b"*/*"),
    (b"accept-language", b"en-GB,en;q=0.9"),
    (b"accept-encoding", b"gzip, deflate, br"),
    (b"referer", b"https://app.example.com/projects/abc"),
    (b"sec-fetch-mode", b"cors"),
]


def scope(headers: list[tuple[bytes, bytes]], method: str = "GET") -> dict[str, object]:
    return {"type": "http", "method": method, "scheme": "https", "headers": headers}


def main() -> None:
    policy = SessionPolicy(
        publishable_key="pk_live_Y2xlcmsuYXBwLmV4YW1wbGUuY29tJA",
        browser_origins={"https://app.example.com"},
    )
    cases = {
        "bearer": scope([*BROWSER, (b"authorization", f"Bearer {TOKEN}".encode())]),
        "cookie (GET)": scope(
            [*BROWSER, (b"cookie", f"__client_uat=1767000000; __session={TOKEN}".encode())]
        ),
        "cookie (POST, origin checked)": scope(
            [
                *BROWSER,
                (b"origin", b"https://app.example.com"),
                (b"cookie", f"__client_uat=1767000000; __session={TOKEN}".encode()),
            ],
            method="POST",
        ),
    }
    for name, request in cases.items():
        number = 100_000
        best = min(timeit.repeat(lambda r=request: policy.credential(r), number=number, repeat=5))
        print(f"{name:32s} {best / number * 1e6:6.2f} µs per request")


if __name__ == "__main__":
    main()
