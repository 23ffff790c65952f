"""`spacekontext seed`: progress display and summary around `writer.run_seed`."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.seed.writer import (
    ObjectSinkFactory,
    SeedPlan,
    SeedReport,
    expected_rows,
    run_seed,
)


def seed_with_progress(
    console: Console,
    url: str,
    plan: SeedPlan,
    *,
    objects: ObjectSinkFactory | None,
    workers: int | None,
    reset_first: bool,
) -> SeedReport:
    expected = expected_rows(plan)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        users = progress.add_task("users + projects", total=1)
        projects = progress.add_task("project content", total=expected["projects"])

        def advance(stage: str, count: int) -> None:
            if stage == "users":
                progress.update(users, completed=1)
            else:
                progress.advance(projects, count)

        return run_seed(
            libpq_dsn(url),
            plan,
            objects=objects,
            workers=workers,
            progress=advance,
            reset_first=reset_first,
        )


def summary_table(report: SeedReport) -> Table:
    table = Table(title=f"seeded in {report.elapsed_s:.1f} s")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    table.add_row("documents", f"{report.document_bytes / 1e6:,.1f} MB")
    if report.objects_stored:
        table.add_row("objects", f"{report.objects_stored:,} ({report.object_bytes / 1e6:.1f} MB)")
    sizes = report.floorplan_sizes
    if sizes:
        ordered = sorted(sizes)
        kb = [
            ordered[0] / 1024,
            statistics.median(ordered) / 1024,
            statistics.fmean(ordered) / 1024,
            ordered[int(0.95 * (len(ordered) - 1))] / 1024,
            ordered[-1] / 1024,
        ]
        table.add_row(
            "floorplan KB",
            f"min {kb[0]:.0f} · median {kb[1]:.0f} · mean {kb[2]:.0f} · p95 {kb[3]:.0f}"
            f" · max {kb[4]:.0f}",
        )
    return table
