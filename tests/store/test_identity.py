"""The merge rules for a paper's DOI, item id and links, as a table; and the identity
lookups that use them, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import parsing
from parsing.model import make_paper
from store import Store
from store.merge import merge, sighting

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def seen(at: datetime = T0, **fields: object) -> object:
    fields.setdefault("title", "A Paper")
    return sighting(make_paper(**fields), "src", at)  # type: ignore[arg-type]


CODE = ("code", "https://github.com/a/b")
PROJECT = ("project", "https://a.github.io/b")
OTHER_CODE = ("code", "https://github.com/c/d")


@pytest.mark.parametrize(
    ("kept", "other", "field", "expected"),
    [
        ({"doi": "10.1000/a"}, {}, "doi", "10.1000/a"),
        ({}, {"doi": "10.1000/a"}, "doi", "10.1000/a"),
        ({"doi": "10.1000/a"}, {"doi": "10.1000/b"}, "doi", "10.1000/a"),
        ({"item_id": "x"}, {}, "item_id", "x"),
        ({}, {"item_id": "y"}, "item_id", "y"),
        ({"links": [CODE]}, {"links": [PROJECT]}, "links", (CODE, PROJECT)),
        ({"links": [PROJECT]}, {"links": [CODE]}, "links", (CODE, PROJECT)),
        ({"links": [CODE]}, {"links": [OTHER_CODE]}, "links", (CODE,)),
        ({}, {"links": [OTHER_CODE]}, "links", (OTHER_CODE,)),
    ],
)
def test_merge_rules_for_the_new_fields(
    kept: dict[str, object], other: dict[str, object], field: str, expected: object
) -> None:
    merged = merge(seen(T0, **kept), seen(T1, **other))  # type: ignore[arg-type]
    assert getattr(merged, field) == expected


@pytest.mark.parametrize(
    ("kept", "other", "title"),
    [
        # Known only by the listing's item id: the newer sighting corrected the title.
        ({"item_id": "guid-1"}, {"item_id": "guid-1"}, "Corrected Title"),
        # Different items, or a paper with a stronger identity: the title stays.
        ({"item_id": "guid-1"}, {"item_id": "guid-2"}, "Old Title"),
        ({"item_id": "guid-1", "doi": "10.1000/a"}, {"item_id": "guid-1"}, "Old Title"),
        ({"item_id": "guid-1", "arxiv_id": "2401.00001"}, {"item_id": "guid-1"}, "Old Title"),
    ],
)
def test_a_corrected_title_wins_only_for_the_same_item(
    kept: dict[str, object], other: dict[str, object], title: str
) -> None:
    old = seen(T0, title="Old Title", **kept)
    new = seen(T1, title="Corrected Title", **other)
    merged = merge(old, new)  # type: ignore[arg-type]
    assert merged.title == title
    assert merged.guid == old.guid  # type: ignore[attr-defined]


def test_a_title_change_under_the_same_item_id_keeps_the_guid(store: Store) -> None:
    first = make_paper(title="Catalysis of an S N 2 pathway", item_id="https://x.org/a/1")
    store.upsert([first], "journal", T0)
    (before,) = list(store.iter_papers())
    fixed = replace(first, title="Catalysis of an SN2 pathway")
    result = store.upsert([fixed], "journal", T1)
    (after,) = list(store.iter_papers())
    assert result.new == [] and result.changed == [before.id]
    assert (after.id, after.guid, after.first_seen) == (before.id, before.guid, before.first_seen)
    assert after.title == "Catalysis of an SN2 pathway"


def test_the_same_doi_from_two_feeds_is_one_paper(store: Store) -> None:
    store.upsert([make_paper(title="Title A", doi="doi:10.1038/X1")], "rss", T0)
    store.upsert(
        [make_paper(title="Title A (journal version)", doi="https://doi.org/10.1038/x1")],
        "atom",
        T1,
    )
    (paper,) = list(store.iter_papers())
    assert paper.doi == "10.1038/x1" and paper.sources == ("atom", "rss")
    assert store.find_paper("doi:10.1038/x1") == paper


def test_papers_with_the_same_title_and_different_dois_stay_apart(store: Store) -> None:
    store.upsert([make_paper(title="Author Correction", doi="10.1000/a")], "rss", T0)
    store.upsert([make_paper(title="Author Correction", doi="10.1000/b")], "rss", T0)
    assert store.count_papers() == 2


def test_a_record_by_item_id_merges_into_the_arxiv_record_later(store: Store) -> None:
    store.upsert([make_paper(title="Residual Nets", item_id="tag:x,1")], "blog", T0)
    (first,) = list(store.iter_papers())
    links = [("code", "https://github.com/k/resnet")]
    store.upsert([make_paper(title="Residual Nets", arxiv_id="1512.03385", links=links)], "hf", T1)
    (paper,) = list(store.iter_papers())
    assert paper.guid == first.guid and paper.arxiv_id == "1512.03385"
    assert paper.item_id == "tag:x,1" and paper.links == (("code", "https://github.com/k/resnet"),)


def test_a_feed_item_without_a_guid_is_known_by_its_link(store: Store) -> None:
    """A corrected title under the same <link> is the same item, not a second one."""

    def item(title: str) -> bytes:
        return (
            '<rss version="2.0"><channel><title>lab</title><item>'
            f"<title>{title}</title><link>https://lab.example.org/posts/7</link>"
            "<description>A post.</description></item></channel></rss>"
        ).encode()

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    store.upsert(parsing.parse("feed", item("Sparse atention")).papers, "lab", t0)
    first = store.find_paper("1")
    store.upsert(parsing.parse("feed", item("Sparse attention")).papers, "lab", t0 + timedelta(1))
    assert store.count_papers() == 1
    again = store.find_paper("1")
    assert first is not None and again is not None and again.guid == first.guid
