"""arXiv OAI-PMH answers (export.arxiv.org/oai2): ListRecords and GetRecord pages in the
`arXivRaw` or `arXiv` metadata format, with the resumption token of the next page.

Read with lxml's iterparse, each record cleared once read, so a page of a thousand records
costs one record's tree; no DTD, entity or network access (a hostile body stays a body).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from parsing.errors import ParseError, ParseResult
from parsing.feed import strip_affiliation
from parsing.model import arxiv_id_from

_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
_ARXIV = "{http://arxiv.org/OAI/arXiv/}"
_WANTED = (
    f"{_OAI}OAI-PMH",
    f"{_OAI}responseDate",
    f"{_OAI}record",
    f"{_OAI}resumptionToken",
    f"{_OAI}error",
)
# An answer that says the request matched nothing: an empty harvest, not a failure.
NO_RECORDS = "noRecordsMatch"
_VERSION = re.compile(r"^v(\d+)$")
# An author list's separators outside parentheses: "A, B, and C", "A and B", "A, B".
_AND = re.compile(r"\s+and\s+")
_LEADING_AND = re.compile(r"^and\s+")


class OaiError(ParseError):
    """The repository answered with an OAI-PMH error (code: badResumptionToken, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"OAI-PMH error {code}: {message or 'no message'}")
        self.code = code


@dataclass(frozen=True)
class OaiRecord:
    """Everything one record says, as arXiv wrote it (text whitespace-normalised)."""

    arxiv_id: str
    datestamp: str | None = None
    deleted: bool = False
    title: str | None = None
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # (number, date or datetime): arXivRaw gives each version's submission time; arXiv
    # gives the day of v1 (created) and of the latest version (updated, number unknown).
    versions: tuple[tuple[int, date | datetime], ...] = ()
    created: date | None = None
    updated: date | None = None
    comments: str | None = None
    journal_ref: str | None = None
    dois: tuple[str, ...] = ()
    license: str | None = None
    report_no: str | None = None


@dataclass
class Page:
    """One OAI-PMH answer: its papers, the token of the next page (None: the list is
    complete), the list's size and this page's place in it when the repository says."""

    result: ParseResult = field(default_factory=ParseResult)
    records: int = 0  # records on the page, deleted ones included
    token: str | None = None
    cursor: int | None = None
    complete_size: int | None = None
    response_date: datetime | None = None
    error: str | None = None  # the OAI-PMH error code, when the answer is one


def parse(body: bytes) -> ParseResult:
    """The papers of one OAI-PMH page (the `oai` source kind reads pages through refresh.oai)."""
    return parse_page(body).result


def parse_page(body: bytes) -> Page:
    """Read one OAI-PMH answer; an OAI-PMH error other than noRecordsMatch is a ParseError,
    with the repository's code (badResumptionToken, badArgument, ...) first in its message."""
    page = Page()
    try:
        for element in _elements(body, page):
            if element.tag == f"{_OAI}record":
                _add(page.result, f"record {page.records}", read_record(element))
                page.records += 1
            elif element.tag == f"{_OAI}resumptionToken":
                page.token = (element.text or "").strip() or None
                page.cursor = _number(element.get("cursor"))
                page.complete_size = _number(element.get("completeListSize"))
            elif element.tag == f"{_OAI}responseDate":
                page.response_date = _moment(element.text)
            elif element.tag == f"{_OAI}error":
                page.error = element.get("code") or "unknown"
                if page.error != NO_RECORDS:
                    raise OaiError(page.error, " ".join((element.text or "").split()))
    except etree.XMLSyntaxError as error:
        raise ParseError(f"not well-formed XML ({error})") from None
    return page


