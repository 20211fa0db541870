"""Readers train a like topic through signed links: GET changes nothing, only the
confirm page's POST writes, a forged or replayed POST is refused, and a confirmed one
changes the next ranking."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from tests.helpers import DEFAULT_TOPICS, refresh

SECRET = "s3cret-for-tests"


def like_app(make_app, write_config):  # type: ignore[no-untyped-def]
    first = make_app()
    refresh(first)
    store = first.extensions["paperfeed"].store
    seeds = [store.find_papers_by_title(t)[0].guid for t in ("PreF3R", "CATSplat")]
    first.extensions["paperfeed"].close()
    topic = f'\n[topics.splat]\nlike = ["{seeds[0]}", "{seeds[1]}"]\norder = "relevance"\n'
    app = make_app(write_config(topics=DEFAULT_TOPICS + topic), feedback_secret=SECRET)
    refresh(app)
    return app


def links(client, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The kind ("More like this" / "Less like this") links of the splat feed's items."""
    body = json.loads(client.get("/feeds/splat.json").data)
    found = [re.search(rf'<a href="([^"]+)">{kind}</a>', i["content_html"]) for i in body["items"]]
    return [urlsplit(m.group(1).replace("&amp;", "&")) for m in found if m]  # type: ignore[misc]


def form(page: bytes) -> dict[str, str]:
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.decode()))


def test_feedback_links_confirm_then_write_once_and_rerank(make_app, write_config) -> None:  # type: ignore[no-untyped-def]
    app = like_app(make_app, write_config)
    client = app.test_client()
    svc = app.extensions["paperfeed"]
    before = [
        i["_paperfeed"]["urn"] for i in json.loads(client.get("/feeds/splat.json").data)["items"]
    ]
    less = links(client, "Less like this")
    assert len(less) == len(before)
    target = less[1]  # the paper ranked second: push it away
    url = f"{target.path}?{target.query}"
    ref = re.search(r"paper=([^&]+)", target.query).group(1)  # type: ignore[union-attr]

    page = client.get(url)  # a reader or a link previewer fetching the link
    assert page.status_code == 200 and b'<form method="post">' in page.data
    assert svc.store.feedback("splat") == {}  # GET changed nothing
    fields = form(page.data)

    forged = client.post(url, data={**fields, "token": "0" * 64})
    assert forged.status_code == 403
    other = client.get(url.replace("kind=unlike", "kind=like"))  # the sig is per kind too
    assert other.status_code == 403
    assert svc.store.feedback("splat") == {}

    done = client.post(url, data=fields)
    assert done.status_code == 200 and b"Undo" in done.data
    assert list(svc.store.feedback("splat").values()) == ["unlike"]
    replayed = client.post(url, data=fields)
    assert replayed.status_code == 409

    refresh(app)  # the next refresh re-scores with the paper pushed away
    svc.invalidate()
    after = [
        i["_paperfeed"]["urn"] for i in json.loads(client.get("/feeds/splat.json").data)["items"]
    ]
    pushed = next(p for p in before if ref.replace("%3A", ":") == p)
    assert pushed not in after[:2] and after != before
    assert b"undo" in client.get("/topics/splat").data
    app.extensions["paperfeed"].close()


def test_no_secret_no_links(loaded) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(loaded.get("/feeds/residual.json").data)
    assert "like this" not in json.dumps(body)
    assert loaded.get("/topics/residual/feedback?paper=x&kind=like&sig=y").status_code == 404
