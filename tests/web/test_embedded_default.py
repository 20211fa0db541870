"""The embedded default (samples/paperfeed.toml) as `make run` serves it offline: its bundled
sources only (the live ones would need the network), read once."""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.helpers import ROOT, live_server
from tests.web.test_pages import SCREENSHOTS, browser, page_problems  # noqa: F401

BUNDLED = ["samples", "samples-hf-api", "samples-arxiv"]


@pytest.fixture(scope="module")
def default_app(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("default")
    app = create_app(
        {
            "config_path": str(ROOT / "samples" / "paperfeed.toml"),
            "database_url": f"sqlite:///{folder / 'paperfeed.db'}",
            "scheduler": "off",
            "generation_check_seconds": 0,
            "search_in_processes": False,
        }
    )
    svc = app.extensions["paperfeed"]
    report = svc.refresher.run(force=True, only=BUNDLED)
    assert [s.status for s in report.sources] == ["ok"] * 3
    svc.invalidate()
    yield app
    svc.close()


def test_the_default_shows_authors_dates_arxiv_links_and_upvotes(default_app) -> None:
    client = default_app.test_client()
    index = client.get("/").get_data(as_text=True)
    assert "719 papers stored" in index
    hot = re.search(r'id="topic-hf-hot".*?<span class="count">(\d+)</span>', index, re.DOTALL)
    assert hot and int(hot.group(1)) == 8
    weeks = re.findall(r"<title>week of [0-9-]+: (\d+)</title>", index)
    assert len(weeks) >= 5  # Oct 2024, Nov 2024, Jul 2025 ... and the text listings' week
    page = client.get("/topics/hf-hot").get_data(as_text=True)
    cards = re.findall(r'<article class="paper">.*?</article>', page, re.DOTALL)
    assert len(cards) == 8
    for card in cards:
        assert re.search(r'<time datetime="20(24|25)-', card)  # the paper's own date
        assert 'class="authors"' in card and 'href="https://arxiv.org/abs/' in card
        assert re.search(r'class="upvotes">\d+ upvotes', card)
    arxiv = client.get("/topics/vision-transformers").get_data(as_text=True)
    assert "cs.CV" in arxiv and 'href="https://arxiv.org/abs/2411.' in arxiv


@pytest.mark.slow
def test_the_default_in_chromium_at_both_widths_passes_axe(default_app, browser) -> None:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with live_server(default_app) as base:
        problems += page_problems(
            browser, base, {"default-index": "/", "default-hot": "/topics/hf-hot"}
        )
    assert not problems, "\n".join(problems)
