"""A paper's identifiers as people paste them: an arXiv id (`2410.03450`, `arXiv:2410.03450v2`,
`hep-th/9901001`), an arXiv link (abs, pdf, html), a DOI (`10.1145/3442188.3445922`,
`doi:...`, a doi.org link). Read to the form the store keeps: the arXiv id without its
version, the DOI in lower case. (parsing.model reads listings; this reads what a person
types, and the topics layer imports nothing above it.)
"""

from __future__ import annotations

import re

_ARXIV_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?"
_ARXIV = re.compile(
    r"(?:arxiv:\s*|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)?"
    + _ARXIV_ID
    + r"(?:\.pdf)?/?",
    re.IGNORECASE,
)
_DOI = re.compile(
    r"(?:doi:\s*|(?:https?://)?(?:dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/\S+)", re.IGNORECASE
)


def arxiv_id(text: str) -> str | None:
    """The arXiv id that text is, in whole (version dropped, old ids in lower case), else None."""
    found = _ARXIV.fullmatch(text.strip())
    if not found:
        return None
    value = found.group("id")
    return value.lower() if "/" in value else value


def doi(text: str) -> str | None:
    """The DOI that text is, in whole (lower case), else None."""
    found = _DOI.fullmatch(text.strip())
    return found.group("doi").lower() if found else None
