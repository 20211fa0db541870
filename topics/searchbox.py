"""What people type or paste in a search box, read as they meant it.

A topic's rule is checked strictly (topics.query.parse: an unknown field is a mistake to
fix in the config). A search box is forgiving: a pasted arXiv id, arXiv link or DOI finds
that paper (`id:`, `doi:`), and a word followed by a colon that names no field (`Swin
Transformer V2: Scaling Up ...`, a pasted title) is searched as a word, with a hint saying
so. The query it gives is one that parse() reads as it is (its text is the rewritten
text), so a search process can parse it again.
"""

from __future__ import annotations

from topics import identifiers
from topics.hints import Hint, hints
from topics.query import Query, UnknownField, parse

MAX_UNKNOWN_FIELDS = 16  # past these, the error of the next one is shown


def read(text: str) -> tuple[Query, list[Hint]]:
    """The query a search box's text means, with hints on how it was read. Raises
    QueryError as parse() does for what cannot be read."""
    reference = _paper_reference(text)
    if reference is not None:
        query = parse(reference)
        return query, [Hint(f"read as {reference}: {query.describe()}", 1, reference)]
    read_as = text
    notes: list[Hint] = []
    while True:
        try:
            query = parse(read_as)
        except UnknownField as error:
            start = (error.column or 0) - 1
            colon = start + len(error.name)
            if len(notes) >= MAX_UNKNOWN_FIELDS or read_as[start : colon + 1] != f"{error.name}:":
                raise
            # The same length: every column stays where the text has it.
            read_as = f"{read_as[:colon]} {read_as[colon + 1 :]}"
            notes.append(
                Hint(
                    f"'{error.name}:' is not a field, so '{error.name}' is searched as a word "
                    f"({error.message.split(': ', 1)[1]})",
                    start + 1,
                    error.name,
                )
            )
            continue
        return query, notes + hints(query)


def _paper_reference(text: str) -> str | None:
    """id:"..." or doi:"..." when the whole text is a paper's arXiv id, link or DOI."""
    found = identifiers.arxiv_id(text)
    if found is not None:
        return f'id:"{found}"'
    found = identifiers.doi(text)
    if found is not None and '"' not in found and "\\" not in found:
        return f'doi:"{found}"'
    return None
