"""A batch of listing papers matched to the stored records they describe, in memory.

The store looks every key of a batch up at once (one query per key kind: store.papers);
this module then takes the papers in their order, as storing them one at a time would: a
paper finds the records it describes by arXiv id, DOI, the listing's item id and title, the
oldest first for each key, skipping a record whose arXiv id or DOI differs from the paper's
(another paper, whatever its title); records found twice merge into the first; the paper
merges into what is left (store.merge: the one policy). A later paper of the batch sees
what an earlier one did. What is left to write is then a set: records to delete, update
and insert. No SQL here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parsing.model import Paper
from store.merge import adds_nothing, merge
from store.records import StoredPaper

# The identity keys, strongest first (parsing.model.Paper.identity).
KEYS = ("arxiv_id", "doi", "item_id", "title_key")
_UNSAVED = 1 << 62  # sorts records not stored yet after every stored one, in batch order


@dataclass(eq=False)
class Slot:
    """One record as the batch sees it: stored (keys read, the whole record once a paper
    needs it) or new in this batch; with what storing the batch does to it."""

    keys: dict[str, Any]  # KEYS, first_seen, id, content_hash, published
    record: StoredPaper | None = None  # None: only the keys were read
    new: bool = False
    gone: bool = False  # merged into another record
    into: Slot | None = None  # the record it was merged into
    dirty: bool = False  # to be written
    changed_again: bool = False  # new in the batch and changed by a later paper of it
    sequence: int = 0

    @property
    def order(self) -> tuple[datetime, int]:
        """Which of two records is the older: the lookup's ORDER BY first_seen, id."""
        return self.keys["first_seen"], self.keys["id"] or _UNSAVED + self.sequence

    def describe(self, record: StoredPaper) -> None:
        self.record = record
        self.keys = {
            **{key: getattr(record, key) for key in KEYS},
            "first_seen": record.first_seen,
            "id": record.id,
            "content_hash": self.keys.get("content_hash"),
            "published": record.published,
        }


@dataclass
class Outcome:
    """What one paper did to the batch's records."""

    unchanged: bool = False
    merged: list[Slot] = field(default_factory=list)  # stored records merged away


class Batch:
    """The records a batch's keys found, indexed by those keys, and the batch's new ones."""

    def __init__(self, found: Iterator[dict[str, Any]]) -> None:
        self.slots: list[Slot] = []
        self._by_key: dict[tuple[str, Any], list[Slot]] = {}
        self._by_id: dict[int, Slot] = {}
        for keys in found:
            if keys["id"] not in self._by_id:
                self._add(Slot(keys=keys))

    def _add(self, slot: Slot) -> None:
        slot.sequence = len(self.slots)
        self.slots.append(slot)
        if slot.keys["id"] is not None:
            self._by_id[slot.keys["id"]] = slot
        self._index(slot)

    def _index(self, slot: Slot) -> None:
        for key in KEYS:
            value = slot.keys[key]
            if value:
                self._by_key.setdefault((key, value), []).append(slot)

    def _unindex(self, slot: Slot) -> None:
        for key in KEYS:
            value = slot.keys[key]
            if value:
                self._by_key[(key, value)].remove(slot)

    def records_of(self, paper: Paper) -> list[Slot]:
        """The records paper describes, strongest key first (store.papers' one-paper rule)."""
        found: list[Slot] = []
        for key in KEYS:
            value = getattr(paper, key)
            if not value:
                continue
            best: Slot | None = None
            for slot in self._by_key.get((key, value), ()):
                if _other_paper(slot, paper):
                    continue
                if best is None or slot.order < best.order:
                    best = slot
            if best is not None and best not in found:
                found.append(best)
        return found

    def needs_records(self, paper: Paper, incoming: StoredPaper) -> list[Slot]:
        """The stored records whose whole rows paper needs read (none when its record would
        stay as it is): asked of every paper first, so the rows are read in one query."""
        found = self.records_of(paper)
        if len(found) == 1 and _adds_nothing(found[0], incoming):
            return []
        return [slot for slot in found if slot.record is None]

    def add(self, paper: Paper, incoming: StoredPaper) -> Outcome:
        """Merge paper (as the record incoming) into the batch's records."""
        found = self.records_of(paper)
        if not found:
            slot = Slot(keys={"content_hash": incoming.content_hash}, new=True, dirty=True)
            slot.describe(incoming)
            self._add(slot)
            return Outcome()
        existing, *duplicates = found
        if not duplicates and _adds_nothing(existing, incoming):
            return Outcome(unchanged=True)
        unread = [slot.keys["id"] for slot in found if slot.record is None]
        if unread:  # before anything changes: the caller reads them and asks again
            raise Unread(unread)
        record = _record(existing)
        outcome = Outcome()
        for other in duplicates:
            # One paper stored twice (first seen by title or item id, now with its arXiv id
            # or DOI): the records merge into the first, which keeps the oldest GUID.
            record = merge(record, _record(other))
            other.gone = True
            other.into = existing
            self._unindex(other)
            if not other.new:
                outcome.merged.append(other)
        merged = merge(record, incoming, supersedes=paper.supersedes)
        outcome.unchanged = merged is record
        if merged is not _record(existing):
            self._unindex(existing)
            existing.describe(merged)
            existing.keys["content_hash"] = merged.content_hash  # what the write will store
            self._index(existing)
            existing.changed_again = existing.new
            existing.dirty = True
        return outcome

    def slot(self, paper_id: int) -> Slot:
        return self._by_id[paper_id]

    def changed(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.dirty and not slot.gone and not slot.new]

    def new(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.new and not slot.gone]


class Unread(LookupError):
    """A paper needs records whose rows were not read (an earlier paper of the batch
    changed what it finds): their ids."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"records not read: {ids}")
        self.ids = ids


def _record(slot: Slot) -> StoredPaper:
    if slot.record is None:
        raise LookupError(f"record {slot.keys['id']} was not read")
    return slot.record


def _adds_nothing(slot: Slot, incoming: StoredPaper) -> bool:
    """Does incoming leave slot's record as it is (store.merge.adds_nothing: from its
    keys, unread)?"""
    return adds_nothing(slot.keys["content_hash"], slot.keys["published"], incoming)


def _other_paper(slot: Slot, paper: Paper) -> bool:
    """Does slot's arXiv id or DOI say it is another paper than paper?"""
    for key in ("arxiv_id", "doi"):
        mine = getattr(paper, key)
        if mine and slot.keys[key] is not None and slot.keys[key] != mine:
            return True
    return False
