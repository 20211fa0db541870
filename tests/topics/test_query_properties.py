"""Property tests: the compiled matcher agrees with a plain reference evaluator, and the
anchor prefilter never drops a topic that matches."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from parsing.text import fold, stem
from topics.analysis import Document
from topics.matcher import TopicMatcher
from topics.query import parse

WORDS = [
    "resnet",
    "resnets",
    "ResNet",
    "vit",
    "ViTs",
    "image",
    "images",
    "network",
    "networks",
    "self",
    "supervised",
    "diffusion",
    "activity",
    "poincaré",
    "Poincare",
    "model",
    "models",
    "box",
    "boxes",
    "net",
    "learning",
]
SEPARATORS = [" ", " ", "-", ", ", ": ", " (", ") "]

Reference = Callable[[dict[str, str]], bool]


def tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def contains(sequence: list[str], part: list[str]) -> bool:
    """Is part a run of consecutive items of sequence?"""
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


def leaf_ref(words: list[str], prefix: bool, fields: tuple[str, ...]) -> Reference:
    query_tokens = tokens(" ".join(words))
    wanted = [stem(t) for t in query_tokens[:-1]]
    last = query_tokens[-1] if prefix else stem(query_tokens[-1])

    def ref(doc: dict[str, str]) -> bool:
        for name in fields:
            raw = tokens(doc[name])
            stems = [stem(t) for t in raw]
            if prefix:
                # Every word but the last compares stemmed; the last is an unstemmed prefix.
                for start in range(len(raw) - len(wanted)):
                    if stems[start : start + len(wanted)] == wanted and raw[
                        start + len(wanted)
                    ].startswith(last):
                        return True
            elif contains(stems, wanted + [last]):
                return True
        return False

    return ref


@st.composite
def leaves(draw) -> tuple[str, Reference]:  # type: ignore[no-untyped-def]
    count = draw(st.integers(1, 3))
    chosen = [draw(st.sampled_from(WORDS)) for _ in range(count)]
    prefix = draw(st.booleans()) and len(tokens(chosen[-1])[-1]) >= 3
    field = draw(st.sampled_from([None, "title", "abstract"]))
    fields = (field,) if field else ("title", "abstract")
    last = chosen[-1]
    if prefix:
        cut = draw(st.integers(2, len(last)))
        chosen[-1] = last[:cut]
    body = " ".join(chosen) + ("*" if prefix else "")
    text = f'"{body}"' if count > 1 else body
    return (f"{field}:{text}" if field else text), leaf_ref(chosen, prefix, fields)


def combine(children: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    def build(parts):  # type: ignore[no-untyped-def]
        op, (a_text, a_ref), (b_text, b_ref) = parts
        if op == "AND":
            return f"({a_text} AND {b_text})", lambda d: a_ref(d) and b_ref(d)
        if op == "OR":
            return f"({a_text} OR {b_text})", lambda d: a_ref(d) or b_ref(d)
        if op == "AND NOT":
            return f"({a_text} AND NOT {b_text})", lambda d: a_ref(d) and not b_ref(d)
        return f"(NOT {a_text})", lambda d: not a_ref(d)

    return st.tuples(st.sampled_from(["AND", "OR", "AND NOT", "NOT"]), children, children).map(
        build
    )


queries = st.recursive(leaves(), combine, max_leaves=6)


@st.composite
def texts(draw) -> str:  # type: ignore[no-untyped-def]
    count = draw(st.integers(0, 12))
    out = ""
    for _ in range(count):
        out += draw(st.sampled_from(WORDS)) + draw(st.sampled_from(SEPARATORS))
    return out


@settings(max_examples=400, deadline=None)
@given(query=queries, title=texts(), abstract=texts())
def test_compiled_matcher_agrees_with_the_reference(query, title: str, abstract: str) -> None:
    text, reference = query
    compiled = parse(text)
    doc = Document.of(title=title, abstract=abstract)
    assert compiled.matches(doc) == reference({"title": title, "abstract": abstract}), text


@settings(max_examples=200, deadline=None)
@given(topics=st.lists(queries, min_size=1, max_size=8), title=texts(), abstract=texts())
def test_the_prefilter_never_drops_a_matching_topic(topics, title: str, abstract: str) -> None:
    compiled = {f"t{i}": parse(text) for i, (text, _) in enumerate(topics)}
    doc = Document.of(title=title, abstract=abstract)
    expected = {name for name, query in compiled.items() if query.matches(doc)}
    assert set(TopicMatcher(compiled).match(doc)) == expected
