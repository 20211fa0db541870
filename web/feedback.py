"""Readers train a like topic: each item links "more like this" / "less like this".

A link opens a confirm page that changes nothing (readers and link previewers fetch GET
links); only the page's POST writes. Links are signed per topic, paper and kind with
HMAC-SHA256 under the feedback_secret setting, so nobody can make one for another topic or
paper; the form is signed for the state it was made in (store.feedback's version), so a
form sent twice, or after another change, is refused. The paper joins the topic's like or
unlike list in the database; the next refresh re-scores the topic.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for

from settings import TopicConfig
from store import StoredPaper
from web.service import Service, service

bp = Blueprint("feedback", __name__)
LINKS = (("more", "like"), ("less", "unlike"))  # (link kind in the item, list it joins)
KINDS = ("like", "unlike", "none")  # none: undo


def _sign(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def _trainable(svc: Service, name: str) -> TopicConfig | None:
    topic = svc.config.topics.get(name)
    if not svc.config.feedback_secret or topic is None or not topic.query.likes():
        return None
    return topic


def link(svc: Service, name: str, paper: str, kind: str, base: str = "") -> str:
    """The signed confirm-page link for paper in topic name (kind: like, unlike, none)."""
    sig = _sign(svc.config.feedback_secret, "link", name, paper, kind)
    path = url_for("feedback.confirm", name=name)
    return f"{base}{path}?{urlencode({'paper': paper, 'kind': kind, 'sig': sig})}"


def with_links(svc: Service, name: str, papers: list[StoredPaper], base: str) -> list[StoredPaper]:
    """papers of topic name, each with its feedback links (none: not a like topic, or no
    feedback_secret)."""
    if _trainable(svc, name) is None:
        return papers
    return [
        replace(p, feedback=tuple((kind, link(svc, name, p.guid, to, base)) for kind, to in LINKS))
        for p in papers
    ]


@bp.route("/topics/<name>/feedback", methods=["GET", "POST"])
def confirm(name: str) -> Response | str:
    svc = service()
    topic = _trainable(svc, name)
    if topic is None:
        abort(404)
    secret = svc.config.feedback_secret
    ref, kind, sig = (request.args.get(key, "") for key in ("paper", "kind", "sig"))
    if kind not in KINDS or not hmac.compare_digest(sig, _sign(secret, "link", name, ref, kind)):
        abort(Response("this link is not signed for this topic and paper", status=403))
    paper = svc.store.find_paper(ref)
    if paper is None:
        abort(404)
    version = svc.store.feedback_version(name, ref)
    if request.method == "GET":
        token = _sign(secret, "form", name, ref, kind, str(version))
        return render_template(
            "feedback.html", topic=topic, paper=paper, kind=kind, version=version, token=token
        )
    sent = request.form.get("version", "")
    token = request.form.get("token", "")
    if not hmac.compare_digest(token, _sign(secret, "form", name, ref, kind, sent)):
        abort(Response("this form is not signed for this topic and paper", status=403))
    if sent != str(version) or not svc.store.set_feedback(name, ref, kind, version):
        abort(Response("this form was already sent (or the paper changed since)", status=409))
    undo = link(svc, name, ref, "none") if kind != "none" else None
    return render_template(
        "feedback.html", topic=topic, paper=paper, kind=kind, done=True, undo=undo
    )
