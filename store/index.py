"""The text index: each paper's words, written in the transaction that writes the paper.

The tokens are the exact matcher's own (topics.analysis folds, splits and stems each field),
so an index lookup can over-find but never miss what the matcher accepts. Every paper has a
row in paper_index with its order key (topics.search: newest first); its words live in an
SQLite FTS5 table whose rowid is that key, or on PostgreSQL in a tsvector column of
paper_index with a GIN index. Either way candidates come out of the index newest first,
a chunk at a time, without reading or sorting the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from store.schema import UtcDateTime, paper_index, papers
from topics.analysis import SEPARATOR, Document
from topics.search import ID_BITS, MAX_TOKEN, AllOf, Lookup, Phrase, Term

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_SQLITE_COLUMNS = {"title": "title", "abstract": "abstract", "author": "author"}
_POSTGRES_TAGS = {"title": "t", "abstract": "a", "author": "u"}  # lexeme = tag:token
# PostgreSQL: each pair of neighbouring tokens is a lexeme too, TAG:first_second (upper
# case, so a prefix lookup of one token never reaches a pair; "_" is in no token). A field
# longer than this keeps no pairs (a tsvector holds at most 1 MB) and gets TAG! instead.
MAX_PAIRED = 10_000
_WEEK = 7 * 24 * 3600
_FEW = 2000  # PostgreSQL: up to this many older hits are read from the GIN index and sorted

# ---- DDL, shared by the migration and the benchmark ----------------------------------------

SQLITE_WORDS_TABLE = (
    # 'ascii' splits exactly where words() did (our tokens are [a-z0-9] and non-ASCII
    # letters); positions are kept, so a phrase is looked up as a phrase.
    "CREATE VIRTUAL TABLE paper_words USING fts5(title, abstract, author, tokenize='ascii')"
)
# The words, and apart from them the pairs of neighbouring words (see lexemes): a search
# for words tests rows by their words alone, which stay small enough to keep in the row;
# beside them each field's stems in order (as FTS5 keeps them on SQLite): search confirms
# candidates on them instead of analysing the text again (topics.search._reader).
POSTGRES_WORDS_COLUMN = (
    "ALTER TABLE paper_index ADD COLUMN words tsvector, ADD COLUMN pairs tsvector, "
    "ADD COLUMN title_stems text NOT NULL DEFAULT '', "
    "ADD COLUMN abstract_stems text NOT NULL DEFAULT '', "
    "ADD COLUMN author_stems text NOT NULL DEFAULT ''"
)
# Rows pass 2 kB, and PostgreSQL would move their largest values out of line: then every
# row a search tests costs a TOAST read (a common word's walk 2.9 -> 1.1 ms, reading 64
# candidates' stems 1.7 -> 1.3 ms on 200k papers, kept in the row). Only the pairs, read
# through their GIN index alone, go out of line.
POSTGRES_IN_ROW = "ALTER TABLE paper_index " + ", ".join(
    f"ALTER COLUMN {column} SET STORAGE MAIN"
    for column in ("words", "title_stems", "abstract_stems", "author_stems")
)
# New entries wait in a GIN index's pending list, which every search reads in full: at the
# default 4 MB limit a no-match word took 18 ms instead of 1.3 ms on 200k papers. 128 kB
# keeps that small; the list is merged more often, a cost of writes, not of searches.
_GIN = "USING gin ({column}) WITH (gin_pending_list_limit = 128)"
POSTGRES_WORDS_INDEXES = (
    "CREATE INDEX ix_paper_index_words ON paper_index " + _GIN.format(column="words"),
    "CREATE INDEX ix_paper_index_pairs ON paper_index " + _GIN.format(column="pairs"),
)


def order_key(first_seen: datetime, paper_id: int) -> int:
    seconds = int((first_seen - _EPOCH).total_seconds() // 1)
    return (seconds << ID_BITS) + paper_id


def field_tokens(title: str, abstract: str, authors: Sequence[str]) -> dict[str, list[str]]:
    """The tokens of each indexed field in order, as the matcher sees them. (Dropping the
    separator between two authors only lets a phrase span them: the matcher says no.)"""
    doc = Document.of(title=title, abstract=abstract, authors=list(authors))
    return {
        field: [t[:MAX_TOKEN] for t in doc.fields[field].stems if t != SEPARATOR]
        for field in _SQLITE_COLUMNS
    }


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


# ---- writing ------------------------------------------------------------------------------


def reindex(conn: Connection, written: Iterable[Any], removed: Iterable[int] = ()) -> None:
    """Make the index hold these papers as they are now, and forget the removed ones."""
    rows = list(written)
    forget = [p.id for p in rows] + list(removed)
    for start in range(0, len(forget), 500):
        chunk = forget[start : start + 500]
        if _is_sqlite(conn):
            keys = conn.execute(
                sa.select(paper_index.c.order_key).where(paper_index.c.paper_id.in_(chunk))
            ).scalars()
            stale = [{"key": key} for key in keys]
            if stale:
                conn.execute(sa.text("DELETE FROM paper_words WHERE rowid = :key"), stale)
        conn.execute(sa.delete(paper_index).where(paper_index.c.paper_id.in_(chunk)))
    insert_rows(conn, [(p.id, p.first_seen, p.title, p.abstract, p.authors) for p in rows])


PaperText = tuple[
    int, datetime, str, str, Sequence[str]
]  # id, first_seen, title, abstract, authors


def insert_rows(conn: Connection, rows: Sequence[PaperText]) -> None:
    """Index papers that have no index rows yet, in bulk."""
    if not rows:
        return
    entries = [
        (order_key(first_seen, pid), pid, field_tokens(title, abstract, authors))
        for pid, first_seen, title, abstract, authors in rows
    ]
    if _is_sqlite(conn):
        conn.execute(
            sa.insert(paper_index), [{"paper_id": pid, "order_key": key} for key, pid, _ in entries]
        )
        conn.execute(
            sa.text(
                "INSERT INTO paper_words (rowid, title, abstract, author) "
                "VALUES (:key, :title, :abstract, :author)"
            ),
            [
                {"key": key, **{field: " ".join(found) for field, found in tokens.items()}}
                for key, _, tokens in entries
            ],
        )
        return
    conn.execute(
        sa.text(
            "INSERT INTO paper_index (paper_id, order_key, words, pairs, title_stems, "
            "abstract_stems, author_stems) VALUES (:pid, :key, "
            "array_to_tsvector(CAST(:words AS text[])), array_to_tsvector(CAST(:pairs AS text[])), "
            ":title, :abstract, :author)"
        ),
        [
            {
                "pid": pid,
                "key": key,
                **{field: " ".join(found) for field, found in tokens.items()},
                **dict(zip(("words", "pairs"), lexemes(tokens), strict=True)),
            }
            for key, pid, tokens in entries
        ],
    )


def lexemes(tokens: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """A paper's PostgreSQL lexemes, tagged with their field: its words (t:token), and its
    pairs of neighbouring words (T:first_second).

    No positions: GIN keeps none, so a phrase looked up by position (`<->`) reads every
    paper holding its words to check them, 150-300 ms for two common words on 200k papers;
    as pairs it is one GIN lookup per pair. A field longer than MAX_PAIRED tokens keeps no
    pairs (a tsvector holds at most 1 MB) and its words get the marker TAG! instead.
    """
    words: set[str] = set()
    pairs: set[str] = set()
    for field, sequence in tokens.items():
        tag = _POSTGRES_TAGS[field]
        words.update(f"{tag}:{token}" for token in sequence)
        if len(sequence) > MAX_PAIRED:
            words.add(f"{tag.upper()}!")
        else:
            pairs.update(f"{tag.upper()}:{a}_{b}" for a, b in pairwise(sequence))
    return sorted(words), sorted(pairs)


def build(conn: Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Index every paper, in bulk, into an empty index (the migration; papers loaded in
    bulk outside upsert). PostgreSQL's GIN indexes are built after the rows are in: one
    pass, where a GIN index present takes every row through its pending list."""
    if not _is_sqlite(conn):
        conn.execute(sa.text("DROP INDEX IF EXISTS ix_paper_index_words, ix_paper_index_pairs"))
    total = int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())
    done, last = 0, 0
    while True:
        batch = conn.execute(
            sa.select(
                papers.c.id,
                papers.c.first_seen,
                papers.c.title,
                papers.c.abstract,
                papers.c.authors,
            )
            .where(papers.c.id > last)
            .order_by(papers.c.id)
            .limit(2000)
        ).all()
        if not batch:
            break
        insert_rows(conn, [tuple(row) for row in batch])  # type: ignore[misc]
        done, last = done + len(batch), batch[-1].id
        if progress:
            progress(done, total)
    if not _is_sqlite(conn):
        for statement in POSTGRES_WORDS_INDEXES:
            conn.execute(sa.text(statement))
        conn.execute(sa.text("ANALYZE paper_index"))  # statistics before anyone plans a search
    return done


