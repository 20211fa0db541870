"""Titles with TeX show as readable text in feeds and pages, one way whatever the listing."""

from __future__ import annotations

import feedparser
import pytest

from feeds import render
from feeds.math import readable
from tests.feeds.test_items import INFO, paper


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (
            "$H^3$Fusion: Helpful, Harmless, Honest Fusion of Aligned LLMs",
            "H³Fusion: Helpful, Harmless, Honest Fusion of Aligned LLMs",
        ),
        (
            "GUI-G^2: Gaussian Reward Modeling for GUI Grounding",
            "GUI-G²: Gaussian Reward Modeling for GUI Grounding",
        ),
        ("consistent with {\\Lambda}CDM", "consistent with ΛCDM"),
        (
            "From the Shastry-Sutherland model to the $J_1$-$J_2$ Heisenberg model",
            "From the Shastry-Sutherland model to the J₁-J₂ Heisenberg model",
        ),
        (
            "The exotic structure of the spectral $\\zeta$-function",
            "The exotic structure of the spectral ζ-function",
        ),
        ("at $z \\sim$ 0.3", "at z ∼ 0.3"),
        # Not TeX: kept as written.
        ("A 100% & plain_title ~ as is", "A 100% & plain_title ~ as is"),
        ("Scaling up 10x with 2% of the data, $O(n)$", "Scaling up 10x with 2% of the data, O(n)"),
    ],
)
def test_tex_in_titles_reads_as_text(title: str, shown: str) -> None:
    assert readable(title) == shown


def test_feeds_show_the_readable_title() -> None:
    tex = paper(title="$H^3$Fusion: Helpful, Harmless, Honest Fusion of Aligned LLMs")
    for fmt in ("rss", "atom"):
        (entry,) = feedparser.parse(render.render(fmt, INFO, [tex])).entries
        assert entry.title.startswith("H³Fusion:")
