"""The console in a real browser: Playwright drives Debian's Chromium against `spacekontext
serve` in a subprocess (embedded PostgreSQL, one server for the module). Each journey a person
takes, an axe-core scan of every page (no serious or critical violation), and screenshots at
1280 px and 390 px under test-artifacts/console/."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ezdxf
import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from spacekontext.auth.tokens import DevTokens
from tests.documents.conftest import square_room
from tests.e2e.test_serve import BIN, environment, free_port, wait_ready
from tests.unit import dxf_samples

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
ADMIN = "admin@example.com"
MAX_UPLOAD_BYTES = 256 * 1024
PDF = b"%PDF-1.4\n% a glass box on a meadow\n%%EOF\n"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Server:
    base: str
    home: Path

    def token(self, email: str) -> str:
        return DevTokens.from_data_dir(self.home).mint(email)

    def api(self, email: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.token(email)}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    home = Path(tempfile.mkdtemp(prefix="sk-console-"))
    port = free_port()
    env = environment(home, port) | {
        "ADMIN_EMAILS": ADMIN,
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "RATE_LIMIT_ENABLED": "false",
    }
    base = f"http://127.0.0.1:{port}"
    log = home / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_ready(base, proc)
        running = Server(base, home)
        add_blocks(running)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(home, ignore_errors=True)


def block_dxf(width_mm: float, depth_mm: float) -> bytes:
    doc = ezdxf.new("R2010", units=4)
    block = doc.blocks.new("BLOCK")
    block.add_lwpolyline([(0, 0), (width_mm, 0), (width_mm, depth_mm), (0, depth_mm)], close=True)
    doc.modelspace().add_blockref("BLOCK", (0, 0))
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def add_blocks(server: Server) -> None:
    """A small library, added through the API as an administrator."""
    blocks = [
        ("Lounge chair", "furniture", "seating", 630, 580),
        ("Dining table", "furniture", "tables", 1800, 900),
        ("Bathtub", "sanitary", None, 1700, 750),
    ]
    with server.api(ADMIN) as api:
        for name, category, subcategory, width, depth in blocks:
            response = api.post(
                "/api/cad-blocks",
                data={"name": name, "category": category, "subcategory": subcategory or ""},
                files={"file": (f"{name}.dxf", block_dxf(width, depth), "image/vnd.dxf")},
            )
            assert response.status_code == 201, response.text


def sign_in(page: Page, server: Server, email: str) -> None:
    page.goto(f"{server.base}/app")
    expect(page).to_have_url(f"{server.base}/app/sign-in?reason=missing&next=/app")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Sign in as this address").click()
    expect(page).to_have_url(f"{server.base}/app")
    expect(page.get_by_role("heading", name="My projects")).to_be_visible()
    page.wait_for_load_state("load")  # the page's scripts are listening


def check_page(page: Page, name: str) -> None:
    """No serious or critical axe-core violation; screenshots at desktop and phone width, and
    nothing wider than the phone's screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {name}:\n" + "\n".join(bad)
    page.screenshot(path=str(ARTIFACTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    assert overflow <= 1, f"{name} is {overflow}px wider than a 390px phone"


def wait_for_image(image: Locator, timeout_s: float = 10) -> None:
    """Until the image has loaded and decoded (a broken one never gets a width). Polled from
    here: the pages' CSP forbids the string evaluation of `page.wait_for_function`."""
    deadline = time.monotonic() + timeout_s
    while not image.evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, "the image did not load"
        time.sleep(0.1)


def accept(dialog: Dialog) -> None:
    dialog.accept()


def project_id_from(page: Page, server: Server) -> str:
    prefix = f"{server.base}/app/projects/"
    assert page.url.startswith(prefix), page.url
    return page.url[len(prefix) :].split("#")[0].split("?")[0]


def test_sign_in_create_project_and_upload(page: Page, server: Server) -> None:
    sign_in(page, server, "ann@example.com")
    expect(page.get_by_text("You have no projects yet")).to_be_visible()
    check_page(page, "projects-empty")

    page.get_by_label("New project").fill("Farnsworth House")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Farnsworth House", level=1)).to_be_visible()
    project = project_id_from(page, server)

    # Upload: chosen through the file input (the drop zone's own control); listed after.
    page.locator("#upload-input").set_input_files(
        files=[{"name": "brief.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    expect(page.locator("#file-table")).to_contain_text("brief.pdf")
    expect(page.locator("#upload-status")).to_contain_text("Uploaded “brief.pdf”")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download brief.pdf").click()
    assert download.value.suggested_filename == "brief.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    # Over the limit: said in words, and nothing is stored.
    page.locator("#upload-input").set_input_files(
        files=[
            {
                "name": "huge.pdf",
                "mimeType": "application/pdf",
                "buffer": PDF + b"0" * MAX_UPLOAD_BYTES,
            }
        ]
    )
    expect(page.locator("#upload-status")).to_contain_text("larger than the limit of 256 KB")
    with server.api("ann@example.com") as api:
        stored = api.get(f"/api/projects/{project}/files").json()["files"]
    assert [f["originalName"] for f in stored] == ["brief.pdf"]
    # The local store signs URLs for this origin: the browser uploaded straight to it.
    assert stored[0]["metadata"]["upload"] == "direct"
    check_page(page, "project-files")

    # Back on the grid: the card with its counts.
    page.get_by_role("link", name="My projects").first.click()
    expect(page.locator(".card")).to_contain_text("1 file")

    # Delete, with confirmation: gone from the page and from the store's listing.
    page.locator(".card-link").first.click()
    page.once("dialog", accept)
    page.get_by_role("button", name="Delete brief.pdf").click()
    expect(page.locator("#upload-status")).to_contain_text("Deleted “brief.pdf”")
    expect(page.locator("#file-table tbody tr")).to_have_count(0)
    with server.api("ann@example.com") as api:
        assert api.get(f"/api/projects/{project}/files").json()["files"] == []


def test_dxf_import_shows_preview_and_area_and_a_corrupt_file_says_why(
    page: Page, server: Server
) -> None:
    with server.api("dora@example.com") as api:
        project = api.post("/api/projects", json={"name": "Imports"}).json()["project"]["id"]
    sign_in(page, server, "dora@example.com")
    page.goto(f"{server.base}/app/projects/{project}")

    page.get_by_label("DXF file").set_input_files(
        files=[{"name": "bad.dxf", "mimeType": "image/vnd.dxf", "buffer": b"not a drawing"}]
    )
    page.get_by_role("button", name="Import").click()
    error = page.locator("#dxf-result .notice.error")
    expect(error).to_contain_text("The DXF was not imported:")
    assert len(error.inner_text()) > len("The DXF was not imported: ") + 5
    with server.api("dora@example.com") as api:
        assert api.get(f"/api/projects/{project}/floorplans").json()["floorplans"] == []

    page.get_by_label("DXF file").set_input_files(
        files=[{"name": "ground.dxf", "mimeType": "image/vnd.dxf", "buffer": dxf_samples.aia_mm()}]
    )
    page.get_by_role("button", name="Import").click()
    result = page.locator("#dxf-result .notice.ok")
    expect(result).to_contain_text("7 walls, 2 rooms, area 35.0 m²")
    preview = page.locator("#dxf-result img")
    expect(preview).to_be_visible()
    wait_for_image(preview)

    page.reload()
    level = page.locator("article.level").first
    expect(level.locator("[data-area]")).to_have_text("35.0 m²")
    expect(level.locator(".plan-view svg")).to_be_visible()
    before = level.locator(".plan-view svg").get_attribute("viewBox")
    level.get_by_role("button", name="Zoom in").click()
    assert level.locator(".plan-view svg").get_attribute("viewBox") != before
    check_page(page, "project-levels")


def test_site_sun_path_and_version_restore(page: Page, server: Server) -> None:
    with server.api("eve@example.com") as api:
        project = api.post("/api/projects", json={"name": "Sunny"}).json()["project"]["id"]
        site = api.post(
            "/api/site-analysis",
            json={
                "projectId": project,
                "coordinates": {"lat": 51.5, "lng": -0.12},
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [
                        [[-0.121, 51.499], [-0.119, 51.499], [-0.119, 51.501], [-0.121, 51.499]]
                    ],
                },
            },
        )
        assert site.status_code == 200, site.text
        plan = api.post(
            f"/api/projects/{project}/floorplans",
            json={"name": "Plan A", "level": 0, "data": square_room(4.0)},
        ).json()["floorplan"]
        saved = api.patch(f"/api/floorplans/{plan['id']}", json={"name": "Plan B"})
        assert saved.status_code == 200, saved.text
    sign_in(page, server, "eve@example.com")
    page.goto(f"{server.base}/app/projects/{project}")

    diagram = page.locator("svg.sunpath")
    expect(diagram).to_be_visible()
    assert diagram.locator("polyline").count() >= 4
    expect(page.locator("#sun-times")).to_contain_text("Sunrise")
    expect(page.locator("[data-site-area]")).to_contain_text("m²")
    page.get_by_label("Sun path on").fill("2026-06-21")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server.base}/app/projects/{project}?date=2026-06-21#site")
    expect(page.locator("#sun-times")).to_contain_text("04:4")  # London, midsummer sunrise
    check_page(page, "project-site")

    page.get_by_text("Version history").click()
    page.once("dialog", accept)
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.locator("#plan-" + plan["id"])).to_have_text("Level 0: Plan A")
    with server.api("eve@example.com") as api:
        restored = api.get(f"/api/floorplans/{plan['id']}").json()["floorplan"]
    assert (restored["name"], restored["version"]) == ("Plan A", 3)


def test_search_with_a_typo_rename_and_delete(page: Page, server: Server) -> None:
    with server.api("fay@example.com") as api:
        for name in ("Kitchen renovation", "Garden shed"):
            api.post("/api/projects", json={"name": name})
    sign_in(page, server, "fay@example.com")
    page.get_by_label("Search projects").fill("kitchn")
    live = page.locator("#live-results")
    expect(live.get_by_role("link")).to_have_count(1)
    expect(live.locator("mark")).to_have_count(0)  # a near miss: found, nothing to mark
    expect(live).to_contain_text("Kitchen renovation")
    page.get_by_label("Search projects").fill("kitchen")
    expect(live.locator("mark")).to_have_text("Kitchen")
    check_page(page, "projects-search")

    page.once("dialog", lambda dialog: dialog.accept("Garden pavilion"))
    page.get_by_role("button", name="Rename Garden shed").click()
    expect(page.locator("#project-status")).to_contain_text("Renamed to “Garden pavilion”")
    page.once("dialog", accept)
    page.get_by_role("button", name="Delete Garden pavilion").click()
    expect(page.locator("#project-status")).to_contain_text("Deleted “Garden pavilion”")
    expect(page.locator(".card")).to_have_count(1)


def test_second_user_never_sees_the_first_users_projects(browser: Browser, server: Server) -> None:
    with server.api("gus@example.com") as api:
        project = api.post("/api/projects", json={"name": "Gus private villa"}).json()["project"]
        plan = api.post(
            f"/api/projects/{project['id']}/floorplans",
            json={"name": "Secret plan", "level": 0, "data": square_room(3.0)},
        ).json()["floorplan"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        sign_in(page, server, "hal@example.com")
        expect(page.locator("main")).not_to_contain_text("Gus private villa")
        page.get_by_label("Search projects").fill("villa")
        expect(page.locator("#live-results")).to_contain_text("No project matches")
        response = page.goto(f"{server.base}/app/projects/{project['id']}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("Gus private villa")
        check_page(page, "not-found")
        preview = page.goto(f"{server.base}/app/previews/{plan['id']}.svg")
        assert preview is not None and preview.status == 404
        ops = page.goto(f"{server.base}/app/ops")
        assert ops is not None and ops.status == 403  # admin-only, as the API answers
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    finally:
        context.close()


def test_expired_session_goes_to_sign_in(browser: Browser, server: Server) -> None:
    context = browser.new_context(viewport=DESKTOP)
    expired = DevTokens.from_data_dir(server.home).mint("ivy@example.com", ttl_s=-3600)
    context.add_cookies([{"name": "__session", "value": expired, "url": server.base}])
    page = context.new_page()
    try:
        page.goto(f"{server.base}/app/blocks")
        expect(page).to_have_url(f"{server.base}/app/sign-in?reason=expired&next=/app/blocks")
        expect(page.get_by_text("Your session has expired")).to_be_visible()
        check_page(page, "sign-in-expired")
    finally:
        context.close()


def test_block_library(page: Page, server: Server) -> None:
    sign_in(page, server, "jo@example.com")
    page.get_by_role("link", name="Block library").click()
    expect(page.get_by_role("heading", name="Block library")).to_be_visible()
    cards = page.locator(".blocks .card")
    assert cards.count() == 3
    for index in range(3):
        wait_for_image(page.locator(".blocks img").nth(index))
    check_page(page, "blocks")
    page.get_by_label("Search blocks").fill("chai")
    page.get_by_role("button", name="Show").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Lounge chair")
    with page.expect_download() as download:
        cards.first.get_by_role("link", name="Download DXF").click()
    assert download.value.suggested_filename.endswith(".dxf")


def test_admin_sees_a_request_just_made_counted(page: Page, server: Server) -> None:
    sign_in(page, server, ADMIN)
    with server.api(ADMIN) as api:
        assert api.get("/api/cad-blocks", params={"category": "seating"}).status_code == 200
    page.get_by_role("link", name="Operations").click()
    row = page.locator('#routes tr[data-route="GET /api/cad-blocks"]')
    expect(row).to_be_visible()
    assert int(row.locator("[data-count]").inner_text()) >= 1
    expect(page.locator("#assess")).to_contain_text("Assessed", timeout=30_000)
    expect(page.locator("#refreshed")).to_contain_text("figures as of", timeout=15_000)
    # Two refreshes later the rates are measured: the chart and the routes' sparklines.
    expect(page.locator("#routes [data-trend] svg").first).to_be_visible(timeout=20_000)
    expect(page.locator("#rate-chart polyline")).to_have_count(1)
    check_page(page, "ops")
