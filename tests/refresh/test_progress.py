"""Long steps report how far they are: storing, matching, re-matching, migrating."""

from __future__ import annotations

from migrations import upgrade
from refresh.pipeline import Refresher
from store import Store
from tests.helpers import SEED_COUNTS


def test_refresh_and_rematching_report_each_paper(config_for) -> None:
    config = config_for()
    store = Store(config.database_url)
    upgrade(store.engine)
    seen: list[tuple[str, int, int | None]] = []
    Refresher(config, store, steps=lambda *step: seen.append(step)).run(force=True)
    storing = [s[1:] for s in seen if s[0] == "samples: storing papers"]
    # Each listing file is streamed to the store in batches: a count from 0 while its size is
    # not known, then all of its papers out of all of them.
    finished = [total for done, total in storing if total is not None]
    assert sorted(finished) == sorted(SEED_COUNTS.values())
    assert storing.count((0, None)) == len(finished)
    counts = [done for done, _ in storing]
    starts = [i for i, step in enumerate(storing) if step == (0, None)]
    for first, last in zip(starts, starts[1:] + [len(storing)], strict=True):
        assert counts[first:last] == sorted(counts[first:last])  # it only goes up

    changed = config_for(topics={"vit": {"query": "vit OR deit"}, "new": "resnet"})
    seen.clear()
    Refresher(changed, store, steps=lambda *step: seen.append(step)).run(force=True, only=["x"])
    rematching = [s for s in seen if s[0] == "re-matching changed topics"]
    assert rematching == [("re-matching changed topics", n, 2) for n in range(3)]
    store.dispose()


def test_migrations_report_each_revision(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'new.db'}")
    seen: list[tuple[str, int, int]] = []
    upgrade(store.engine, steps=lambda *step: seen.append(step))
    total = seen[0][2]
    assert seen == [("migrating the database", done, total) for done in range(total + 1)]
    seen.clear()
    upgrade(store.engine, steps=lambda *step: seen.append(step))
    assert seen == []  # nothing to apply, nothing to say
    store.dispose()
