"""The text index on PostgreSQL: paper_index rows with a tsvector of each paper's words
and one of its pairs of neighbouring words (GIN indexes on both), each field's stems in
order, and the paper's first_seen. Candidates come out newest first a tier of days at a
time, sorting only each tier's hits (_postgres_query).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from types import MappingProxyType
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from store.index.layout import MAX_TOKEN, Entry, day_of, first_key, order_key
from store.schema import UtcDateTime
from topics.plan import Lookup, Phrase, Term

_TAGS = {"title": "t", "abstract": "a", "author": "u"}  # lexeme = tag:token
# Each pair of neighbouring tokens is a lexeme too, TAG:first_second (upper case, so a
# prefix lookup of one token never reaches a pair; "_" is in no token). A field longer
# than this keeps no pairs (a tsvector holds at most 1 MB) and gets TAG! instead.
MAX_PAIRED = 10_000

# The words, and apart from them the pairs of neighbouring words (see lexemes): a search
# for words tests rows by their words alone, which stay small enough to keep in the row;
# beside them each field's stems in order (as FTS5 keeps them on SQLite): search confirms
# candidates on them instead of analysing the text again (topics.search._candidates), and
# the paper's first_seen, which a hit carries: no read of papers for either.
FIRST_SEEN_COLUMN = "ADD COLUMN first_seen timestamp"
WORDS_COLUMN = (
    "ALTER TABLE paper_index ADD COLUMN words tsvector, ADD COLUMN pairs tsvector, "
    "ADD COLUMN title_stems text NOT NULL DEFAULT '', "
    "ADD COLUMN abstract_stems text NOT NULL DEFAULT '', "
    f"ADD COLUMN author_stems text NOT NULL DEFAULT '', {FIRST_SEEN_COLUMN}"
)
# Rows pass 2 kB, and PostgreSQL would move their largest values out of line: then every
# row a search tests costs a TOAST read (a common word's walk and the reading of
# candidates' stems are faster kept in the row). Only the pairs, read
# through their GIN index alone, go out of line.
IN_ROW = "ALTER TABLE paper_index " + ", ".join(
    f"ALTER COLUMN {column} SET STORAGE MAIN"
    for column in ("words", "title_stems", "abstract_stems", "author_stems")
)
# New entries wait in a GIN index's pending list, which every search reads in full: at the
# default 4 MB limit a no-match word took many times longer than the index read. 128 kB
# keeps that small; the list is merged more often, a cost of writes, not of searches.
_GIN = "USING gin ({column}) WITH (gin_pending_list_limit = 128)"
WORDS_INDEXES = (
    "CREATE INDEX ix_paper_index_words ON paper_index " + _GIN.format(column="words"),
    "CREATE INDEX ix_paper_index_pairs ON paper_index " + _GIN.format(column="pairs"),
)


def forget(conn: Connection, paper_ids: Sequence[int]) -> None:
    """Nothing apart from the paper_index rows: the words live in them."""


def insert(conn: Connection, entries: Sequence[Entry]) -> None:
    """Write the entries' rows with COPY: a batch's rows in one stream, no statement per row
    (executemany cost several times the analysis of the papers)."""
    copy_sql = (
        "COPY paper_index (paper_id, order_key, words, pairs, title_stems, abstract_stems, "
        "author_stems, first_seen) FROM STDIN"
    )
    to_column = UtcDateTime().process_bind_param
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for key, pid, tokens, first_seen in entries:
            words, pairs = _lexeme_sets(tokens, day_of(key))
            copy.write_row(
                (
                    pid,
                    key,
                    _tsvector(words),
                    _tsvector(pairs),
                    " ".join(tokens["title"]),
                    " ".join(tokens["abstract"]),
                    " ".join(tokens["author"]),
                    to_column(first_seen, conn.dialect),
                )
            )


def _tsvector(found: Collection[str]) -> str:
    """Lexemes as tsvector input: each quoted, so ':' and '!' are part of it. In any
    order: PostgreSQL sorts them (and drops duplicates) as it reads them."""
    joined = "' '".join(found)
    # Tokens are letters and digits: mostly no quote or backslash to escape, and the
    # quoting is one join (a third of the client's cost of a row, escaped lexeme by lexeme).
    if "\\" in joined or joined.count("'") != 2 * max(len(found) - 1, 0):
        joined = "' '".join(x.replace("\\", "\\\\").replace("'", "''") for x in found)
    return "'" + joined + "'" if found else ""


def clear(conn: Connection) -> None:
    # Not DELETE: the GIN indexes would keep the deleted rows' entries until vacuumed.
    conn.execute(sa.text("TRUNCATE paper_index"))


def before_build(conn: Connection) -> None:
    """A GIN index present takes every row through its pending list: built after the rows."""
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_paper_index_words, ix_paper_index_pairs"))


def after_build(conn: Connection) -> None:
    for statement in WORDS_INDEXES:
        conn.execute(sa.text(statement))
    conn.execute(sa.text("ANALYZE paper_index"))  # statistics before anyone plans a search


def lexemes(tokens: dict[str, list[str]], day: int) -> tuple[list[str], list[str]]:
    """A paper's PostgreSQL lexemes, tagged with their field: its words (t:token), and its
    pairs of neighbouring words (T:first_second); each list also holds the paper's day
    (day_lexemes: a search reads the newest days first, see _postgres_query).

    No positions: GIN keeps none, so a phrase looked up by position (`<->`) reads every
    paper holding its words to check them, slow for two common words;
    as pairs it is one GIN lookup per pair. A field longer than MAX_PAIRED tokens keeps no
    pairs (a tsvector holds at most 1 MB) and its words get the marker TAG! instead.
    """
    words, pairs = _lexeme_sets(tokens, day)
    return sorted(words), sorted(pairs)


def _lexeme_sets(tokens: dict[str, list[str]], day: int) -> tuple[set[str], set[str]]:
    """lexemes, unsorted (what insert writes: PostgreSQL sorts them itself)."""
    days = day_lexemes(day)
    words, pairs = set(days), set(days)
    for field, sequence in tokens.items():
        tag = _TAGS[field]
        words.update(map(f"{tag}:".__add__, sequence))
        if len(sequence) > MAX_PAIRED:
            words.add(f"{tag.upper()}!")
        else:
            paired = f"{tag.upper()}:"
            pairs.update([paired + a + "_" + b for a, b in pairwise(sequence)])
    return words, pairs


# PostgreSQL: each paper's day is a lexeme at four sizes of aligned blocks of days,
# @<size>:<day // size> (see lexemes). A search reads its newest hits tier by tier: today
# (and tomorrow), then blocks that grow with their age (_tier_size), until the tiers reach
# _TIERED_DAYS back; older hits are read another way.
_BLOCKS = (64, 16, 4, 1)
_TIERED_DAYS = 64
_FEW = 2000  # up to this many hits older than the tiers are read from the GIN index and sorted
_PREFIX_WALKED_DAYS = 7  # a prefix has no tiers: it walks its newest days (_postgres_query)


def day_lexemes(day: int) -> list[str]:
    return [f"@{size}:{day // size}" for size in _BLOCKS]


def _tier_size(age: int) -> int:
    """Days in a tier whose newest day is age days old. One lexeme a tier, and few tiers:
    each costs a GIN lookup, whatever it finds."""
    return 4 if age < 8 else 16 if age < 48 else 64


class _Tier(NamedTuple):
    first: int  # its oldest day
    last: int  # its newest day
    block_last: int  # the newest day of its block: past last, keys are cut at last
    tsquery: str


def _tiers(today: int) -> list[_Tier]:
    """The tiers, newest first. Each is one block of days, less its days that a newer tier
    holds (the first block holds today)."""
    tiers = [_Tier(today, today + 1, today + 1, f"'@1:{today}' | '@1:{today + 1}'")]
    last = today - 1
    while today - last < _TIERED_DAYS:
        size = _tier_size(today - last)
        block = last // size
        tiers.append(_Tier(block * size, last, block * size + size - 1, f"'@{size}:{block}'"))
        last = block * size - 1
    return tiers


class Candidate(NamedTuple):
    """A candidate with its stems, as PostgreSQL's search reads it."""

    key: int
    id: int
    first_seen: datetime
    title: str
    abstract: str
    author: str


