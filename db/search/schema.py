"""Tables, the full-text index and the triggers that keep it in step, per dialect.

Outside the ORM on purpose: FTS5 virtual tables, tsvector columns, trigger
functions. ``search_queue`` is filled by triggers on ``stories`` in the same
transaction as every insert, change or delete, so no writer (crawler, CLI,
another process, a manual SQL fix) can change a story without the index
learning of it; :mod:`db.search.indexer` drains the queue.

On SQLite the queue row also keeps the story's text as it was indexed: FTS5
removes a contentless row only when told its old tokens.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from db.search.tokens import TOKEN_CHARS

# Tables alembic must not compare with the models (FTS5 adds its shadow tables).
TABLES = frozenset(
    {
        "search_docs",
        "search_queue",
        "search_meta",
        "search_fts",
        "search_fts_data",
        "search_fts_idx",
        "search_fts_docsize",
        "search_fts_config",
        "search_fts_content",
    }
)

# Story columns whose change changes the index entry (text, language, source, URL, date).
WATCHED = ("title", "body", "summary", "language", "source_id", "canonical_url", "published_at")

_FTS_TOKENIZE = "ascii tokenchars '" + TOKEN_CHARS.replace("'", "''") + "'"

SQLITE_TABLES = [
    """CREATE TABLE IF NOT EXISTS search_docs (
        sort_key INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL UNIQUE,
        lang VARCHAR(16)
    )""",
    """CREATE TABLE IF NOT EXISTS search_queue (
        story_id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL DEFAULT 1,
        has_old INTEGER NOT NULL DEFAULT 0,
        old_title TEXT,
        old_body TEXT,
        old_summary TEXT,
        old_language VARCHAR(8),
        old_source_id INTEGER,
        old_url TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS search_meta (
        key VARCHAR(50) PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # Contentless: the text already lives in `stories`; the index keeps only tokens.
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title, body, meta, content='', tokenize=\"" + _FTS_TOKENIZE.replace('"', '""') + '")',
]

_SQLITE_CAPTURE = (
    "INSERT INTO search_queue (story_id, seq, has_old, old_title, old_body, old_summary, "
    "old_language, old_source_id, old_url) VALUES (old.id, 1, 1, old.title, old.body, "
    "old.summary, old.language, old.source_id, old.canonical_url) "
    "ON CONFLICT (story_id) DO UPDATE SET seq = seq + 1;"
)
_SQLITE_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in WATCHED)

SQLITE_TRIGGERS = {
    "search_stories_ai": (
        "CREATE TRIGGER IF NOT EXISTS search_stories_ai AFTER INSERT ON stories BEGIN "
        "INSERT INTO search_queue (story_id, seq) VALUES (new.id, 1) "
        "ON CONFLICT (story_id) DO UPDATE SET seq = seq + 1; END"
    ),
    "search_stories_au": (
        "CREATE TRIGGER IF NOT EXISTS search_stories_au AFTER UPDATE OF "
        + ", ".join(WATCHED)
        + " ON stories WHEN "
        + _SQLITE_CHANGED
        + " BEGIN "
        + _SQLITE_CAPTURE
        + " END"
    ),
    "search_stories_ad": (
        "CREATE TRIGGER IF NOT EXISTS search_stories_ad AFTER DELETE ON stories BEGIN "
        + _SQLITE_CAPTURE
        + " END"
    ),
}

PG_GIN_INDEX = "CREATE INDEX IF NOT EXISTS ix_search_docs_tsv ON search_docs USING GIN (tsv)"
PG_TABLES = [
    """CREATE TABLE IF NOT EXISTS search_docs (
        sort_key BIGINT PRIMARY KEY,
        story_id INTEGER NOT NULL UNIQUE REFERENCES stories (id) ON DELETE CASCADE,
        lang VARCHAR(16),
        positions_exact BOOLEAN NOT NULL DEFAULT TRUE,
        tsv TSVECTOR NOT NULL
    )""",
    PG_GIN_INDEX,
    """CREATE TABLE IF NOT EXISTS search_queue (
        story_id INTEGER PRIMARY KEY REFERENCES stories (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE IF NOT EXISTS search_meta (
        key VARCHAR(50) PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE OR REPLACE FUNCTION search_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_queue (story_id, seq) VALUES (NEW.id, 1)
        ON CONFLICT (story_id) DO UPDATE SET seq = search_queue.seq + 1;
        RETURN NULL;
    END $$""",
]

_PG_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
PG_TRIGGERS = {
    "search_stories_ai": (
        "CREATE TRIGGER search_stories_ai AFTER INSERT ON stories "
        "FOR EACH ROW EXECUTE FUNCTION search_enqueue()"
    ),
    "search_stories_au": (
        "CREATE TRIGGER search_stories_au AFTER UPDATE OF "
        + ", ".join(WATCHED)
        + " ON stories FOR EACH ROW WHEN ("
        + _PG_CHANGED
        + ") EXECUTE FUNCTION search_enqueue()"
    ),
}


def create(conn: Connection) -> None:
    """Create the search tables, index and triggers (idempotent)."""
    if conn.dialect.name == "postgresql":
        for statement in PG_TABLES:
            conn.execute(text(statement))
    else:
        for statement in SQLITE_TABLES:
            conn.exec_driver_sql(statement)
    ensure_triggers(conn)


def missing_triggers(conn: Connection) -> list[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'stories'::regclass "
                "AND NOT tgisinternal"
            )
        )
        wanted = PG_TRIGGERS
    else:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        wanted = SQLITE_TRIGGERS
    present = {row[0] for row in rows}
    return [name for name in wanted if name not in present]


def ensure_triggers(conn: Connection) -> list[str]:
    """Recreate missing triggers; returns their names.

    Rebuilding ``stories`` (SQLite "batch" migrations copy a table and drop the
    original) drops its triggers with it; after that the index cannot be trusted
    and the caller rebuilds it.
    """
    missing = missing_triggers(conn)
    statements = PG_TRIGGERS if conn.dialect.name == "postgresql" else SQLITE_TRIGGERS
    for name in missing:
        if conn.dialect.name == "postgresql":
            conn.execute(text(statements[name]))
        else:
            conn.exec_driver_sql(statements[name])
    return missing


def drop(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON stories"))
        conn.execute(text("DROP FUNCTION IF EXISTS search_enqueue()"))
    else:
        for name in SQLITE_TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
    for table in ("search_queue", "search_docs", "search_meta"):
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
