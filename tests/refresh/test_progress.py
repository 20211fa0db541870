"""Long steps report how far they are: storing, matching, re-matching, migrating."""

from __future__ import annotations

from migrations import upgrade
from refresh.pipeline import Refresher
from store import Store


def test_refresh_and_rematching_report_each_paper(config_for) -> None:
    config = config_for()
    store = Store(config.database_url)
    upgrade(store.engine)
    seen: list[tuple[str, int, int]] = []
    Refresher(config, store, steps=lambda *step: seen.append(step)).run(force=True)
    storing = [s for s in seen if s[0] == "samples: storing papers"]
    assert storing[0] == ("samples: storing papers", 0, storing[-1][2])
    assert storing[-1][1] == storing[-1][2] > 400
    assert ("matching against topics", 431, 431) in seen

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
