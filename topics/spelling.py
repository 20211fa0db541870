"""Spellings writers use for one word: the tables the analyser (topics.analysis) reads.

- Joined compounds are split into their parts (`pretraining` -> `pre training`), so a
  joined, a hyphenated and a spaced form are the same words. Only the joined forms listed
  here: splitting at any prefix would make `research` hold the word `search`.
- British spellings of common words become American (`modelling` -> `modeling`,
  `optimisation` -> `optimization`); a stem is the American one.

Changing either table changes what the text index holds: bump topics.analysis.VERSION.
"""

from __future__ import annotations

# First part -> the second parts it is joined to in ML writing, each in its usual forms.
_JOINED = {
    "pre": "train trains trained training trainings trainer process processed processing "
    "processor norm",
    "post": "train trained training process processed processing processor hoc norm",
    "fine": "tune tunes tuned tuning tunings tuner grained",
    "multi": "modal modality modalities task tasks head headed agent agents view views scale "
    "lingual class label layer layers step turn hop objective stage resolution domain "
    "source camera channel level",
    "self": "supervised supervision attention training distillation consistency play",
    "semi": "supervised supervision",
    "co": "training train attention",
    "non": "linear linearity linearities convex parametric stationary autoregressive local",
    "cross": "modal modality lingual entropy attention domain",
    "hyper": "parameter parameters network networks",
    "sub": "network networks task tasks word words graph graphs",
    "zero": "shot",
    "few": "shot",
    "one": "shot",
    "meta": "learning learner",
    "key": "point points frame frames",
    "back": "propagation",
}


def _listed(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# A joined form -> its parts.
SPLITS: dict[str, tuple[str, ...]] = {
    first + second: (first, second)
    for first, seconds in _JOINED.items()
    for second in _listed(seconds)
}
# First part -> every second part: a prefix such as `pretrai*` is also the phrase `pre trai*`.
SECONDS: dict[str, tuple[str, ...]] = {
    first: _listed(seconds) for first, seconds in _JOINED.items()
}

# British roots spelt with -is- where American writes -iz-, each with these endings.
_IZE_ROOTS = _listed(
    "optim normal general regular visual token real recogn organ summar minim maxim "
    "parameter parametr character util initial quant random special categor synthes "
    "emphas standard central local global vector capital linear penal stabil neutral memor "
    "author final serial priorit custom formal harmon symbol modern critic digit mobil polar "
    "rational discret binar contextual conceptual operational lemmat anonym hypothes "
    "theor fertil steril vapor crystall equal factor tensor lexical canonical personal "
    "industrial individual ideal styl synchron legal commercial sanit amort item mechan "
    "miniatur"
)
_IZE_ENDINGS = ("ise", "ised", "ises", "ising", "isation", "isations", "iser", "isers", "isable")
# Roots whose l doubles in British writing before -ed, -ing, -er.
_DOUBLE_L_ROOTS = _listed(
    "model label signal travel cancel channel tunnel level fuel funnel total marshal dial "
    "rival jewel pedal shovel counsel"
)
_DOUBLE_L_ENDINGS = ("ed", "ing", "ings", "er", "ers")
_WORDS = {
    "behaviour": "behavior",
    "behavioural": "behavioral",
    "colour": "color",
    "coloured": "colored",
    "colourisation": "colorization",
    "neighbour": "neighbor",
    "neighbourhood": "neighborhood",
    "neighbouring": "neighboring",
    "favour": "favor",
    "favourable": "favorable",
    "labour": "labor",
    "humour": "humor",
    "rumour": "rumor",
    "harbour": "harbor",
    "honour": "honor",
    "vapour": "vapor",
    "flavour": "flavor",
    "centre": "center",
    "centred": "centered",
    "fibre": "fiber",
    "metre": "meter",
    "litre": "liter",
    "theatre": "theater",
    "spectre": "specter",
    "analyse": "analyze",
    "analysed": "analyzed",
    "analysing": "analyzing",
    "analyser": "analyzer",
    "catalyse": "catalyze",
    "paralyse": "paralyze",
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "catalogue": "catalog",
    "dialogue": "dialog",
    "analogue": "analog",
    "programme": "program",
    "artefact": "artifact",
    "grey": "gray",
    "greyscale": "grayscale",
    "ageing": "aging",
    "judgement": "judgment",
    "acknowledgement": "acknowledgment",
    "aluminium": "aluminum",
    "sceptical": "skeptical",
    "oestrogen": "estrogen",
    "tumour": "tumor",
    "haemoglobin": "hemoglobin",
    "anaemia": "anemia",
    "paediatric": "pediatric",
    "oesophageal": "esophageal",
}

# A British word (as singular() leaves it) -> its American spelling.
AMERICAN: dict[str, str] = {
    **{root + end: root + "iz" + end[2:] for root in _IZE_ROOTS for end in _IZE_ENDINGS},
    **{root + "l" + end: root + end for root in _DOUBLE_L_ROOTS for end in _DOUBLE_L_ENDINGS},
    **_WORDS,
}
