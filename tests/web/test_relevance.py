"""Topics from example papers, through the service: a like topic refreshed and served by
relevance, like: searches, and ?order= mistakes."""

from __future__ import annotations

import html
import json
import re

from tests.helpers import DEFAULT_TOPICS, refresh


def test_a_like_topic_is_served_best_first_with_scores_and_reasons(make_app, write_config) -> None:  # type: ignore[no-untyped-def]
    first = make_app()
    refresh(first)
    store = first.extensions["paperfeed"].store
    seeds = [store.find_papers_by_title(t)[0].guid for t in ("PreF3R", "CATSplat")]
    first.extensions["paperfeed"].close()
    topic = f"""
[topics.splat]
title = "Splatting"
like = ["{seeds[0]}", "{seeds[1]}"]
order = "relevance"
min_similarity = 0.2
"""
    app = make_app(write_config(topics=DEFAULT_TOPICS + topic))
    refresh(app)  # binds the topic's profile and matches the store against it
    client = app.test_client()
    body = json.loads(client.get("/feeds/splat.json").data)
    scores = [item["_paperfeed"]["score"] for item in body["items"]]
    assert len(scores) >= 3 and scores == sorted(scores, reverse=True)
    assert {item["_paperfeed"]["urn"] for item in body["items"][:2]} == set(seeds)
    reason = body["items"][2]["_paperfeed"]["matched"][0]["term"]
    assert reason.startswith("like '") and "): " in reason
    newest = json.loads(client.get("/feeds/splat.json?order=newest").data)
    assert [i["id"] for i in newest["items"]] != [i["id"] for i in body["items"]]
    page = client.get("/topics/splat")
    assert page.status_code == 200 and b"like &#39;" in page.data
    app.extensions["paperfeed"].close()


def test_a_like_search_and_its_mistakes(loaded) -> None:  # type: ignore[no-untyped-def]
    ours = json.loads(loaded.get("/feeds/search.json?q=splatting").data)
    seed = ours["items"][0]["_paperfeed"]["urn"]
    found = loaded.get(f'/feeds/search.json?q=like:"{seed}"&order=relevance')
    items = json.loads(found.data)["items"]
    assert found.status_code == 200 and items[0]["_paperfeed"]["urn"] == seed
    scores = [item["_paperfeed"]["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    unknown = loaded.get("/feeds/search.json?q=like:2401.99999")
    assert unknown.status_code == 400 and b"2401.99999" in unknown.data
    assert loaded.get("/feeds/residual.rss?order=best").status_code == 400
    assert loaded.get("/topics/residual?order=best").status_code == 400


def test_feeds_and_subscribe_links_keep_the_order_asked(loaded) -> None:  # type: ignore[no-untyped-def]
    """A page sorted by relevance subscribes to the feed in that order, and a feed asked by
    relevance names itself so: a reader following either keeps the order it was shown."""
    for page in ("/search?q=imagenet&order=relevance", "/topics/residual?order=relevance"):
        links = re.findall(
            r'class="subscribe" data-format="\w+" href="([^"]+)"', page_of(loaded, page)
        )
        assert len(links) == 3 and all("order=relevance" in link for link in links), links
    for page in ("/search?q=imagenet", "/topics/residual", "/topics/residual?sort=upvotes"):
        links = re.findall(
            r'class="subscribe" data-format="\w+" href="([^"]+)"', page_of(loaded, page)
        )
        assert links and not any("order=" in link for link in links), links
    for feed in (
        "/feeds/search.json?q=imagenet&order=relevance",
        "/feeds/residual.json?order=relevance",
    ):
        body = json.loads(loaded.get(feed).data)
        assert "order=relevance" in body["feed_url"], body["feed_url"]
    assert "order=" not in json.loads(loaded.get("/feeds/residual.json").data)["feed_url"]


def page_of(client, url: str) -> str:  # type: ignore[no-untyped-def]
    answer = client.get(url)
    assert answer.status_code == 200, url
    return html.unescape(answer.get_data(as_text=True))


def test_a_like_search_that_finds_only_its_examples_says_how_to_find_more(loaded) -> None:  # type: ignore[no-untyped-def]
    """One example's words are mostly its own: a like: of one paper often finds the paper
    itself and nothing else. The page says why and what to do; a like: finding more says
    nothing."""
    papers = json.loads(loaded.get("/feeds/search.json?q=model&limit=50").data)["items"]
    lonely = [
        urn
        for urn in (item["_paperfeed"]["urn"] for item in papers)
        if len(json.loads(loaded.get(f'/feeds/search.json?q=like:"{urn}"').data)["items"]) == 1
    ]
    assert lonely
    alone = loaded.get(f'/search?q=like:"{lonely[0]}"')
    text = html.unescape(alone.data.decode())
    assert alone.status_code == 200
    assert "like: found 1 paper: others are less similar than the threshold (0.3)" in text
    assert "give more examples" in text
    ours = json.loads(loaded.get("/feeds/search.json?q=splatting").data)
    seeds = " ".join(f'"{item["_paperfeed"]["urn"]}"' for item in ours["items"][:3])
    wider = loaded.get(f"/search?q=splatting OR like:({seeds})")
    assert wider.status_code == 200 and b"give more examples" not in wider.data