def _elements(body: bytes, page: Page) -> Iterator[Any]:
    """The elements of interest, each complete, then cleared with what came before it."""
    events = etree.iterparse(
        io.BytesIO(body),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    for event, element in events:
        if event == "start":
            if element.getparent() is None and element.tag != f"{_OAI}OAI-PMH":
                _other_kind(element.tag, page)
                return
            continue
        if element.tag in _WANTED[1:]:
            yield element
            if element.tag == f"{_OAI}record":
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del element.getparent()[0]


def _other_kind(tag: str, page: Page) -> None:
    name = etree.QName(tag).localname.lower() if isinstance(tag, str) else ""
    if name in ("html", "body"):
        raise ParseError("an HTML page, not an OAI-PMH answer")
    page.result = ParseResult.other_kind(
        f"a <{name}> document, where arXiv's OAI-PMH answers <OAI-PMH> (is the kind right?)"
    )


def read_record(element: Any) -> OaiRecord | str:
    """One <record> as an OaiRecord, or why it cannot be one."""
    header = element.find(f"{_OAI}header")
    if header is None:
        return "no header"
    identifier = _text(header.find(f"{_OAI}identifier"))
    datestamp = _text(header.find(f"{_OAI}datestamp"))
    if header.get("status") == "deleted":
        arxiv_id = arxiv_id_from(identifier) or identifier or ""
        return OaiRecord(arxiv_id=arxiv_id, datestamp=datestamp, deleted=True)
    metadata = element.find(f"{_OAI}metadata")
    raw = None if metadata is None else metadata.find(f"{_RAW}arXivRaw")
    if raw is not None:
        return _raw_record(raw, datestamp)
    full = None if metadata is None else metadata.find(f"{_ARXIV}arXiv")
    if full is not None:
        return _arxiv_record(full, datestamp)
    return f"{identifier or 'a record'}: no arXivRaw or arXiv metadata"


def _raw_record(raw: Any, datestamp: str | None) -> OaiRecord:
    def text(name: str) -> str | None:
        return _text(raw.find(f"{_RAW}{name}"))

    versions = []
    for version in raw.iterfind(f"{_RAW}version"):
        number = _VERSION.match(version.get("version") or "")
        when = _moment(_text(version.find(f"{_RAW}date")))
        if number and when is not None:
            versions.append((int(number.group(1)), when))
    return OaiRecord(
        arxiv_id=text("id") or "",
        datestamp=datestamp,
        title=text("title"),
        abstract=text("abstract"),
        authors=tuple(split_authors(text("authors") or "")),
        categories=tuple((text("categories") or "").split()),
        versions=tuple(sorted(versions)),
        comments=text("comments"),
        journal_ref=text("journal-ref"),
        dois=tuple((text("doi") or "").split()),
        license=text("license"),
        report_no=text("report-no"),
    )


def _arxiv_record(full: Any, datestamp: str | None) -> OaiRecord:
    def text(name: str, within: Any = full) -> str | None:
        return _text(within.find(f"{_ARXIV}{name}"))

    authors = []
    for author in full.iterfind(f"{_ARXIV}authors/{_ARXIV}author"):
        # "forenames keyname suffix"; a collaboration is a keyname alone.
        parts = (text("forenames", author), text("keyname", author), text("suffix", author))
        name = " ".join(part for part in parts if part)
        if name:
            authors.append(name)
    created, updated = _day(text("created")), _day(text("updated"))
    return OaiRecord(
        arxiv_id=text("id") or "",
        datestamp=datestamp,
        title=text("title"),
        abstract=text("abstract"),
        authors=tuple(authors),
        categories=tuple((text("categories") or "").split()),
        versions=((1, created),) if created else (),
        created=created,
        updated=updated,
        comments=text("comments"),
        journal_ref=text("journal-ref"),
        dois=tuple((text("doi") or "").split()),
        license=text("license"),
        report_no=text("report-no"),
    )


def paper_fields(record: OaiRecord) -> dict[str, Any]:
    """The make_paper arguments of a record. Its title and abstract are those of its latest
    version: a record with more than one version supersedes what a listing said of an older."""
    published = record.versions[0][1] if record.versions else None
    if isinstance(published, date) and not isinstance(published, datetime):
        published = datetime(published.year, published.month, published.day, tzinfo=UTC)
    return {
        "title": record.title,
        "abstract": record.abstract,
        "arxiv_id": record.arxiv_id,
        "authors": record.authors,
        "categories": record.categories,
        "published": published,
        "doi": record.dois[0] if record.dois else None,
        "versions": record.versions,
        "license": record.license,
        "supersedes": len(record.versions) > 1 or record.updated is not None,
        # The latest version, as an arXiv listing names it (the merge keeps the later).
        "version": max((number for number, _ in record.versions), default=None),
        **reader_fields(record),
    }


def reader_fields(record: OaiRecord) -> dict[str, str | None]:
    """What a record says for the Paper fields journal_ref and author_comments (arXiv's
    "Comments:" line)."""
    return {"journal_ref": record.journal_ref, "author_comments": record.comments}


def split_authors(text: str) -> list[str]:
    """arXivRaw's one author string as names: split at commas and at "and" outside
    parentheses ("A (X and Y), B, and C" -> A, B, C), affiliations in parentheses dropped."""
    names: list[str] = []
    depth, start = 0, 0
    text = " ".join(text.split())
    cuts: list[tuple[int, int]] = []
    for position, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and char == ",":
            cuts.append((position, position + 1))
        elif depth == 0 and char == " ":
            separator = _AND.match(text, position)
            if separator:
                cuts.append((position, separator.end()))
    for begin, end in cuts:
        if begin >= start:
            names.append(text[start:begin])
            start = end
    names.append(text[start:])
    cleaned = (strip_affiliation(_LEADING_AND.sub("", name.strip())) for name in names)
    return [name for name in cleaned if name]


def _add(result: ParseResult, where: str, record: OaiRecord | str) -> None:
    if isinstance(record, str):
        result.skip(where, record)
    elif record.deleted:
        result.skip(where, f"{record.arxiv_id or 'a record'} is deleted upstream")
    elif not record.arxiv_id:
        result.skip(where, "no arXiv id")
    else:
        result.add(f"{where} ({record.arxiv_id})", **paper_fields(record))


def _text(element: Any) -> str | None:
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _moment(value: str | None) -> datetime | None:
    """An OAI-PMH responseDate (ISO 8601, UTC) or an arXivRaw version date (RFC 2822)."""
    if not value:
        return None
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
