"""Index checks: each problem is planted in a fresh database, found with its exact subject,
and cleared by applying the printed fix."""

from __future__ import annotations

from tests.integration.assess.conftest import (
    apply_fix,
    connect,
    flush_stats,
    passed,
    problems,
    run,
)


def test_foreign_key_without_index_red_then_green(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute(
            """
            CREATE TABLE author (id int PRIMARY KEY, code text UNIQUE);
            CREATE TABLE book (id int PRIMARY KEY, author_id int REFERENCES author (id));
            -- covered by a unique constraint's index: not a finding
            CREATE TABLE profile (author_id int UNIQUE REFERENCES author (id));
            -- covered by an index led by the FK's columns, in another order
            CREATE TABLE pair_parent (x int, y int, PRIMARY KEY (x, y));
            CREATE TABLE pair (a int, b int, c int, FOREIGN KEY (b, a) REFERENCES pair_parent);
            CREATE INDEX ON pair (a, b, c);
            -- a partial index does not cover the foreign key
            CREATE TABLE review (id int PRIMARY KEY, book_id int REFERENCES book (id));
            CREATE INDEX ON review (book_id) WHERE id > 100;
            """
        )
    report = run(fresh_db)
    found = problems(report, "indexes.unindexed_fk")
    assert {f.subject for f in found} == {
        "public.book.book_author_id_fkey",
        "public.review.review_book_id_fkey",
    }
    book = next(f for f in found if f.subject == "public.book.book_author_id_fkey")
    assert book.fix == (
        'CREATE INDEX CONCURRENTLY "ix_book_author_id" ON public.book (author_id);',
    )
    assert "public.book (author_id) references author" in book.evidence[0]
    for finding in found:
        apply_fix(fresh_db, finding)
    assert passed(run(fresh_db), "indexes.unindexed_fk")


def test_duplicate_indexes_red_then_green(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute(
            """
            CREATE TABLE item (id int PRIMARY KEY, a int, b int, c text, d int);
            CREATE INDEX item_a_b ON item (a, b);
            CREATE INDEX item_a ON item (a);               -- prefix of item_a_b
            CREATE INDEX item_b_1 ON item (b);
            CREATE INDEX item_b_2 ON item (b);             -- identical to item_b_1
            CREATE INDEX item_id ON item (id);             -- the primary key covers it
            CREATE INDEX item_a_desc ON item (a DESC, d);  -- other ordering: not a prefix
            CREATE INDEX item_c_pattern ON item (c text_pattern_ops);
            CREATE INDEX item_c ON item (c);               -- other operator class
            CREATE INDEX item_a_partial ON item (a) WHERE d > 0;  -- partial: kept
            CREATE UNIQUE INDEX item_d_unique ON item (d);
            CREATE INDEX item_d_c ON item (d, c);          -- wider, but not unique: keeps both
            """
        )
    report = run(fresh_db)
    found = {f.subject: f for f in problems(report, "indexes.duplicate")}
    assert set(found) == {"public.item_a", "public.item_b_2", "public.item_id"}
    assert found["public.item_a"].data["coveredBy"] == "public.item_a_b"
    assert found["public.item_id"].data["coveredBy"] == "public.item_pkey"
    assert found["public.item_a"].fix == ("DROP INDEX CONCURRENTLY public.item_a;",)
    for finding in found.values():
        apply_fix(fresh_db, finding)
    assert passed(run(fresh_db), "indexes.duplicate")


def test_invalid_index_red_then_green(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute("CREATE TABLE code (id int PRIMARY KEY, value text)")
        conn.execute("INSERT INTO code VALUES (1, 'x'), (2, 'x'), (3, 'y')")
        try:
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY code_value ON code (value)")
        except Exception as exc:  # the duplicate key leaves the index behind, invalid
            assert "could not create unique index" in str(exc)
    report = run(fresh_db)
    [finding] = problems(report, "indexes.invalid")
    assert finding.subject == "public.code_value"
    assert finding.fix == (
        "DROP INDEX CONCURRENTLY public.code_value;",
        "CREATE UNIQUE INDEX CONCURRENTLY code_value ON public.code USING btree (value);",
    )
    with connect(fresh_db) as conn:  # the data problem the evidence names, fixed first
        conn.execute("DELETE FROM code WHERE id = 2")
    apply_fix(fresh_db, finding)
    assert passed(run(fresh_db), "indexes.invalid")


def test_large_table_scanned_sequentially_red_then_green(with_statements: str) -> None:
    url = with_statements
    with connect(url) as conn:
        conn.execute(
            """CREATE TABLE event (id bigint PRIMARY KEY, code text NOT NULL, payload text);
               INSERT INTO event SELECT g, 'c' || (g % 5000), 'p' FROM generate_series(1, 20000) g;
               ANALYZE event;"""
        )
        for n in range(20):
            conn.execute("SELECT id FROM event WHERE code = %s", (f"c{n}",))
        flush_stats(conn)
    report = run(url)
    [finding] = problems(report, "indexes.seq_scans")
    assert finding.subject == "public.event"
    assert finding.data["indexScans"] == 0 and finding.data["seqScans"] >= 20
    assert finding.data["suggestedColumn"] == "code"
    assert finding.fix[0] == 'CREATE INDEX CONCURRENTLY "ix_event_code" ON public.event ("code");'
    apply_fix(url, finding)
    with connect(url) as conn:  # the same workload, now served by the index
        for n in range(20):
            conn.execute("SELECT id FROM event WHERE code = %s", (f"c{n}",))
        flush_stats(conn)
        scans = conn.execute(
            "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'event'"
        ).fetchone()
    # the only sequential scans left are the two CREATE INDEX CONCURRENTLY makes
    assert scans is not None and scans[1] >= 20 and scans[0] <= 2
    assert passed(run(url), "indexes.seq_scans")


def test_unused_index_on_busy_table_red_then_green(fresh_db: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute(
            """CREATE TABLE owner (id int PRIMARY KEY);
               CREATE TABLE thing (id int PRIMARY KEY, label text, owner_id int REFERENCES owner);
               CREATE INDEX thing_label ON thing (label);       -- never used
               CREATE INDEX thing_owner_id ON thing (owner_id); -- unused, but covers the FK
               INSERT INTO thing SELECT g, 'l' || g, NULL FROM generate_series(1, 2000) g;"""
        )
        for n in range(1, 1001):
            conn.execute("SELECT label FROM thing WHERE id = %s", (n,))
        flush_stats(conn)
    report = run(fresh_db)
    [finding] = problems(report, "indexes.unused")
    assert finding.subject == "public.thing_label"
    assert finding.fix == ("DROP INDEX CONCURRENTLY public.thing_label;",)
    apply_fix(fresh_db, finding)
    report = run(fresh_db)
    assert passed(report, "indexes.unused")
    assert passed(report, "indexes.unindexed_fk")