def today() -> int:
    """The day whose papers a search reads first (its tiers depend on it alone)."""
    return day_of(order_key(datetime.now(UTC), 0))


_STEMS = (
    "order_key AS key, paper_id AS id, "
    # A release before 0007 writes none while a rolling deploy runs it (see repair).
    "coalesce(first_seen, (SELECT p.first_seen FROM papers p WHERE p.id = paper_id)) "
    "AS first_seen, title_stems AS title, abstract_stems AS abstract, author_stems AS author"
)


def candidates_query(
    plan: Lookup | None, before: int | None, stems: bool, today: int
) -> tuple[str, Mapping[str, Any]]:
    """The statement of candidates, as the driver takes it, and its parameters but :count.
    Each part of the query reads its rows' stems where it tests them: looking the rows up
    again by key cost a third of reading a common word's 64 candidates."""
    params: dict[str, Any] = {"before": before}
    columns = _STEMS if stems else "order_key AS key"
    sql = _postgres_query(plan, before, today, params, columns)
    if "%" in sql or "::" in sql:  # each would be taken for a parameter, or mangled
        raise ValueError(f"not convertible to the driver's parameters: {sql}")
    return re.sub(r":(\w+)", r"%(\1)s", sql), MappingProxyType(params)


def read(conn: Connection, statement: Any, params: Mapping[str, Any], stems: bool) -> Sequence[Any]:
    # The SQL as the driver takes it, and first_seen made aware here, spare SQLAlchemy's
    # compiling and typing of the rows, a large share of a short read.
    rows = conn.exec_driver_sql(statement, params).all()
    if not stems:
        return rows
    return [Candidate(key, id_, seen.replace(tzinfo=UTC), *rest) for key, id_, seen, *rest in rows]


