"""like: and unlike: in the rule language: parsing, scoring and explaining, on a small
in-memory store (topics.similarity.CountedCorpus stands for the text index's counts)."""

from __future__ import annotations

from array import array
from collections import Counter
from types import SimpleNamespace

import pytest

from topics.analysis import Document
from topics.query import Like, QueryError, Unbound, format_matches, parse, with_min_similarity
from topics.similarity import (
    K1,
    TITLE_WEIGHT,
    B,
    CountedCorpus,
    Profile,
    SampleCounts,
    Seed,
    Vectors,
    field_stems,
)

PAPERS = {
    "splat-1": (
        "3D Gaussian Splatting for Real-Time Radiance Field Rendering",
        "Radiance field methods represent scenes with anisotropic 3D Gaussians; splatting "
        "them renders novel views in real time with high visual quality.",
    ),
    "splat-2": (
        "Dynamic Gaussian Splatting for Monocular Video",
        "We extend Gaussian splatting to dynamic scenes: deformable 3D Gaussians are "
        "rasterized for novel view synthesis of moving scenes in real time.",
    ),
    "nerf": (
        "Neural Radiance Fields for View Synthesis",
        "A neural network represents a scene as a radiance field and renders novel views "
        "by volume rendering of sampled rays.",
    ),
    "llm": (
        "Scaling Language Models with Mixture of Experts",
        "Sparse expert layers let language models grow their parameters while the compute "
        "per token stays the same; a router picks the experts of each token.",
    ),
    "rl": (
        "Direct Preference Optimization of Language Models",
        "We align language models with human preferences without a reward model, by a "
        "classification loss on preferred and rejected answers.",
    ),
    "medical": (
        "Gaussian Splatting for Endoscopic Surgery Scenes",
        "Deformable Gaussians reconstruct endoscopic surgical scenes for medical "
        "navigation and novel view rendering in real time.",
    ),
}
DOCS = {key: Document.of(title=t, abstract=a) for key, (t, a) in PAPERS.items()}
# Filler so that the document frequencies look like a store's: common words are common.
FILLER = [
    Document.of(
        title=f"On the study of topic {n}", abstract=f"We study the model of {n} and show results."
    )
    for n in range(40)
]
CORPUS = CountedCorpus.of([*DOCS.values(), *FILLER])


def bound(text: str) -> Profile:
    """Parse text and give every like: of it its profile, as the store does."""
    query = parse(text)
    likes = query.likes()
    unlike = [Seed(i, PAPERS[i][0], DOCS[i]) for n in likes if n.negative for i in n.ids]
    profiles = {
        n: Profile.build([Seed(i, PAPERS[i][0], DOCS[i]) for i in n.ids], CORPUS, unlike)
        for n in likes
        if not n.negative
    }
    return query.bind(profiles)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("like:2401.01234", ("2401.01234",)),
        ("like:(2401.01234 1512.03385)", ("2401.01234", "1512.03385")),
        (
            'like:("10.1101/2024.01.01.123456" 2401.01234)',
            ("10.1101/2024.01.01.123456", "2401.01234"),
        ),
        ('like:"urn:paperfeed:abc"', ("urn:paperfeed:abc",)),
        ("like:(2401.01234 2401.01234)", ("2401.01234",)),
    ],
)
def test_like_takes_ids_in_every_form(text: str, ids: tuple[str, ...]) -> None:
    (node,) = parse(text).likes()
    assert node.ids == ids and not node.negative


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("unlike:2401.01234", "beside one"),
        ("like:1 OR unlike:2", "beside one"),
        ("like:(a:b)", "takes paper ids"),
        ("like:(" + " ".join(str(n) for n in range(21)) + ")", "1 to 20 paper ids"),
    ],
)
def test_like_mistakes_are_errors_that_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


def test_like_combines_with_and_or_not() -> None:
    query = parse('"gaussian splatting" OR like:(splat-1 splat-2) AND NOT medical')
    assert [n.ids for n in query.likes()] == [("splat-1", "splat-2")]
    assert "similar to 2 papers (splat-1 splat-2)" in query.describe()
    rest = query.without_similarity()
    assert rest is not None and "like" not in rest.canonical


