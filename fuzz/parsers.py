"""Coverage-guided fuzzing of every listing parser and the query parser with atheris.

    pip install atheris
    mkdir -p /tmp/corpus
    python fuzz/parsers.py -max_len=20000 /tmp/corpus tests/parsing/data/seeds

tests/parsing/data/seeds (beside the other parser fixtures) holds one sample per parser,
prefixed with the byte that selects it; new inputs go to the first folder (keep it out of
the repository).

Only ParseError (listings) and QueryError (queries) may escape; anything else is a crash
that atheris reports with the input that caused it. Not part of `make test`: hypothesis
covers the same ground there (tests/test_hazards.py); this runs for as long as you let it.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import parsing
    from topics.query import QueryError, parse

KINDS = sorted(parsing.KINDS)


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    choice = provider.ConsumeIntInRange(0, len(KINDS))
    if choice == len(KINDS):
        with contextlib.suppress(QueryError):
            parse(provider.ConsumeUnicodeNoSurrogates(600))
        return
    with contextlib.suppress(parsing.ParseError):
        parsing.parse(KINDS[choice], provider.ConsumeBytes(20_000))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
