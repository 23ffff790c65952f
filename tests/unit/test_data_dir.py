"""The data dir does not depend on where the command is typed: SPACEKONTEXT_HOME when set,
else `.spacekontext` at the root of the checkout the code runs from."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from spacekontext.settings import Settings, checkout_root
from tests.e2e.serving import BIN

ROOT = Path(__file__).resolve().parents[2]


def test_the_checkout_decides_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SPACEKONTEXT_HOME", raising=False)
    assert checkout_root() == ROOT
    seen = set()
    for where in (ROOT, ROOT / "src" / "spacekontext" / "db", tmp_path, Path("/")):
        monkeypatch.chdir(where)
        settings = Settings()
        seen.add(settings.data_dir)
        assert settings.data_dir_source == "the checkout"
    assert seen == {ROOT / ".spacekontext"}


def test_spacekontext_home_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPACEKONTEXT_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(ROOT)
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.data_dir_source == "SPACEKONTEXT_HOME"


def test_status_names_the_same_data_dir_from_anywhere(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SPACEKONTEXT_HOME", "DATABASE_URL")}
    found = set()
    for where in (ROOT, ROOT / "docs", tmp_path):
        done = subprocess.run(
            [str(BIN), "status", "--json"],
            cwd=where, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        report = json.loads(done.stdout)
        found.add((report["dataDir"], report["dataDirFrom"]))
    assert found == {(str(ROOT / ".spacekontext"), "the checkout")}
    assert not (tmp_path / ".spacekontext").exists()