# ---- reading ------------------------------------------------------------------------------


def candidate_keys(
    conn: Connection, plan: Lookup | None, before: int | None, count: int
) -> list[int]:
    """Order keys of papers plan may match (every paper when None), newest first."""
    below = "" if before is None else " AND {key} < :before"
    params: dict[str, Any] = {"count": count, "before": before}
    if plan is None:
        sql = "SELECT order_key FROM paper_index WHERE 1 = 1" + below.format(key="order_key")
        sql += " ORDER BY order_key DESC LIMIT :count"
    elif _is_sqlite(conn):
        params["match"] = fts5_query(plan)
        sql = "SELECT rowid FROM paper_words WHERE paper_words MATCH :match" + below.format(
            key="rowid"
        )
        sql += " ORDER BY rowid DESC LIMIT :count"
    else:
        return _postgres_keys(conn, *postgres_condition(plan), before, count)
    return list(conn.execute(sa.text(sql), params).scalars())


def _postgres_keys(
    conn: Connection, condition: str, queries: dict[str, str], before: int | None, count: int
) -> list[int]:
    """Newest first: the week below before, then (for a word it holds some of) the four
    weeks under it, then everything older.

    PostgreSQL cannot read a GIN index in order, and it guesses the same 1% for every word
    outside its most common thousand, whether it is in 2,000 papers or in 5. Left to
    itself it either walks the order index testing every row (fast for a common word, 430
    ms for a rare one on 200k papers) or reads every hit from the heap to sort them (10 ms
    for a 1% word). So:
    - in the week it chooses: a common word is answered there by the walk;
    - a word with some hits in the week, but too few, is uncommon: the four weeks under it
      are read from its GIN bitmap intersected with their range of the order index, so
      only their hits are visited (`order_key + 0` rules the walk out);
    - older papers: up to _FEW hits are read from the GIN index and sorted; a word with
      more is common there, and the walk finds its hits close together.
    """
    top = before if before is not None else _newest_key(conn) + 1  # keys below top
    week = max(0, top - (_WEEK << ID_BITS))
    match = (condition, queries)
    found = _slice(conn, match, top, week, "order_key", count)
    if found and len(found) < count:
        month = max(0, week - (4 * _WEEK << ID_BITS))
        found += _slice(conn, match, week, month, "order_key + 0", count - len(found))
        week = month
    if len(found) >= count or week == 0:
        return found
    return found + _older(conn, match, week, count - len(found))


