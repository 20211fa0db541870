"""Similarity to example papers: what `like:` means.

The Lucene MoreLikeThis idea, measured on bench/relevance.py: the seeds' most distinctive
words (sublinear term frequency times inverse document frequency, a title word counting
TITLE_WEIGHT times) become a weighted profile; a paper is scored by BM25 against it, with
the document frequencies of the store's own text index. `unlike` papers subtract their
words (Rocchio). A score is divided by the seeds' own mean score, so 1.0 means "as close
as the examples are to each other" and the threshold reads the same for every topic.

Pure: no SQL. Whoever owns the store hands in a Corpus (its size, mean length and the
document frequency of the words asked for).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import chain
from typing import Any, Protocol

from topics.analysis import Document, FieldText

# Calibrated on bench/relevance.py (BENCHMARKS.md, relevance): see README "Ranking".
PROFILE_TERMS = 40  # the seeds' words kept
TITLE_WEIGHT = 2.0  # a title word counts this many abstract words
MAX_DOC_SHARE = 0.25  # words in more than this share of papers say nothing of a topic
MIN_DOC_FREQ = 3  # words in fewer papers (a seed's own name) find no other paper
SHARED = 2.0  # a word in k of n seeds weighs (k / n) ** SHARED: the topic is what they share
UNLIKE_WEIGHT = 0.5  # Rocchio's gamma: how hard an unlike paper pushes its words away
DEFAULT_THRESHOLD = 0.3  # the default min_similarity: ~150 papers of 4,112, 86% of the relevant
K1, B = 1.2, 0.75  # BM25
EXPLAIN_TERMS = 3
# `rule OR like:(...)`: the rule's papers most similar to the seeds join them as examples
# (pseudo-relevance feedback: the rule is precise, and its papers bring the topic's other
# words). WIDEN_POOL of the rule's newest papers are scored, the best WIDEN_EXAMPLES kept.
WIDEN_EXAMPLES = 20
WIDEN_POOL = 300
WIDEN_SHARED = 1.0
RULE_PRIOR = 0.5  # what a matching rule clause scores, beside a similarity in [0, 1]

# Words every abstract uses; the share cap above drops most, these are the rest of the
# glue words that survive it in a small store.
_GLUE = """
    a about above across after again against all also although am among an and any are
    as at be been before being below between both but by can could did do does doing
    done down during each either et even ever every few for from further had has have
    having he her here hers him his how however i if in into is it its itself just least
    less like many may me might more most much must my neither no nor not now of off
    often on once one only onto or other our ours out over own per rather same several
    she should since so some such than that the their them then there these they this
    those though three through thus to too two under until up upon us very via was we
    well were what when where whether which while who whom whose why will with within
    without would yet you your
