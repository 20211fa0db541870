"""The HTML pages as a researcher uses them: cards, paging, highlighting, search, why."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app import create_app
from feeds import items
from tests.helpers import ROOT, live_server, need_tool, refresh, rich_sources
from web.pages import CARD_AUTHORS, PAGE_SIZE, activity_chart

SCREENSHOTS = ROOT / "test-artifacts" / "pages"
WIDTHS = (1280, 390)

TOPICS = """
[topics.imagenet]
query = 'imagenet'

[topics.residual]
query = '"residual learning" OR title:resnet*'

[topics.lowercase]
query = 'diffusion and not medical'

[topics.ranked]
query = 'imagenet'
order = "relevance"
"""


@pytest.fixture
def rich_app(rich_store):  # type: ignore[no-untyped-def]
    """An app on the module's store, refreshed once: the pages only read it."""
    config, database = rich_store
    app = create_app(
        {
            "config_path": str(config),
            "database_url": database,
            "scheduler": "off",
            "generation_check_seconds": 0,
            "search_in_processes": False,
        }
    )
    yield app
    app.extensions["paperfeed"].close()


@pytest.fixture(scope="module")
def rich_store(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("pages")
    config = folder / "paperfeed.toml"
    config.write_text(f"{rich_sources()}\n\n{TOPICS}")
    database = f"sqlite:///{folder / 'paperfeed.db'}"
    app = create_app({"config_path": str(config), "database_url": database, "scheduler": "off"})
    refresh(app)
    app.extensions["paperfeed"].store.dispose()
    return config, database


@pytest.fixture
def site(rich_app):  # type: ignore[no-untyped-def]
    return rich_app.test_client()


def _cards(page: str) -> list[str]:
    return re.findall(r'<article class="paper">.*?</article>', page, re.DOTALL)


def _titles(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<h3>(.*?)</h3>", page, re.DOTALL)]


def test_a_topic_pages_through_every_paper_once_with_rel_links(site) -> None:
    first = site.get("/topics/imagenet").get_data(as_text=True)
    total = int(re.search(r"<strong>(\d+) papers</strong>", first).group(1))  # type: ignore[union-attr]
    assert total > 2 * PAGE_SIZE
    assert len(_cards(first)) == PAGE_SIZE
    assert '<link rel="next" href="/topics/imagenet?page=2">' in first
    assert 'rel="prev"' not in first
    seen: list[str] = []
    page, url = first, "/topics/imagenet"
    while True:
        seen.extend(_titles(page))
        following = re.search(r'<a rel="next" href="([^"]+)"', page)
        if not following:
            break
        url = following.group(1).replace("&amp;", "&")
        page = site.get(url).get_data(as_text=True)
        assert '<a rel="prev"' in page
    assert len(seen) == total and len(set(seen)) == total
    assert f"page {-(-total // PAGE_SIZE)} of {-(-total // PAGE_SIZE)}" in page
    assert site.get("/topics/imagenet?page=99").status_code == 404
    assert site.get("/topics/imagenet?page=two").status_code == 400


def test_a_card_shows_the_papers_date_authors_links_and_numbers(site) -> None:
    page = site.get("/topics/residual").get_data(as_text=True)
    card = next(c for c in _cards(page) if "Deep Residual Learning" in c)
    assert '<time datetime="2015-12-10"' in card  # the paper's own date, not first seen
    assert "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun" in card
    for link in (
        "https://arxiv.org/abs/1512.03385",
        "https://arxiv.org/pdf/1512.03385",
        "https://huggingface.co/papers/1512.03385",
    ):
        assert f'href="{link}"' in card
    assert "papers?q=" not in card  # no made-up search link
    assert "42 upvotes" in card and "3 comments" in card
    assert "<details><summary>Abstract</summary>" in card
    assert "id <code>1512.03385</code>" in card
    assert 'href="/why?topic=residual&amp;paper=' in card


def test_a_paper_without_a_date_or_a_link_says_first_seen_and_links_nowhere(site) -> None:
    page = site.get("/topics/imagenet?page=2").get_data(as_text=True)
    undated = [c for c in _cards(page) if "(first seen)" in c]
    assert undated, "the samples have papers with no date of their own"
    assert all("<h3><a " not in c and "Listing" not in c for c in undated[:3])


def test_highlighting_marks_phrases_as_phrases_and_fields_only_where_asked(site) -> None:
    page = site.get("/topics/residual").get_data(as_text=True)
    card = next(c for c in _cards(page) if "Deep Residual Learning" in c)
    assert re.search(r"<mark>residual learning</mark>", card, re.IGNORECASE)
    assert not re.search(r"<mark>residual</mark>", card, re.IGNORECASE)
    # title:resnet* marks ResNet in titles only, never in an abstract.
    for abstract in re.findall(r"<details>.*?</details>", page, re.DOTALL):
        assert not re.search(r"<mark>resnet", abstract, re.IGNORECASE)
    assert re.search(r"<h3>.*<mark>ResNet", page)


def test_search_without_a_query_is_an_empty_form(site) -> None:
    response = site.get("/search")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<input id="q" name="q" type="search" value=""' in page
    assert "papers</strong>" not in page and 'role="alert"' not in page


def test_a_bad_query_says_what_and_where_with_a_caret(site) -> None:
    response = site.get("/search", query_string={"q": "resnet AND /res(/"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "bad regular expression /res(/: missing )" in page
    assert "b&#39;" not in page and "b'" not in page
    caret = re.search(r"<pre[^>]*>(.*?)</pre>", page, re.DOTALL).group(1)  # type: ignore[union-attr]
    query_line, caret_line = caret.split("\n")
    assert caret_line.index("^") == query_line.index("/res(")
    assert 'aria-invalid="true"' in page


def test_search_counts_pages_and_keeps_the_query_in_the_links(site) -> None:
    page = site.get("/search", query_string={"q": "imagenet"}).get_data(as_text=True)
    topic = site.get("/topics/imagenet").get_data(as_text=True)
    count = re.search(r"<strong>(\d+ papers)</strong>", topic).group(1)  # type: ignore[union-attr]
    assert f"<strong>{count.capitalize()}</strong>" in page
    assert '<a rel="next" href="/search?q=imagenet&amp;page=2">' in page
    assert "/feeds/search.rss?q=imagenet" in page


def test_lower_case_operators_get_a_hint_on_the_page(site) -> None:
    for url in ("/search?q=diffusion+and+not+medical", "/topics/lowercase", "/"):
        page = site.get(url).get_data(as_text=True)
        assert "did you mean AND?" in page and "did you mean NOT?" in page


def test_why_explains_a_match_and_what_kept_a_paper_out(site) -> None:
    matched = site.get("/why", query_string={"topic": "residual", "paper": "1512.03385"})
    page = matched.get_data(as_text=True)
    assert matched.status_code == 200
    assert "residual learning (abstract)" in page
    assert "paperfeed explain residual 1512.03385" in page
    excluded = site.get(
        "/why", query_string={"q": "imagenet AND NOT residual", "paper": "1512.03385"}
    ).get_data(as_text=True)
    # In plain words: what the rule asks for or leaves out, and what this paper has.
    assert "Why this paper does not match" in excluded and "not true" not in excluded
    assert "The rule leaves out papers where title or abstract contains the word" in excluded
    assert "this one has residual (title)" in excluded
    missing = site.get(
        "/why", query_string={"q": "medical OR thorax", "paper": "1512.03385"}
    ).get_data(as_text=True)
    assert "The rule asks that title or abstract contains the word" in missing
    assert "this paper has none of these." in missing


def test_cards_show_what_matched_without_unfolding(site) -> None:
    page = site.get("/topics/residual").get_data(as_text=True)
    card = next(c for c in _cards(page) if "Deep Residual Learning" in c)
    snippet = re.search(r'<p class="snippet">(.*?)</p>', card, re.DOTALL)
    assert snippet and "<mark>residual learning</mark>" in snippet.group(1).lower()
    assert "<details" not in snippet.group(0)  # visible without unfolding


def test_the_index_is_compact_with_counts_a_weekly_chart_and_subscribe_links(site) -> None:
    page = site.get("/").get_data(as_text=True)
    assert '<svg role="img"' in page and "<rect" in page
    assert "Papers per week" in page
    assert page.count('class="subscribe"') == 4 * 3  # 4 topics, 3 formats
    assert "<script" not in page and "onclick" not in page
    assert "<details>" not in page  # no abstracts on the index


def test_pages_use_no_script_and_one_stylesheet(site) -> None:
    for url in ("/", "/topics/imagenet", "/search?q=resnet", "/search"):
        page = site.get(url).get_data(as_text=True)
        assert "<script" not in page and " on" + "click=" not in page
        assert "<style" not in page and ' style="' not in page
    css = site.get("/static/pages.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert b"mark" in css.get_data()
    css.close()


def test_a_card_names_a_few_authors_and_counts_the_rest() -> None:
    def card_authors(names: tuple[str, ...]) -> str:
        paper = SimpleNamespace(authors=names)  # only the authors are read
        return items.authors_line(paper, shown=CARD_AUTHORS)  # type: ignore[arg-type]

    assert card_authors(("A", "B")) == "A, B"
    assert card_authors(tuple("ABCD")) == "A, B, C, D"
    names = tuple(f"Author {n}" for n in range(1, 201))
    assert card_authors(names) == "Author 1, Author 2, Author 3 and 197 more"
    assert card_authors(()) == ""


def test_activity_chart_counts_papers_per_week_oldest_first() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)  # a Wednesday
    dates = [now, now - timedelta(days=1), now - timedelta(days=7), now - timedelta(weeks=20)]
    chart = activity_chart(dates, now)
    counts = [bar["count"] for bar in chart.bars]
    assert counts[-1] == 2 and counts[-2] == 1 and counts[-21] == 1 and sum(counts) == 4
    assert len(counts) == 52  # a year at least
    # Older papers widen the chart back to their week, three years at most.
    chart = activity_chart([*dates, now - timedelta(weeks=60), now - timedelta(weeks=400)], now)
    counts = [bar["count"] for bar in chart.bars]
    assert len(counts) == 61 and counts[0] == 1 and sum(counts) == 5
    assert chart.last_week == "2026-11-23"
    tallest = max(chart.bars, key=lambda bar: bar["count"])
    assert tallest["height"] == chart.height - 2


# ---- in a real browser ----------------------------------------------------------------------

BROWSER_PAGES = {
    "index": "/",
    "topic-page-2": "/topics/imagenet?page=2",
    "search-empty": "/search",
    "search-results": "/search?q=%22residual+learning%22+OR+title%3Aresnet*",
    "search-error": "/search?q=resnet+AND+%28vit+OR",
    "why": "/why?q=imagenet+AND+NOT+residual&paper=1512.03385",
}


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    """Headless Chromium driven by the system's chromedriver (no browser download)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = need_tool("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(need_tool("chromedriver")), options=options)
    yield driver
    driver.quit()


def axe_violations(browser, impacts: tuple[str, ...]) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's violations of the open page with one of these impacts, as short lines."""
    from selenium_axe_python import Axe

    axe = Axe(browser)
    axe.inject()
    return [
        f"{violation['id']} {[node['target'] for node in violation['nodes'][:3]]}"
        for violation in axe.run()["violations"]
        if violation["impact"] in impacts
    ]


def page_problems(browser, base: str, pages: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Each page (name -> path) at both widths: a full-height screenshot kept under
    test-artifacts/pages, and what is wrong: sideways scrolling, serious or critical axe-core
    violations."""
    problems: list[str] = []
    for width in WIDTHS:
        for name, path in pages.items():
            browser.set_window_size(width, 900)
            browser.get(base + path)
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(width, min(int(height) + 120, 8000))
            browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            if overflow > 0:
                problems.append(f"{name} at {width}px scrolls sideways by {overflow}px")
            for violation in axe_violations(browser, ("serious", "critical")):
                problems.append(f"{name} at {width}px: {violation}")
    return problems


@pytest.mark.slow
def test_pages_in_chromium_at_desktop_and_phone_width_pass_axe(rich_app, browser) -> None:
    """Screenshots of every page kind at both widths (kept under test-artifacts/pages), no
    sideways scrolling on a phone, and no serious or critical axe-core violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with live_server(rich_app) as base:
        problems += page_problems(browser, base, BROWSER_PAGES)
    assert not problems, "\n".join(problems)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= len(WIDTHS) * len(BROWSER_PAGES)


@pytest.mark.slow
def test_the_accessibility_check_catches_a_serious_violation(browser) -> None:
    """The check can fail: a page with an unlabelled input and low-contrast text does."""
    browser.get(
        "data:text/html,<html lang=en><title>t</title><main><input type=text>"
        "<p style='color:%23bbb;background:%23fff'>faint</p></main></html>"
    )
    found = " ".join(axe_violations(browser, ("serious", "critical")))
    assert "label" in found and "color-contrast" in found


@pytest.mark.parametrize(
    "asked",
    [
        {"order": "relevance"},
        {"sort": "relevance"},
        {"sort": "upvotes"},
        {"order": "newest"},
        {"order": "relevance", "since": "2000-01-01", "until": "2100-01-01"},
    ],
)
def test_a_topic_pages_links_keep_its_order_and_period(site, asked) -> None:  # type: ignore[no-untyped-def]
    """Next and previous (the <a> and the <link>) ask for the same order and period as the
    page they are on, and page 2 shows the papers after page 1's in that order."""
    query = "&".join(f"{k}={v}" for k, v in asked.items())
    first = site.get(f"/topics/imagenet?{query}").get_data(as_text=True)
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    head = re.search(r'<link rel="next" href="([^"]+)"', first)
    assert following and head and following.group(1) == head.group(1)
    url = following.group(1).replace("&amp;", "&")
    assert all(f"{k}={v}" in url for k, v in asked.items()) and "page=2" in url
    second = site.get(url).get_data(as_text=True)
    back = re.search(r'<a rel="prev" href="([^"]+)"', second)
    assert back and all(f"{k}={v}" in back.group(1).replace("&amp;", "&") for k, v in asked.items())
    whole = site.get(f"/topics/imagenet?{query}&page=1").get_data(as_text=True)
    assert _titles(whole) == _titles(first)
    assert not set(_titles(first)) & set(_titles(second))


def test_a_search_pages_links_keep_its_order(site) -> None:  # type: ignore[no-untyped-def]
    first = site.get("/search?q=imagenet&order=relevance").get_data(as_text=True)
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert following, "imagenet fills more than a page"
    url = following.group(1).replace("&amp;", "&")
    assert "order=relevance" in url or "sort=relevance" in url
    assert "q=imagenet" in url and "page=2" in url
    current = re.search(r'<strong aria-current="true">([^<]+)</strong>', first)
    assert current and current.group(1) == "most relevant"


def test_a_topic_ordered_by_relevance_links_newest_first_explicitly(site) -> None:  # type: ignore[no-untyped-def]
    """Its own order goes without ?sort=; newest first must be asked for, else the link
    would show the topic's relevance order again."""
    page = site.get("/topics/ranked").get_data(as_text=True)
    current = re.search(r'<strong aria-current="true">([^<]+)</strong>', page)
    assert current and current.group(1) == "most relevant"
    newest = re.search(r'<a href="([^"]+)">newest</a>', page)
    assert newest and "sort=date" in newest.group(1)
    dated = site.get(newest.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r'<strong aria-current="true">newest</strong>', dated)
    following = re.search(r'<a rel="next" href="([^"]+)"', dated)
    assert following and "sort=date" in following.group(1)