Condition = tuple[str, dict[str, str]]  # SQL on words and pairs, and its tsqueries


def _slice(
    conn: Connection, match: Condition, top: int, low: int, order: str, count: int
) -> list[int]:
    condition, queries = match
    sql = (
        f"SELECT order_key FROM paper_index WHERE {condition} "
        f"AND order_key < :top AND order_key >= :low ORDER BY {order} DESC LIMIT :count"
    )
    params = {**queries, "top": top, "low": low, "count": count}
    return list(conn.execute(sa.text(sql), params).scalars())


def _older(conn: Connection, match: Condition, top: int, count: int) -> list[int]:
    condition, queries = match
    matching = f"FROM paper_index WHERE {condition} AND order_key < :top"
    params = {**queries, "top": top, "count": count}
    few = conn.execute(
        sa.text(
            f"WITH hits AS MATERIALIZED (SELECT order_key {matching} LIMIT :few) "
            "SELECT order_key FROM hits ORDER BY order_key DESC"
        ),
        {**params, "few": _FEW + 1},
    ).scalars()
    found = list(few)
    if len(found) <= _FEW:
        return found[:count]
    sql = f"SELECT order_key {matching} ORDER BY order_key DESC LIMIT :count"
    return list(conn.execute(sa.text(sql), params).scalars())


def _newest_key(conn: Connection) -> int:
    """The newest paper's order key; 0 for an empty index."""
    sql = "SELECT coalesce(max(order_key), 0) FROM paper_index"
    return int(conn.execute(sa.text(sql)).scalar_one())


