"""Property tests: the compiled matcher agrees with a plain reference evaluator, and the
anchor prefilter never drops a topic that matches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import queries, texts
from topics.analysis import Document
from topics.matcher import TopicMatcher
from topics.query import parse


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
