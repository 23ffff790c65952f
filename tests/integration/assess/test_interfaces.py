"""The assessment as users reach it: `spacekontext assess` (exit codes, formats) and
`GET /api/ops/assess` (admins only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from spacekontext.app import create_app
from spacekontext.cli import cli
from spacekontext.services import Services, build_services
from spacekontext.settings import Settings
from tests.integration.assess.conftest import connect

ADMIN = "ops@example.com"


@pytest.fixture
def planted(fresh_db: str) -> str:
    """One warning (a duplicate index), no critical finding... on a server whose timeouts
    are set, so that the only problems are the planted ones."""
    with connect(fresh_db) as conn:
        database = conn.execute("SELECT quote_ident(current_database())").fetchone()
        assert database is not None
        conn.execute(f"ALTER DATABASE {database[0]} SET statement_timeout = '30s'")
        conn.execute(
            f"ALTER DATABASE {database[0]} SET idle_in_transaction_session_timeout = '1min'"
        )
        conn.execute("CREATE TABLE t (a int, b int)")
        conn.execute("CREATE INDEX t_a_b ON t (a, b)")
        conn.execute("CREATE INDEX t_a ON t (a)")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return fresh_db


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["assess", *args])
    return result.exit_code, result.stdout


def test_cli_json_and_exit_codes(planted: str) -> None:
    code, out = invoke("--database-url", planted, "--schema", "public", "--format", "json")
    assert code == 0
    body = orjson.loads(out)
    assert body["schemas"] == ["public"] and body["failed"] is False
    duplicate = [f for f in body["findings"] if f["check"] == "indexes.duplicate"]
    assert [f["subject"] for f in duplicate] == ["public.t_a"]
    assert duplicate[0]["severity"] == "warning"
    assert duplicate[0]["fix"] == ["DROP INDEX CONCURRENTLY public.t_a;"]
    assert {row["metric"] for row in body["projections"]} >= {"Database connections"}

    code, out = invoke("--database-url", planted, "--schema", "public", "--format", "json",
                       "--fail-on", "warning")  # fmt: skip
    assert code == 1 and orjson.loads(out)["failed"] is True
    code, _ = invoke("--database-url", planted, "--schema", "public", "--fail-on", "critical")
    assert code == 0
    # Another process count: local files behind 2 workers is critical.
    code, _ = invoke("--database-url", planted, "--schema", "public", "--workers", "2",
                     "--fail-on", "critical")  # fmt: skip
    assert code == 1


def test_cli_markdown_has_the_assessments_shape(planted: str) -> None:
    code, out = invoke("--database-url", planted, "--schema", "public")
    assert code == 0
    for heading in (
        "# Database Scalability Assessment",
        "## Executive Summary",
        "| Concern | Verdict | Summary |",
        "## ⚠️ Indexes",
        "## 📊 Scalability Projections",
        "| Metric | Current | Safe Limit | Breaking Point |",
        "**Assumptions:**",
    ):
        assert heading in out, heading
    assert "### ⚠️" in out and "DROP INDEX CONCURRENTLY public.t_a;" in out
    assert "| Indexes | ⚠️ will limit scaling |" in out


def test_cli_refuses_bad_input_precisely(planted: str) -> None:
    code, _ = invoke("--database-url", planted, "--schema", "nope")
    assert code == 2
    code, _ = invoke("--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2
    code, _ = invoke("--database-url", planted, "--format", "xml")
    assert code == 2


@pytest.fixture
async def ops_client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    admin_settings = settings.model_copy(update={"admin_emails": [ADMIN.upper()]})
    built = build_services(admin_settings, services.db)
    app = create_app(admin_settings, services=built)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await built.aclose()


Auth = Callable[[str], dict[str, str]]


async def test_api_admin_gets_the_report(ops_client: httpx.AsyncClient, auth: Auth) -> None:
    response = await ops_client.get(
        "/api/ops/assess", params={"schema": "app"}, headers=auth(ADMIN)
    )
    assert response.status_code == 200, response.text
    report = response.json()["report"]
    assert report["schemas"] == ["app"]
    fk = [f for f in report["findings"] if f["check"] == "indexes.unindexed_fk"]
    assert [f["severity"] for f in fk] == ["ok"]
    markdown = await ops_client.get(
        "/api/ops/assess", params={"schema": "app", "format": "md"}, headers=auth(ADMIN)
    )
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Database Scalability Assessment")


async def test_api_hides_the_report_from_everyone_else(
    ops_client: httpx.AsyncClient, auth: Auth
) -> None:
    anonymous = await ops_client.get("/api/ops/assess")
    assert anonymous.status_code == 401
    user = await ops_client.get("/api/ops/assess", headers=auth("ann@example.com"))
    assert user.status_code == 403 and user.json()["code"] == "admin_only"


async def test_api_unknown_schema_is_a_400(ops_client: httpx.AsyncClient, auth: Auth) -> None:
    response = await ops_client.get(
        "/api/ops/assess", params={"schema": "nope"}, headers=auth(ADMIN)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_schema"
    bad = await ops_client.get("/api/ops/assess", params={"workers": 0}, headers=auth(ADMIN))
    assert bad.status_code == 422
