"""Schemathesis over every operation of the OpenAPI document against a real `spacekontext
serve`: no server error, and every answer conforms to the documented statuses, content types,
headers and schemas. Bounded to about a minute; `make fuzz` runs the long version."""

from __future__ import annotations

import pytest

from tests.http.fuzzing import run_schemathesis, served_api

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_schemathesis_finds_nothing() -> None:
    with served_api() as (base, token):
        result = run_schemathesis(base, token, max_examples=5, max_time_s=60, seed=15)
    assert result.operations >= 50, result.output[-3000:]
    assert result.cases > 1000, result.output[-3000:]
    assert result.returncode == 0 and result.failures == 0, result.output[-6000:]
