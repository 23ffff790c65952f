"""Databases the assessment has never seen: ours, migrated, and one made by another tool
(Prisma's style: quoted CamelCase names, no indexes on foreign keys by default)."""

from __future__ import annotations

from collections.abc import Callable

from spacekontext.db.migrate import upgrade
from spacekontext.migrations.models import Base
from spacekontext.tools.assess import Severity, assess
from tests.integration.assess.conftest import apply_fix, connect, passed, problems, run, shape


def test_our_migrated_schema_has_no_false_positives(
    create_database: Callable[[], str], statements_preloaded: bool
) -> None:
    url = create_database()
    upgrade(url)
    if statements_preloaded:
        with connect(url) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    report = assess(url, shape(url, is_app_database=True), schema="app")
    expected = set() if statements_preloaded else {"queries.statements"}
    assert {f.check for f in problems(report)} == expected, [f.title for f in problems(report)]
    for check in ("indexes.unindexed_fk", "indexes.duplicate", "indexes.invalid"):
        assert passed(report, check), check
    # Every foreign key the models declare was seen (and found indexed), not a number that
    # goes stale with each new table.
    declared = sum(len(table.foreign_key_constraints) for table in Base.metadata.tables.values())
    assert declared >= 14  # as of the client-contract tables (project_files, sketchfab, renders)
    fk = next(f for f in report.findings if f.check == "indexes.unindexed_fk")
    assert fk.evidence[0].startswith(f"{declared} foreign keys"), fk.evidence
    # The partitioned table with only its default partition is not "missing" partitions, and
    # the app's own per-connection timeouts count for its own database.
    assert passed(report, "health.partitions") and passed(report, "settings.timeouts")
    users = next(p for p in report.projections if p.metric.startswith("Users"))
    assert users.metric == "Users (rows in app.users)"


PRISMA_LIKE = """
CREATE TABLE "User" (
  "id" TEXT NOT NULL, "email" TEXT NOT NULL, "createdAt" TIMESTAMP(3) NOT NULL DEFAULT now(),
  CONSTRAINT "User_pkey" PRIMARY KEY ("id"));
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE TABLE "Project" (
  "id" TEXT NOT NULL, "userId" TEXT NOT NULL, "name" TEXT NOT NULL, "settings" JSONB,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT now(),
  CONSTRAINT "Project_pkey" PRIMARY KEY ("id"));
CREATE TABLE "Floorplan" (
  "id" SERIAL NOT NULL, "projectId" TEXT NOT NULL, "level" INTEGER NOT NULL DEFAULT 0,
  "data" JSONB NOT NULL,
  CONSTRAINT "Floorplan_pkey" PRIMARY KEY ("id"));
CREATE INDEX "Floorplan_projectId_level_idx" ON "Floorplan"("projectId", "level");
CREATE INDEX "Floorplan_projectId_idx" ON "Floorplan"("projectId");
CREATE TABLE "Comment" (
  "id" SERIAL NOT NULL, "floorplanId" INTEGER NOT NULL, "authorId" TEXT NOT NULL,
  "body" TEXT NOT NULL,
  CONSTRAINT "Comment_pkey" PRIMARY KEY ("id"));
CREATE INDEX "Comment_floorplanId_authorId_idx" ON "Comment"("floorplanId", "authorId");
CREATE TABLE "Tag" ("id" SERIAL NOT NULL, "name" TEXT NOT NULL,
  CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));
CREATE TABLE "_FloorplanToTag" ("A" INTEGER NOT NULL, "B" INTEGER NOT NULL);
CREATE UNIQUE INDEX "_FloorplanToTag_AB_unique" ON "_FloorplanToTag"("A", "B");
CREATE INDEX "_FloorplanToTag_B_index" ON "_FloorplanToTag"("B");
ALTER TABLE "Project" ADD CONSTRAINT "Project_userId_fkey" FOREIGN KEY ("userId")
  REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Floorplan" ADD CONSTRAINT "Floorplan_projectId_fkey" FOREIGN KEY ("projectId")
  REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_floorplanId_fkey" FOREIGN KEY ("floorplanId")
  REFERENCES "Floorplan"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_authorId_fkey" FOREIGN KEY ("authorId")
  REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "_FloorplanToTag" ADD CONSTRAINT "_FloorplanToTag_A_fkey" FOREIGN KEY ("A")
  REFERENCES "Floorplan"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "_FloorplanToTag" ADD CONSTRAINT "_FloorplanToTag_B_fkey" FOREIGN KEY ("B")
  REFERENCES "Tag"("id") ON DELETE CASCADE ON UPDATE CASCADE;
INSERT INTO "User" VALUES ('u1', 'ann@example.com'), ('u2', 'bob@example.com');
INSERT INTO "Project" ("id", "userId", "name") VALUES ('p1', 'u1', 'Villa'), ('p2', 'u2', 'Loft');
"""


def test_a_prisma_style_schema_gets_exactly_its_real_problems(
    fresh_db: str, statements_preloaded: bool
) -> None:
    with connect(fresh_db) as conn:
        conn.execute(PRISMA_LIKE)
        if statements_preloaded:
            conn.execute("CREATE EXTENSION pg_stat_statements")
    report = run(fresh_db)
    found = {(f.check, f.subject) for f in problems(report)}
    assert found == {
        # Prisma creates no index for a relation field: these two have none that leads with
        # their column ("Comment"'s index leads with "floorplanId", not "authorId").
        ("indexes.unindexed_fk", 'public."Project".Project_userId_fkey'),
        ("indexes.unindexed_fk", 'public."Comment".Comment_authorId_fkey'),
        # Covered by ("projectId", "level").
        ("indexes.duplicate", 'public."Floorplan_projectId_idx"'),
        # A server with the defaults: nothing stops a runaway statement or transaction.
        ("settings.timeouts", "statement_timeout"),
        ("settings.timeouts", "idle_in_transaction_session_timeout"),
    } | (set() if statements_preloaded else {("queries.statements", "pg_stat_statements")})
    fixes = {f.subject: f.fix for f in problems(report)}
    assert fixes['public."Project".Project_userId_fkey'] == (
        'CREATE INDEX CONCURRENTLY "ix_Project_userId" ON public."Project" ("userId");',
    )
    assert fixes['public."Floorplan_projectId_idx"'] == (
        'DROP INDEX CONCURRENTLY public."Floorplan_projectId_idx";',
    )
    # Prisma's implicit many-to-many table is fully covered (unique (A, B) and index on B).
    users = next(p for p in report.projections if p.metric.startswith("Users"))
    assert users.metric == 'Users (rows in public."User")' and users.current == "2"
    for finding in problems(report):
        if finding.check != "queries.statements":
            apply_fix(fresh_db, finding)
    after = run(fresh_db)
    assert {f.check for f in problems(after)} <= {"queries.statements"}
    assert all(f.severity is not Severity.CRITICAL for f in after.findings)