def test_min_similarity_is_part_of_the_fingerprint() -> None:
    query = parse("like:(splat-1 splat-2)")
    stricter = with_min_similarity(query, 0.5)
    assert stricter.fingerprint != query.fingerprint
    assert stricter.likes()[0].threshold == 0.5


def test_an_unbound_like_refuses_to_match_rather_than_guess() -> None:
    with pytest.raises(Unbound, match="needs the store"):
        parse("like:splat-1").matches(DOCS["splat-2"])


def test_similar_papers_match_and_others_do_not() -> None:
    query = bound("like:(splat-1 splat-2)")
    assert query.matches(DOCS["medical"])  # other words, same topic
    assert not query.matches(DOCS["llm"]) and not query.matches(DOCS["rl"])
    scores = {key: query.explain(doc) for key, doc in DOCS.items()}
    assert scores["medical"] is not None and scores["medical"].score > 0


def test_explain_names_the_closest_seed_the_score_and_the_words() -> None:
    query = bound("like:(splat-1 llm)")
    found = query.explain(DOCS["splat-2"])
    assert found is not None
    ((line, field),) = found
    seed, rest = line.split(" (", 1)
    assert seed == "like '3D Gaussian Splatting for Real-Time Radiance Field Rendering'"
    score, words = rest.split("): ")
    assert float(score) == pytest.approx(found.score, abs=0.01)
    assert "gaussians" in words or "splatting" in words
    assert format_matches(found) == line  # the Matched line says it once, no "(field)"


def test_a_paper_kept_out_says_how_far_it_was() -> None:
    query = bound("like:(splat-1 splat-2)")
    (reason,) = query.exclusions(DOCS["rl"])
    assert reason.startswith("not similar enough to splat-1 splat-2: 0.00 <")


def test_unlike_pushes_its_words_away() -> None:
    plain = bound("like:(splat-1 splat-2)").explain(DOCS["medical"])
    pushed = bound("like:(splat-1 splat-2) AND unlike:medical")
    away = pushed.explain(DOCS["medical"])
    assert plain is not None
    assert away is None or away.score < plain.score
    assert pushed.matches(DOCS["splat-1"])


def test_the_rule_is_a_prior_beside_the_similarity() -> None:
    query = bound('"radiance field" OR like:(splat-1 splat-2)')
    nerf, video = query.explain(DOCS["nerf"]), query.explain(DOCS["splat-2"])
    only_like = bound("like:(splat-1 splat-2)").explain(DOCS["splat-2"])
    assert nerf is not None and video is not None and only_like is not None
    # splat-2 has no "radiance field": its score is its similarity alone
    assert video.score == pytest.approx(only_like.score)
    assert isinstance(query.likes()[0], Like)


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.6, 0.9])
def test_every_paper_that_passes_holds_a_required_word(threshold: float) -> None:
    query = parse("like:(splat-1 splat-2)")
    profile = Profile.build(
        [Seed(i, PAPERS[i][0], DOCS[i]) for i in ("splat-1", "splat-2")],
        CORPUS,
        threshold=threshold,
    )
    required = set(profile.required())
    assert required <= set(profile.positive())
    for doc in [*DOCS.values(), *FILLER]:
        if profile.score(doc) >= threshold:
            assert doc.vocabulary() & required
    assert query.likes()[0].ids == ("splat-1", "splat-2")


def _reference_raw(profile: Profile, doc: Document) -> float:
    """BM25 against the profile, every word counted: what the quick path must equal."""
    title = Counter(field_stems(doc.fields["title"]))
    abstract = Counter(field_stems(doc.fields["abstract"]))
    length = sum(title.values()) * TITLE_WEIGHT + sum(abstract.values())
    scale = K1 * (1 - B + B * length / profile.average_length)
    total = 0.0
    for t, w in profile.weights.items():
        n = title[t] * TITLE_WEIGHT + abstract[t]
        total += w * n * (K1 + 1) / (n + scale) if n else 0.0
    return total


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.2, 0.3, 0.6, 1.0, 1.5])
def test_the_quick_bound_never_changes_what_passes(threshold: float) -> None:
    """passes() rejects papers by the words they hold before scoring them: it must say what
    score() >= threshold says, for every paper, and scores must be the full BM25's."""
    seeds = [Seed(i, PAPERS[i][0], DOCS[i]) for i in ("splat-1", "splat-2")]
    unlike = [Seed("medical", PAPERS["medical"][0], DOCS["medical"])]
    profile = Profile.build(seeds, CORPUS, unlike, threshold=threshold)
    rejected = 0
    for doc in [*DOCS.values(), *FILLER]:
        fresh = Document.of(
            title=doc.fields["title"].original, abstract=doc.fields["abstract"].original
        )
        assert profile.raw_score(fresh) == pytest.approx(_reference_raw(profile, fresh))
        assert profile.passes(fresh) == (profile.score(fresh) >= threshold)
        rejected += not profile.passes(fresh)
    assert threshold == 0.0 or rejected  # the bound has something to do


