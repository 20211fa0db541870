"""The merge policy as a table: pure function, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from parsing.model import make_paper
from store.merge import merge, sighting
from store.records import StoredPaper

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(**values: object) -> StoredPaper:
    base = StoredPaper(
        id=1, guid="urn:a", title="A paper", sources=("s",), first_seen=T0, updated=T0
    )
    return replace(base, **values)  # type: ignore[arg-type]


# A title-keyed record seen first, then an arXiv-keyed one: two stored records, one paper.
BY_TITLE = record(
    id=1,
    guid="urn:paperfeed:title:abc",
    title="A Paper",
    abstract="short",
    url="https://example.org/a",
    upvotes=7,
    comments=2,
    sources=("hf-text",),
    categories=("cs.CV",),
    published=T0 - timedelta(days=3),
    first_seen=T0,
    updated=T0,
)
BY_ARXIV = record(
    id=2,
    guid="urn:arxiv:2401.00001",
    arxiv_id="2401.00001",
    title="A paper (v2)",
    abstract="a longer abstract",
    authors=("Ada", "Alan"),
    sources=("arxiv",),
    categories=("cs.LG",),
    published=T0 - timedelta(days=1),
    first_seen=T0 + timedelta(hours=1),
    updated=T0 + timedelta(hours=1),
)


@pytest.mark.parametrize(
    "first, second",
    [(BY_TITLE, BY_ARXIV), (BY_ARXIV, BY_TITLE)],
    ids=["title-record-first", "arxiv-record-first"],
)
def test_two_stored_records_become_one_and_nothing_is_lost(first, second) -> None:
    # Whichever record came first, the arXiv-keyed one (id 2) is kept, and so is its GUID:
    # both were in feeds, and the arXiv URN is the one every later listing names.
    if first is BY_ARXIV:
        older_arxiv = replace(BY_ARXIV, first_seen=T0 - timedelta(hours=1))
        kept, gone = older_arxiv, BY_TITLE
    else:
        kept, gone = BY_ARXIV, BY_TITLE
    merged = merge(kept, gone)
    oldest = min((kept, gone), key=lambda r: r.first_seen)
    assert merged.id == 2
    assert (merged.guid, merged.first_seen) == ("urn:arxiv:2401.00001", oldest.first_seen)
    assert merged.url == "https://example.org/a"
    assert (merged.upvotes, merged.comments) == (7, 2)
    assert merged.authors == ("Ada", "Alan")
    assert set(merged.categories) == {"cs.CV", "cs.LG"}
    assert merged.sources == ("arxiv", "hf-text")
    assert merged.arxiv_id == "2401.00001"
    assert merged.abstract == "a longer abstract"
    assert merged.published == T0 - timedelta(days=3)
    assert merged.updated == max(kept.updated, gone.updated)


@pytest.mark.parametrize(
    "existing, incoming, supersedes, expected",
    [
        # the longer abstract wins; the title stays
        (
            {"abstract": "short"},
            {"abstract": "much longer", "title": "Other"},
            False,
            {"abstract": "much longer", "title": "A paper"},
        ),
        ({"abstract": "much longer"}, {"abstract": "short"}, False, {"abstract": "much longer"}),
        # a 'replace' announcement brings its title and abstract, even a shorter one
        (
            {"abstract": "much longer"},
            {"abstract": "v2", "title": "New title"},
            True,
            {"abstract": "v2", "title": "New title", "title_key": "new title"},
        ),
        # ...but an empty abstract does not erase the known one
        ({"abstract": "known"}, {"abstract": ""}, True, {"abstract": "known"}),
        # authors, url and arXiv id: the stored ones when known, else the newcomer's
        ({"authors": ("A",)}, {"authors": ("B",)}, False, {"authors": ("A",)}),
        ({"authors": ()}, {"authors": ("B",)}, False, {"authors": ("B",)}),
        ({"url": None}, {"url": "https://x.org"}, False, {"url": "https://x.org"}),
        ({"url": "https://a.org"}, {"url": "https://x.org"}, False, {"url": "https://a.org"}),
        ({"arxiv_id": None}, {"arxiv_id": "2401.1"}, False, {"arxiv_id": "2401.1"}),
        # counts: the fresher record's, and a missing count never erases one
        ({"upvotes": 3}, {"upvotes": 9}, False, {"upvotes": 9}),
        ({"upvotes": 3}, {"upvotes": None}, False, {"upvotes": 3}),
        ({"comments": None}, {"comments": 4}, False, {"comments": 4}),
        # lists are united, stored order first
        (
            {"categories": ("a", "b")},
            {"categories": ("b", "c")},
            False,
            {"categories": ("a", "b", "c")},
        ),
        ({"sources": ("x",)}, {"sources": ("w",)}, False, {"sources": ("w", "x")}),
        # the earlier paper date wins
        (
            {"published": T0},
            {"published": T0 - timedelta(days=1)},
            False,
            {"published": T0 - timedelta(days=1)},
        ),
        ({"published": T0}, {"published": None}, False, {"published": T0}),
    ],
)
def test_a_sighting_merged_into_a_stored_record(existing, incoming, supersedes, expected) -> None:
    stored = record(**existing)
    later = T0 + timedelta(days=1)
    seen = record(id=None, guid="urn:new", first_seen=later, updated=later, **incoming)
    merged = merge(stored, seen, supersedes=supersedes)
    for name, value in expected.items():
        assert getattr(merged, name) == value, name
    assert (merged.id, merged.guid, merged.first_seen) == (1, "urn:a", T0)


def test_a_sighting_that_adds_nothing_leaves_the_record_untouched() -> None:
    stored = record(abstract="long abstract", upvotes=3, sources=("s",))
    later = T0 + timedelta(days=1)
    seen = record(id=None, abstract="short", upvotes=3, first_seen=later, updated=later)
    assert merge(stored, seen) is stored


def test_a_changed_record_is_marked_updated_when_it_changed() -> None:
    stored = record(upvotes=3)
    later = T0 + timedelta(days=1)
    merged = merge(stored, record(id=None, upvotes=5, first_seen=later, updated=later))
    assert merged.updated == later


def test_sighting_turns_a_paper_into_a_new_record() -> None:
    paper = make_paper(title="Deep Residual Learning", arxiv_id="1512.03385", upvotes=4)
    seen = sighting(paper, "hf", T0)
    assert seen.id is None and seen.guid == "urn:arxiv:1512.03385"
    assert (seen.first_seen, seen.updated, seen.sources) == (T0, T0, ("hf",))
    assert seen.title_key == "deep residual learning" and seen.upvotes == 4


def test_versions_are_united_with_the_more_precise_date_and_the_newer_versions_license() -> None:
    from parsing.model import Version

    kept = record(
        versions=(Version(1, "2008-01-25"),),
        version=1,
        license="http://arxiv.org/licenses/a/1.0/",
    )
    later = record(
        id=None,
        version=2,
        versions=(Version(1, "2008-01-25T10:00:00+00:00"), Version(2, "2008-03-01T09:00:00+00:00")),
        license="http://creativecommons.org/licenses/by/4.0/",
        updated=T0 + timedelta(days=1),
    )
    merged = merge(kept, later)
    assert merged.versions == later.versions
    assert merged.license == "http://creativecommons.org/licenses/by/4.0/"
    assert merge(later, kept).versions == later.versions  # the day alone never wins
    assert merge(kept, record(id=None, license=None)).license == kept.license
