"""/docs and /redoc render in a real Chromium with the network cut: every request the pages
make goes to this server (anything else is aborted and counted), and Swagger UI's "Authorize"
takes a dev token with which "Try it out" gets the caller's projects."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.serving import Serving, cli, environment, free_port, serving

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Serving, str]]:
    home = Path(tempfile.mkdtemp(prefix="sk-docs-"))
    env = environment(home, free_port())
    try:
        with serving(env, home / "serve.log") as running:
            token = cli("token", "create", "--email", "docs@example.com", env=env).stdout.strip()
            yield running, token
    finally:
        shutil.rmtree(home, ignore_errors=True)


def cut_network(page: Page, base: str) -> list[str]:
    """Let requests to the server through; abort and record every other one."""
    elsewhere: list[str] = []

    def decide(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", decide)
    return elsewhere


def test_swagger_ui_renders_offline_and_authorizes(page: Page, server: tuple[Serving, str]) -> None:
    running, token = server
    elsewhere = cut_network(page, running.base)
    page.goto(f"{running.base}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Space Kontext API")
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux input[type=text]").first.fill(token)
    page.locator(".modal-ux button.authorize").first.click()
    expect(page.locator(".modal-ux").get_by_text("Authorized", exact=True)).to_be_visible()
    page.locator(".modal-ux button.btn-done").first.click()
    operation = page.locator("#operations-projects-list_projects_api_projects_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text(
        "200"
    )
    expect(operation.locator(".live-responses-table")).to_contain_text('"projects"')
    assert elsewhere == []


def test_redoc_renders_offline(page: Page, server: tuple[Serving, str]) -> None:
    running, _token = server
    elsewhere = cut_network(page, running.base)
    page.goto(f"{running.base}/redoc")
    expect(page.locator("h1").first).to_contain_text("Space Kontext API")
    expect(page.get_by_text("bearerAuth").first).to_be_attached()
    assert elsewhere == []


def test_start_page_links_work(page: Page, server: tuple[Serving, str]) -> None:
    running, _token = server
    elsewhere = cut_network(page, running.base)
    page.goto(running.base + "/")
    expect(page.locator("h1")).to_have_text("Space Kontext API")
    page.get_by_role("link", name="API docs", exact=True).click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Space Kontext API")
    assert elsewhere == []
