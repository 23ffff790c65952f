"""Calls to the services the web client's routes reach (the AI renderer, Sketchfab, an external
block store): one HTTP client per upstream, with its base URL from the settings, no redirects
followed, a timeout, a size cap on what is read, and failures mapped to our errors — never a
500: the upstream's own error is a 502 (its status in `details`), its overload a 503, its
silence a 504, and an unreachable upstream a 503."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from spacekontext.errors import TooLarge, Unavailable, UpstreamFailed, UpstreamTimeout

DEFAULT_TIMEOUT_S = 20.0
MAX_ERROR_EXCERPT = 300


class Upstream:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False
        )

    def _target(self, url: str) -> str:
        """`url`: a path under the base URL, or an absolute URL the caller has vetted."""
        return url if url.startswith(("http://", "https://")) else self.base_url + url

    @contextlib.contextmanager
    def _transport_errors(self) -> Iterator[None]:
        """A timeout is a 504, any other failure to talk to the upstream a 503."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"{self.name} did not answer in time", details={"upstream": self.name}
            ) from exc
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"{self.name} is unreachable",
                code="upstream_unreachable",
                details={"upstream": self.name, "reason": type(exc).__name__},
                headers={"Retry-After": "30"},
            ) from exc

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        with self._transport_errors():
            return await self._http.request(method, self._target(url), **kwargs)

    async def read_capped(self, url: str, *, max_bytes: int) -> httpx.Response:
        """GET `url`, reading at most `max_bytes` of its body (413 beyond)."""
        with self._transport_errors():
            async with self._http.stream("GET", self._target(url)) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise TooLarge(
                            f"the file from {self.name} exceeds {max_bytes} bytes",
                            code="upstream_too_large",
                            details={"limitBytes": max_bytes},
                        )
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))

    def failure(self, response: httpx.Response, message: str) -> UpstreamFailed | Unavailable:
        """The error for an upstream answer that is not a success."""
        details = {
            "upstream": self.name,
            "upstreamStatus": response.status_code,
            "upstreamBody": response.text[:MAX_ERROR_EXCERPT],
        }
        if response.status_code in (429, 503):
            retry = response.headers.get("retry-after", "30")
            return Unavailable(
                message,
                code="upstream_busy",
                details=details,
                headers={"Retry-After": retry if retry.isdigit() else "30"},
            )
        return UpstreamFailed(message, details=details)

    def success_json(
        self, response: httpx.Response, message: str, not_json: Exception | None = None
    ) -> Any:
        """The JSON body of a successful answer: `failure` for any other answer, `not_json`
        (by default UpstreamFailed with `message`) for a body that is not JSON."""
        if not response.is_success:
            raise self.failure(response, message)
        try:
            return response.json()
        except ValueError as exc:
            raise not_json or UpstreamFailed(message, details={"upstream": self.name}) from exc

    async def aclose(self) -> None:
        await self._http.aclose()


def not_configured(setting: str, service: str) -> Unavailable:
    """503 naming the missing setting: the route exists, its upstream is not set up."""
    return Unavailable(
        f"{setting} not configured",
        code="not_configured",
        details={"setting": setting, "service": service},
    )
