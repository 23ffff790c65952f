from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from spacekontext.db.urls import async_url, libpq_dsn, with_database
from spacekontext.ids import is_valid_id, new_id
from spacekontext.settings import Settings


def test_ids_are_unique_url_safe_and_time_ordered() -> None:
    first = [new_id() for _ in range(1000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 1000
    assert all(is_valid_id(i) for i in first)
    assert all(c.isdigit() or c.islower() for i in first for c in i)
    assert max(first) < later
    assert not is_valid_id("../etc/passwd")


def test_settings_parse_comma_lists_and_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_READ_URLS", "postgresql://r1/db, postgresql://r2/db")
    monkeypatch.setenv("ADMIN_EMAILS", "a@b.c")
    settings = Settings()
    assert settings.database_read_urls == ["postgresql://r1/db", "postgresql://r2/db"]
    assert settings.admin_emails == ["a@b.c"]
    with pytest.raises(ValidationError):
        Settings(port=70000)
    with pytest.raises(ValidationError):
        Settings(db_pool_size=0)


def test_database_urls() -> None:
    assert (
        async_url("postgresql://u:p@h:5432/d?sslmode=require").render_as_string(hide_password=False)
        == "postgresql+asyncpg://u:p@h:5432/d?ssl=require"
    )
    assert libpq_dsn("postgresql+asyncpg://u@/d?host=/tmp/x") == "postgresql://u@/d?host=%2Ftmp%2Fx"
    assert with_database("postgresql://u@h/postgres", "other") == "postgresql://u@h/other"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://u@h/d")