def counts(conn: Connection, plans: Sequence[Lookup], cap: int) -> list[int]:
    """How many papers each plan may match, each counted to cap at most, all in one
    statement: a count needs no order, so each is its GIN lookup alone (a tiered statement
    of candidates a word, counted, made a like: with new seeds 64 ms at 20,000 papers
    where this makes it 25)."""
    params: dict[str, Any] = {"cap": cap}
    parts = ", ".join(
        f"(SELECT count(*) FROM (SELECT 1 FROM paper_index WHERE "
        f"{postgres_condition(plan, params)} LIMIT :cap) AS found_{n})"
        for n, plan in enumerate(plans)
    )
    found = conn.exec_driver_sql(re.sub(r":(\w+)", r"%(\1)s", f"SELECT {parts}"), params).one()
    return [int(n) for n in found]


def _postgres_query(
    plan: Lookup | None, before: int | None, today: int, params: dict[str, Any], columns: str
) -> str:
    """A query of the newest count papers plan may match, below before, newest first:
    columns of paper_index, as named.

    PostgreSQL cannot read a GIN index in order, and it guesses the same 1% for every word
    outside its most common thousand, whether it is in 2,000 papers or in 5. Left to
    itself it either walks the order index testing every row (fast for a common word, slow
    for a rare one) or reads every hit from the heap to sort them (slow for a 1% word).
    And once a statement has run five times on a connection it is
    prepared, and PostgreSQL may keep one generic plan for every word: the plan must not
    depend on the word. So every paper's words include its day (day_lexemes), and the
    rows come from a UNION ALL under one LIMIT, whose parts run in turn only until the
    LIMIT is met:
    - papers from after tomorrow (a clock set back): walked in order, mostly none (for a
      prefix, the papers of the last _PREFIX_WALKED_DAYS, and no tiers);
    - then each tier of days (_tiers): the word's GIN entries intersected with the tier's
      day lexeme, so only the tier's hits are read and sorted (`+ 0` rules out the walk);
      a common word is answered in the first tier, a 1% word within two weeks;
    - then the older papers: up to _FEW hits from the GIN index, sorted; a word with more is
      common there, and a walk of the order index finds its hits close together.
    Which tier a paper is in depends only on today, so the statement is the same all day.
    """
    if plan is None:
        below = "" if before is None else "WHERE order_key < :before "
        return f"SELECT {columns} FROM paper_index {below}ORDER BY order_key DESC LIMIT :count"
    # A prefix is a partial match in GIN: each lookup reads every word it starts, so it
    # has no tiers: the newest week is walked.
    tiers = [] if plan.has_prefix else _tiers(today)
    top = before if before is not None else 1 << 62
    parts = []
    walked = first_key(today + 2 if tiers else today - _PREFIX_WALKED_DAYS)
    if top > walked:
        newest = [postgres_condition(plan, params, walk=True), "order_key >= :walked"]
        newest += [] if before is None else ["order_key < :before"]
        parts.append(_part(columns, newest, "order_key"))
        params["walked"] = walked
    for number, tier in enumerate(tiers):
        if top <= first_key(tier.first):
            continue
        params[f"d{number}"] = tier.tsquery
        conditions = [postgres_condition(plan, params, days=f"d{number}")]
        bound = min(top, first_key(tier.last + 1))
        if bound < first_key(tier.block_last + 1):  # its block holds newer keys too
            params[f"b{number}"] = bound
            conditions.append(f"order_key + 0 < :b{number}")
        parts.append(_part(columns, conditions, "order_key + 0"))
    params["old"] = min(top, first_key(tiers[-1].first) if tiers else walked)
    params["few"] = _FEW + 1
    rest = "FROM paper_index WHERE {condition} AND {key} < :old"
    few = rest.format(condition=postgres_condition(plan, params), key="order_key + 0")
    walk = rest.format(condition=postgres_condition(plan, params, walk=True), key="order_key")
    parts += [
        f"SELECT {columns} FROM (SELECT order_key FROM few "
        "WHERE (SELECT count(*) FROM few) <= :few - 1 ORDER BY order_key DESC LIMIT :count) "
        # Joined rows may come in any order: sorted again, as the LIMIT may end among them.
        "AS newest JOIN paper_index USING (order_key) ORDER BY order_key DESC",
        f"SELECT {columns} {walk} AND (SELECT count(*) FROM few) = :few "
        "ORDER BY order_key DESC LIMIT :count",
    ]
    union = " UNION ALL ".join(f"({part})" for part in parts)
    return (
        f"WITH few AS MATERIALIZED (SELECT order_key {few} LIMIT :few) "
        f"SELECT * FROM (SELECT * FROM ({union}) AS parts LIMIT :count) AS found "
        "ORDER BY key DESC"
    )