"""
STOP_WORDS = frozenset(_GLUE.split())


class Corpus(Protocol):
    """What scoring needs of the store: its size, mean weighted length, and how many
    papers hold each word (title or abstract)."""

    @property
    def documents(self) -> int: ...

    @property
    def average_length(self) -> float: ...

    def doc_freq(self, stems: Collection[str]) -> Mapping[str, int]: ...


def field_stems(text: FieldText) -> list[str]:
    return text.stems if text.stems else text.spaced_stems().split()


def _counts(doc: Document) -> tuple[dict[str, float], float]:
    """Weighted term counts of title + abstract, and the weighted length (a seed's, or a
    paper of a counted corpus: scoring a candidate reads _field_words alone)."""
    title, abstract, length = _field_words(doc)
    counts: dict[str, float] = dict(Counter(abstract))
    for stem, n in Counter(title).items():
        counts[stem] = counts.get(stem, 0.0) + n * TITLE_WEIGHT
    return counts, length


def _field_words(doc: Document) -> tuple[list[str], list[str], float]:
    """Title and abstract stems as lists, and the weighted length; kept on the document.
    Scoring a candidate needs the counts of the few profile words it holds only: a set
    intersection and list.count (in C) spare counting its hundred other words."""
    found = doc.__dict__.get("_field_words")
    if found is None:
        title = field_stems(doc.fields["title"])
        abstract = field_stems(doc.fields["abstract"])
        length = len(title) * TITLE_WEIGHT + len(abstract)
        found = doc.__dict__["_field_words"] = (title, abstract, length)
    return found  # type: ignore[no-any-return]


class SampleCounts:
    """Some papers of a store standing for it: their mean weighted length, and how many of
    them hold each word, counted once for all their words (in C; counting the words a
    profile asks took 70 ms a profile)."""

    def __init__(self, papers: int, held: Counter[str], total_length: float) -> None:
        self.papers = papers
        self._held = held
        self.average_length = total_length / papers if papers else 1.0

    @classmethod
    def of_vectors(cls, slices: Sequence[Vectors]) -> SampleCounts:
        """The papers of Vectors, whose words are counted already (19 ms for 4,000)."""
        held = Counter(chain.from_iterable(counts for v in slices for counts in v._counts))
        total = sum(sum(v.lengths) for v in slices)
        return cls(sum(len(v.rows) for v in slices), held, total)

    def holding(self, stems: Collection[str]) -> Counter[str]:
        """How many of the papers hold each of stems (in title or abstract)."""
        return Counter({stem: self._held[stem] for stem in stems if stem in self._held})


class Vectors:
    """Some papers as the text index keeps them, held in memory to be scored: each paper's
    weighted length and word counts (a title word counting TITLE_WEIGHT), and each word's
    postings (its papers, by position in rows, with its count in each), made the first
    time a profile asks for the word and kept: a profile pays for its own words only.
    rows: papers with .key and spaced stems (Document.of_stems); earlier: where papers
    were in Vectors of the same store before it changed (carried()): the counts of a paper
    whose key and text are the same are taken as they are (counting is most of reading a
    slice)."""

    @staticmethod
    def carried(slices: Iterable[Vectors]) -> dict[int, Carried]:
        """Each paper of slices by its key: its Vectors and position there."""
        return {row.key: (vectors, at) for vectors in slices for at, row in enumerate(vectors.rows)}

    def __init__(self, rows: Sequence[Any], earlier: Mapping[int, Carried] | None = None) -> None:
        self.rows = rows
        self.lengths: list[float] = []
        self._counts: list[dict[str, float]] = []
        earlier = earlier or {}
        for row in rows:
            found = earlier.get(row.key)
            if found is not None:
                old, at = found
                if old.rows[at] == row:  # every column the same: its text too
                    self.lengths.append(old.lengths[at])
                    self._counts.append(old._counts[at])
                    continue
            # What _field_words reads of Document.of_stems(row), without making the document.
            title, abstract = row.title.split(), row.abstract.split()
            self.lengths.append(len(title) * TITLE_WEIGHT + len(abstract))
            # Interned: the papers' counts share one string per word (half their memory).
            counts: dict[str, float] = Counter(map(sys.intern, abstract))  # type: ignore[assignment]
            for stem, k in Counter(map(sys.intern, title)).items():
                # As _contributions counts it, so a score is the same bit for bit.
                counts[stem] = k * TITLE_WEIGHT + counts.get(stem, 0)
            self._counts.append(counts)
        self._postings: dict[str, tuple[array[int], array[float]]] = {}
        self._scales: dict[float, list[float]] = {}
        # Bytes, roughly: the counts' tables, the rows' text and 2,000 a row beside (its
        # objects, the counts' words and floats): 12.4 MB measured for 2,000 papers of
        # 110-170 words (tracemalloc), 12.3 MB by this.
        self._size = sum(sys.getsizeof(counts) for counts in self._counts)
        self._size += sum(len(row.title) + len(row.abstract) + 2000 for row in rows)

    @property
    def size(self) -> int:
        """Bytes held, roughly: the rows, their counts and the postings made."""
        return self._size + sum(12 * len(at) + 250 for at, _ in self._postings.values())

    def postings(self, stems: Collection[str]) -> dict[str, tuple[array[int], array[float]]]:
        """Each stem's papers (positions in rows) and its weighted count in each; those not
        made yet are made in one pass over the papers, each paper's words intersected with
        them (a pass a word cost 4x more)."""
        kept = self._postings
        missing = {stem for stem in stems if stem not in kept}
        if missing:
            made = {stem: (array("I"), array("d")) for stem in missing}
            for at, counts in enumerate(self._counts):
                for stem in counts.keys() & missing:  # in C, from the smaller of the two
                    held, counted = made[stem]
                    held.append(at)
                    counted.append(counts[stem])
            kept.update(made)
        return {stem: kept[stem] for stem in stems}

    def scales(self, average_length: float) -> list[float]:
        """BM25's length part of each paper (K1 * (1 - B + B * length / average_length)),
        as _contributions computes it; kept for the store's mean length, which every
        profile of a store shares."""
        found = self._scales.get(average_length)
        if found is None:
            found = [K1 * (1 - B + B * length / average_length) for length in self.lengths]
            self._scales = {average_length: found}
        return found


Carried = tuple[Vectors, int]  # a paper's Vectors and its position there


def _useful(stem: str) -> bool:
    return len(stem) > 1 and stem not in STOP_WORDS and not stem.isdigit()


@dataclass(frozen=True)
class Seed:
    """An example paper: how it is named in explanations, and its words."""

    key: str
    title: str
    document: Document


@dataclass(frozen=True)
class Similar:
    """Why a paper is similar: the closest seed, the score and the words that weighed most."""

    seed: str
    score: float
    words: tuple[str, ...]

    def line(self) -> str:
        return f"like '{self.seed}' ({self.score:.2f}): {', '.join(self.words)}"


@dataclass(frozen=True)
class Profile:
    """The weighted words of some seeds, and how to score a paper against them."""

    weights: Mapping[str, float]  # stem -> idf * seed weight (negative: unlike)
    labels: Mapping[str, str]  # stem -> the word as the seeds write it
    seeds: tuple[tuple[str, frozenset[str]], ...]  # (title, its profile words)
    average_length: float
    norm: float = 1.0  # the seeds' mean raw score
    threshold: float = DEFAULT_THRESHOLD
    idf: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        seeds: Sequence[Seed],
        corpus: Corpus,
        unlike: Sequence[Seed] = (),
        threshold: float = DEFAULT_THRESHOLD,
        size: int | None = None,
        examples: Sequence[Document] = (),
    ) -> Profile:
        """The profile of seeds (named in explanations) and examples (more papers of the
        topic, weighing as seeds), pushed away from unlike."""
        own = [_counts(s.document)[0] for s in seeds]
        seed_counts = own + [_counts(doc)[0] for doc in examples]
        shared = WIDEN_SHARED if examples else SHARED
        unlike_counts = [_counts(s.document)[0] for s in unlike]
        vocabulary = {t for c in seed_counts + unlike_counts for t in c if _useful(t)}
        total = max(corpus.documents, 1)
        df = corpus.doc_freq(vocabulary)
        idf = {
            t: math.log(1 + (total - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))
            for t in vocabulary
            if MIN_DOC_FREQ <= df.get(t, 0) <= MAX_DOC_SHARE * total
        }
        raw: dict[str, float] = {}
        for counts, sign in [(c, 1.0 / len(seed_counts)) for c in seed_counts] + [
            (c, -UNLIKE_WEIGHT / len(unlike_counts)) for c in unlike_counts
        ]:
            for t, n in counts.items():
                if t in idf:
                    raw[t] = raw.get(t, 0.0) + sign * (1 + math.log(n)) * idf[t]
        for t in raw:
            if raw[t] > 0:
                share = sum(t in c for c in seed_counts) / len(seed_counts)
                raw[t] *= share**shared
        size = size or PROFILE_TERMS
        kept = sorted((t for t in raw if raw[t] > 0), key=lambda t: (-raw[t], t))[:size]
        pushed = sorted((t for t in raw if raw[t] < 0), key=lambda t: (raw[t], t))[:size]
        weights = {t: raw[t] for t in kept + pushed}
        labels = _labels(seeds, set(weights))
        profile = cls(
            weights=weights,
            labels=labels,
            seeds=tuple(
                (s.title, frozenset(c) & set(kept)) for s, c in zip(seeds, own, strict=True)
            ),
            average_length=corpus.average_length or 1.0,
            threshold=threshold,
            idf=idf,
        )
        scores = [profile.raw_score(s.document) for s in seeds]
        norm = sum(scores) / len(scores) if scores and sum(scores) > 0 else 1.0
        return replace(profile, norm=norm)

    @cached_property
    def _terms(self) -> frozenset[str]:
        return frozenset(self.weights)

    @cached_property
    def _bounds(self) -> dict[str, float]:
        """Each pulling word's most a paper can get of it: BM25 saturates at (K1 + 1)."""
        return {t: w * (K1 + 1) for t, w in self.weights.items() if w > 0}

    def contributions(self, doc: Document) -> dict[str, float]:
        """Each profile word's part of doc's score; kept on the document, which a search
        asks several times (matches, explain, score)."""
        kept = doc.__dict__.setdefault("_contributions", {})
        found = kept.get(id(self))
        if found is None or found[0] is not self:
            found = kept[id(self)] = (self, self._contributions(doc, self._held(doc)))
        return found[1]  # type: ignore[no-any-return]

    def _held(self, doc: Document) -> frozenset[str]:
        title, abstract, _ = _field_words(doc)
        return self._terms.intersection(title) | self._terms.intersection(abstract)

    def _contributions(self, doc: Document, present: frozenset[str]) -> dict[str, float]:
        if not present:
            return {}
        title, abstract, length = _field_words(doc)
        scale = K1 * (1 - B + B * length / self.average_length)
        found = {}
        for t, w in self.weights.items():  # the profile's order: the same sums, bit for bit
            if t in present:
                n = title.count(t) * TITLE_WEIGHT + abstract.count(t)
                found[t] = w * n * (K1 + 1) / (n + scale)
        return found

    def raw_score(self, doc: Document) -> float:
        return sum(self.contributions(doc).values())

    def score(self, doc: Document) -> float:
        """Similarity: 1.0 is as close as the seeds are on average; clipped to [0, 1]."""
        return min(max(self.raw_score(doc) / self.norm, 0.0), 1.0)

    def passes(self, doc: Document) -> bool:
        """score(doc) >= threshold, the papers that cannot reach it told first by the words
        they hold (each at its most, MaxScore's bound): most candidates of a search fail."""
        held = self._held(doc)
        bounds = self._bounds
        if sum(bounds.get(t, 0.0) for t in held) < self.threshold * self.norm:
            return False
        return self._reaches(sum(self.contributions(doc).values()))

    def _reaches(self, raw: float) -> bool:
        return min(max(raw / self.norm, 0.0), 1.0) >= self.threshold

    def raw_scores(self, vectors: Vectors) -> dict[int, float]:
        """raw_score() of each paper of vectors that holds a profile word, by position: the
        same sums in the same order, bit for bit, from the profile words' postings only."""
        scales = vectors.scales(self.average_length)
        postings = vectors.postings(self.weights)
        raw: dict[int, float] = {}
        for t, w in self.weights.items():  # the profile's order, as _contributions sums
            for at, n in zip(*postings[t], strict=True):
                raw[at] = raw.get(at, 0.0) + w * n * (K1 + 1) / (n + scales[at])
        return raw

    def passing(self, vectors: Vectors) -> set[int]:
        """The positions in vectors of the papers that pass: passes() of each (the same sums
        in the same order; passes' bound only spares work, it never turns a paper away that
        reaches the threshold), from the profile words' postings only: a paper holding none
        of them is never looked at."""
        raw = self.raw_scores(vectors)
        norm, threshold = self.norm, self.threshold
        if 0 < threshold <= 1:  # _reaches without its clipping, which cannot change it here
            return {at for at, total in raw.items() if total / norm >= threshold}
        found = {at for at, total in raw.items() if self._reaches(total)}
        if self._reaches(0.0):  # a threshold of 0: the papers without its words too
            found.update(at for at in range(len(vectors.lengths)) if at not in raw)
        return found

    def explain(self, doc: Document) -> Similar:
        parts = self.contributions(doc)
        best = sorted((t for t in parts if parts[t] > 0), key=lambda t: -parts[t])
        closest = max(
            self.seeds, key=lambda seed: sum(parts.get(t, 0.0) for t in seed[1]), default=("", ())
        )
        return Similar(
            seed=closest[0],
            score=round(self.score(doc), 2),
            words=tuple(self.labels.get(t, t) for t in best[:EXPLAIN_TERMS]),
        )

    def positive(self) -> list[str]:
        """The stems that pull, heaviest first."""
        return sorted(
            (t for t in self.weights if self.weights[t] > 0), key=lambda t: -self.weights[t]
        )

    def required(self) -> list[str]:
        """Words one of which every paper reaching the threshold holds (the WAND bound): a
        word adds at most weight * (K1 + 1), and the lightest words together fall short.
        What a like: asks the text index for: far fewer papers than all its words."""
        need = self.threshold * self.norm
        lightest = sorted(self.positive(), key=lambda t: self.weights[t])
        total = 0.0
        for cut, stem in enumerate(lightest):
            total += self.weights[stem] * (K1 + 1)
            if total >= need:
                return lightest[cut:]
        return lightest  # even all of them fall short: nothing passes, any word will do

    def words(self) -> list[str]:
        """The profile's words, heaviest first (what `check` and explain print)."""
        return [self.labels.get(t, t) for t in self.positive()]

    def widened(
        self,
        seeds: Sequence[Seed],
        corpus: Corpus,
        rule_papers: Iterable[Document],
        unlike: Sequence[Seed] = (),
    ) -> Profile:
        """This profile rebuilt with the rule's papers most similar to it as examples; only
        a paper like the seeds (its score passes the threshold) is an example of them (the
        others are of the rule's topic, and would teach the profile its words)."""
        scored = [(self.raw_score(doc), doc) for doc in rule_papers]
        ranked = [doc for raw, doc in sorted(scored, key=lambda s: -s[0]) if self._reaches(raw)]
        ranked = ranked[:WIDEN_EXAMPLES]
        if not ranked:
            return self
        return Profile.build(seeds, corpus, unlike, self.threshold, examples=ranked)


def _labels(seeds: Iterable[Seed], wanted: set[str]) -> dict[str, str]:
    """Each stem as the seeds write it (its commonest word form)."""
    forms: dict[str, Counter[str]] = {}
    for seed in seeds:
        for name in ("title", "abstract"):
            text = seed.document.fields[name]
            for raw, stem in zip(text.raw, text.stems, strict=False):
                if stem in wanted:
                    forms.setdefault(stem, Counter())[raw] += 1
    return {stem: found.most_common(1)[0][0] for stem, found in forms.items()}


@dataclass
class CountedCorpus:
    """A Corpus counted from documents in memory (the benchmark, tests)."""

    documents: int
    average_length: float
    frequencies: Mapping[str, int]

    @classmethod
    def of(cls, docs: Iterable[Document]) -> CountedCorpus:
        freq: Counter[str] = Counter()
        n, total = 0, 0.0
        for doc in docs:
            counts, length = _counts(doc)
            freq.update(counts.keys())
            n, total = n + 1, total + length
        return cls(n, total / max(n, 1), freq)

    def doc_freq(self, stems: Collection[str]) -> Mapping[str, int]:
        return {t: self.frequencies.get(t, 0) for t in stems}
