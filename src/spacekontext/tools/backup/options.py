"""How a backup or a restore runs, apart from what it reads and writes: one set of options that
the command line builds once from the settings and both directions take."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spacekontext.settings import Settings


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    # Where pg_dump/pg_restore live; None looks for the ones matching the server.
    pg_bin_dir: Path | None = None
    # Objects copied (or verified) at once.
    concurrency: int = 8
    # pg_restore's parallel jobs; a backup's single-file dump has none to use.
    jobs: int = 2
    # One line per finished step, for the operator.
    progress: Callable[[str], None] = _quiet

    @classmethod
    def from_settings(cls, settings: Settings, progress: Callable[[str], None]) -> RunOptions:
        # Restore jobs: one per core, at most 4 (docs/backups.md).
        return cls(
            pg_bin_dir=settings.pg_bin_dir,
            jobs=max(1, min(4, os.cpu_count() or 1)),
            progress=progress,
        )