def _part(columns: str, conditions: list[str], key: str) -> str:
    """One part of the UNION: rows meeting every condition, by key, newest first."""
    return (
        f"SELECT {columns} FROM paper_index WHERE {' AND '.join(conditions)} "
        f"ORDER BY {key} DESC LIMIT :count"
    )


class _Condition:
    """The plan as an SQL condition on the words and pairs columns, its tsqueries added to
    params (q0, q1, ...): a word is `words @@ 't:token' | 'a:token'` (`:*` for a prefix);
    a phrase is `pairs @@ ('A:one_two' & 'A:two_three')` in each field, or, in a field too
    long to keep pairs, `words @@ ('a:one' & 'a:two' & 'a:three' & 'A!')`; AND and OR
    compose. With days (a parameter's name), each tsquery also asks for one of its days.
    For a walk of the order index, the match is a function call (ts_match_vq is what @@
    calls), which no plan can turn into a read of the word's whole GIN entry."""

    def __init__(self, params: dict[str, Any], days: str | None, walk: bool) -> None:
        self.params, self.days, self.walk = params, days, walk

    def on(self, column: str, tsquery: str) -> str:
        params = self.params
        name = next((key for key, value in params.items() if value == tsquery), None)
        if name is None:
            name = f"q{sum(key.startswith('q') for key in params)}"
            params[name] = tsquery
        if self.walk:
            return f"ts_match_vq({column}, CAST(:{name} AS tsquery))"
        if self.days is None:
            return f"{column} @@ CAST(:{name} AS tsquery)"
        return f"{column} @@ (CAST(:{name} AS tsquery) && CAST(:{self.days} AS tsquery))"

    def term(self, term: Term) -> str:
        star = ":*" if term.prefix else ""
        return self.on(
            "words", " | ".join(f"'{_lexeme(f, term.token)}'{star}" for f in term.fields)
        )

    def phrase(self, phrase: Phrase) -> str:
        star = ":*" if phrase.prefix else ""
        paired, unpaired = [], []
        for field in phrase.fields:
            pairs = [f"'{_lexeme(field, a, b)}'" for a, b in pairwise(phrase.tokens)]
            words = [f"'{_lexeme(field, token)}'" for token in phrase.tokens]
            pairs[-1] += star
            words[-1] += star
            paired.append(f"({' & '.join(pairs)})")
            unpaired.append(f"({' & '.join(words)} & '{_TAGS[field].upper()}!')")
        return (
            f"({self.on('pairs', ' | '.join(paired))} OR {self.on('words', ' | '.join(unpaired))})"
        )

    def all_of(self, parts: list[str]) -> str:
        return "(" + " AND ".join(parts) + ")"

    def any_of(self, parts: list[str]) -> str:
        return "(" + " OR ".join(parts) + ")"


def postgres_condition(
    plan: Lookup, params: dict[str, Any], days: str | None = None, walk: bool = False
) -> str:
    """The plan as an SQL condition (see _Condition)."""
    return plan.fold(_Condition(params, days, walk))


def _lexeme(field: str, token: str, then: str | None = None) -> str:
    """A token's (or with then, a pair's) lexeme, quoted for a tsquery."""
    tag = _TAGS[field]
    text = (
        f"{tag}:{token[:MAX_TOKEN]}"
        if then is None
        else f"{tag.upper()}:{token[:MAX_TOKEN]}_{then[:MAX_TOKEN]}"
    )
    return text.replace("\\", "\\\\").replace("'", "''")


# A release before 0007 writes rows without first_seen or day lexemes while a rolling
# deploy runs it beside this one (or after a downgrade): this partial index finds them.
UNREPAIRED_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_paper_index_unrepaired ON paper_index (paper_id) "
    "WHERE first_seen IS NULL"
)


def unrepaired(conn: Connection) -> list[int]:
    """Papers whose rows an earlier release wrote (no first_seen, no day lexemes: a
    search's tiers cannot see them)."""
    return list(
        conn.execute(sa.text("SELECT paper_id FROM paper_index WHERE first_seen IS NULL")).scalars()
    )