def _indexed(key: int, doc: Document) -> SimpleNamespace:
    """doc as the text index hands a candidate out: its order key and spaced stems."""
    title, abstract = (" ".join(field_stems(doc.fields[name])) for name in ("title", "abstract"))
    return SimpleNamespace(key=key, title=title, abstract=abstract)


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.3, 0.6, 1.0, 1.5])
def test_scores_from_term_vectors_are_the_full_computations(threshold: float) -> None:
    """A like: search scores the newest papers from their postings (Profile.raw_scores over
    Vectors): each score must equal raw_score() bit for bit, and what passes, passes()."""
    seeds = [Seed(i, PAPERS[i][0], DOCS[i]) for i in ("splat-1", "splat-2")]
    unlike = [Seed("medical", PAPERS["medical"][0], DOCS["medical"])]
    profile = Profile.build(seeds, CORPUS, unlike, threshold=threshold)
    rows = [_indexed(key, doc) for key, doc in enumerate([*DOCS.values(), *FILLER])]
    vectors = Vectors(rows)
    scores = profile.raw_scores(vectors)
    passing = profile.passing(vectors)
    assert len(scores) >= 3
    for at, row in enumerate(rows):
        doc = Document.of_stems(row)
        if at in scores:
            assert scores[at] == profile.raw_score(doc)  # exactly: same sums, same order
        else:
            assert profile.contributions(doc) == {}
        assert (at in passing) == profile.passes(Document.of_stems(row)), at
    assert threshold > 1 or passing  # something passes below an impossible threshold


def test_postings_made_together_are_those_made_one_word_at_a_time() -> None:
    rows = [_indexed(key, doc) for key, doc in enumerate([*DOCS.values(), *FILLER])]
    words = sorted({w for row in rows for w in row.title.split()})[:60] + ["nowhereword"]
    together = Vectors(rows).postings(words)
    alone = Vectors(rows)
    assert together == {word: alone.postings([word])[word] for word in words}
    assert any(len(held) > 1 for held, _ in together.values())
    assert together["nowhereword"] == (array("I"), array("d"))


def test_a_sample_counted_from_vectors_is_the_one_counted_from_text() -> None:
    """The store's sample of its newest papers comes from the vectors a like: search holds
    (store.similarity._newest): the same papers counted from their text agree."""
    rows = [_indexed(key, doc) for key, doc in enumerate([*DOCS.values(), *FILLER])]
    half = len(rows) // 2
    held = SampleCounts.of_vectors([Vectors(rows[:half]), Vectors(rows[half:])])
    words = {w for row in rows for w in f"{row.title} {row.abstract}".split()}
    holding = Counter(w for row in rows for w in {*row.title.split(), *row.abstract.split()})
    length = sum(
        len(row.title.split()) * TITLE_WEIGHT + len(row.abstract.split()) for row in rows
    ) / len(rows)
    assert held.papers == len(rows)
    assert held.average_length == pytest.approx(length)
    assert held.holding(words) == holding and len(holding) > 50


def test_a_query_tells_which_papers_of_vectors_it_may_match() -> None:
    rows = [_indexed(key, doc) for key, doc in enumerate([*DOCS.values(), *FILLER])]
    vectors = Vectors(rows)
    like = bound("like:(splat-1 splat-2)").root
    similar = like.within(vectors)
    assert similar == {at for at, row in enumerate(rows) if like.matches(Document.of_stems(row))}
    assert bound("like:(splat-1 splat-2) AND NOT medical").root.within(vectors) == similar
    assert bound("like:(splat-1) OR like:(splat-2)").root.within(vectors) is not None
    assert bound("like:(splat-1 splat-2) OR medical").root.within(vectors) is None
    assert parse("gaussian").root.within(vectors) is None