def fts5_query(plan: Lookup) -> str:
    """The plan in FTS5 query syntax: {title abstract} : "token token" *, AND, OR."""
    if isinstance(plan, Term | Phrase):
        columns = " ".join(_SQLITE_COLUMNS[f] for f in plan.fields)
        tokens = (plan.token,) if isinstance(plan, Term) else plan.tokens
        quoted = '"' + " ".join(t[:MAX_TOKEN] for t in tokens).replace('"', '""') + '"'
        return f"{{{columns}}} : {quoted}" + (" *" if plan.prefix else "")
    joiner = " AND " if isinstance(plan, AllOf) else " OR "
    return "(" + joiner.join(fts5_query(part) for part in plan.parts) + ")"


def postgres_condition(plan: Lookup) -> Condition:
    """The plan as an SQL condition on the words and pairs columns, its tsqueries given as
    parameters: a word is `words @@ 't:token' | 'a:token'` (`:*` for a prefix); a phrase is
    `pairs @@ ('A:one_two' & 'A:two_three')` in each field, or, in a field too long to keep
    pairs, `words @@ ('a:one' & 'a:two' & 'a:three' & 'A!')`; AND and OR compose."""
    queries: dict[str, str] = {}

    def on(column: str, tsquery: str) -> str:
        name = f"q{len(queries)}"
        queries[name] = tsquery
        return f"{column} @@ CAST(:{name} AS tsquery)"

    def condition(plan: Lookup) -> str:
        if isinstance(plan, Term):
            star = ":*" if plan.prefix else ""
            return on("words", " | ".join(f"'{_lexeme(f, plan.token)}'{star}" for f in plan.fields))
        if isinstance(plan, Phrase):
            star = ":*" if plan.prefix else ""
            paired, unpaired = [], []
            for field in plan.fields:
                pairs = [f"'{_lexeme(field, a, b)}'" for a, b in pairwise(plan.tokens)]
                words = [f"'{_lexeme(field, token)}'" for token in plan.tokens]
                pairs[-1] += star
                words[-1] += star
                paired.append(f"({' & '.join(pairs)})")
                unpaired.append(f"({' & '.join(words)} & '{_POSTGRES_TAGS[field].upper()}!')")
            return f"({on('pairs', ' | '.join(paired))} OR {on('words', ' | '.join(unpaired))})"
        joiner = " AND " if isinstance(plan, AllOf) else " OR "
        return "(" + joiner.join(condition(part) for part in plan.parts) + ")"

    return condition(plan), queries


def _lexeme(field: str, token: str, then: str | None = None) -> str:
    """A token's (or with then, a pair's) lexeme, quoted for a tsquery."""
    tag = _POSTGRES_TAGS[field]
    text = (
        f"{tag}:{token[:MAX_TOKEN]}"
        if then is None
        else f"{tag.upper()}:{token[:MAX_TOKEN]}_{then[:MAX_TOKEN]}"
    )
    return text.replace("\\", "\\\\").replace("'", "''")


def paper_stems(conn: Connection, keys: Sequence[int]) -> list[sa.Row[Any]]:
    """Papers by order key, with id, first_seen and each indexed field's stems as the index
    keeps them (space-separated): SQLite's FTS5 table, PostgreSQL's *_stems columns."""
    if _is_sqlite(conn):
        sql = (
            # The paper id is the key's low bits (topics.search.split_key): joining on it
            # spares a lookup in paper_index per row, half the cost of the read.
            "SELECT p.id, p.first_seen, w.title, w.abstract, w.author FROM paper_words w "
            f"JOIN papers p ON p.id = (w.rowid & {(1 << ID_BITS) - 1}) WHERE w.rowid IN :keys"
        )
    else:
        sql = (
            "SELECT p.id, p.first_seen, i.title_stems AS title, i.abstract_stems AS abstract, "
            "i.author_stems AS author FROM paper_index i JOIN papers p ON p.id = i.paper_id "
            "WHERE i.order_key IN :keys"
        )
    query = sa.text(sql).bindparams(sa.bindparam("keys", expanding=True))
    typed = query.columns(first_seen=UtcDateTime())
    return list(conn.execute(typed, {"keys": list(keys)}))


class IndexStore:
    engine: Engine

    def build_index(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every paper into an empty index (papers written in bulk, outside upsert)."""
        with self.engine.begin() as conn:
            return build(conn, progress)
