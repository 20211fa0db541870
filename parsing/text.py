"""Text normalisation, in one place: cleaning upstream text, and the words a paper is made of.

Parsers clean what they read with clean_text / plain_text; the rule language, the store's
identity (title_key) and the pages split text with fold / words / stem. Queries and papers go
through the same functions, so a word in a rule and a word in a paper compare equal.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata

from pylatexenc.latex2text import LatexNodes2Text

# ---- cleaning ---------------------------------------------------------------------------

# Characters XML 1.0 forbids, plus the noncharacters U+FFFE/U+FFFF and lone surrogates.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Bidirectional overrides can make a title display as something it is not.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_SPACES = re.compile(r"\s+")


def strip_invalid(text: str) -> str:
    """Remove XML-invalid characters, lone surrogates and bidi overrides; keep the rest."""
    return _BIDI_CONTROLS.sub("", _XML_INVALID.sub("", text))


def clean_text(value: str | None, *, max_length: int = 20_000) -> str:
    """Return value as one line of printable text: no XML-invalid characters, spaces folded."""
    if not value:
        return ""
    text = _SPACES.sub(" ", strip_invalid(value)).strip()
    return text[:max_length]


# Tags that HTML really has. Only these are markup: "$T<T_{RW}$" or "$p<i$" in a LaTeX
# abstract is text, and a parser that takes every "<x" for a tag eats the words after it.
# fmt: off
_INLINE_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
    "tt", "u", "var", "wbr", "math", "mi", "mn", "mo", "mrow", "msub", "msup", "msubsup", "mtext",
})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
})
# fmt: on
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[^\s<>/=\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s<>\"']+))?)*)\s*/?>"
)
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)


def _replace_tag(match: re.Match[str]) -> str:
    name = match.group(2).lower()
    if name in _INLINE_TAGS:
        return ""  # S<sub>N</sub>2 -> SN2, <i>trans</i>-splicing -> trans-splicing
    if name in _BLOCK_TAGS:
        return " "
    return match.group(0)  # not HTML: "<T_{RW}$" stays as written


def plain_text(html_text: str | None) -> str:
    """Reduce HTML to its text, once: known tags go (block tags leave a space, inline tags
    nothing, so no space lands inside a word), entities are decoded, anything else stays."""
    if not html_text:
        return ""
    text = _TAG.sub(_replace_tag, _HIDDEN.sub(" ", html_text))
    return html.unescape(text)


# TeX accent commands as arXiv writes them in names and titles: C\'ecile, {\"u}, \c{c},
# Przemys{\l}aw. pylatexenc turns each into its letter; the rest of the text is left alone.
_LETTER = r"(?:\{\\?[A-Za-z]\}|\\[ij](?![A-Za-z])|[A-Za-z])"
_ACCENT = (
    r"\\['`^\"~=.]\s*"
    + _LETTER
    + r"|\\[cvuHkdbrt](?:\s*\{\\?[A-Za-z]\}|\s+[A-Za-z])"
    + r"|\\(?:ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])"
)
_TEX_ACCENT = re.compile(rf"\{{(?:{_ACCENT})\}}|{_ACCENT}")
_MATH = re.compile(r"(\$\$.*?\$\$|\$[^$]*\$)", re.DOTALL)
_LATEX = LatexNodes2Text()


def tex_accents_to_letters(text: str) -> str:
    """Turn TeX accent commands into letters (C\\'ecile -> Cécile); math stays as written."""
    if "\\" not in text:
        return text
    parts = _MATH.split(text)
    for index in range(0, len(parts), 2):  # even parts are outside $...$
        parts[index] = _TEX_ACCENT.sub(lambda m: _LATEX.latex_to_text(m.group(0)), parts[index])
    return "".join(parts)


def safe_link(url: str | None) -> str | None:
    """Keep only absolute http(s) links; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = clean_text(url, max_length=2000)
    if re.match(r"^https?://[^\s/?#]+", url, re.IGNORECASE) and not re.search(r"[\s<>\"]", url):
        return url
    return None


# ---- words ------------------------------------------------------------------------------

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case and strip accents (Poincaré -> poincare)."""
    if text.isascii():  # the common case, and far faster than decomposing
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# ASCII text (most of it) is split by translating every non-alphanumeric to a space:
# the same words as WORD finds, several times faster.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def words(text: str) -> list[str]:
    """Split folded text into words; hyphens, slashes and punctuation separate words."""
    if text.isascii():
        return text.lower().translate(_ASCII_SEPARATORS).split()
    return WORD.findall(fold(text))


def title_key(title: str) -> str:
    """Normalise a title so the same paper listed twice gives the same key."""
    return " ".join(words(title))


# Words seen and their stems. Bounded in bytes, not entries: queries bring words of any
# length, and a cap on entries once let it take far more than its share of a worker
# (BENCHMARKS.md, memory budgets). Cleared when full (an
# LRU would cost a lock and bookkeeping on the hottest path of matching).
STEM_CACHE_BYTES = 16 * 1024 * 1024
_STEMS: dict[str, str] = {}
_stems_bytes = 0
_DICT_SLOT = 100  # a dict entry's share of the table, with room for its growth


def stem(word: str) -> str:
    """Reduce an English plural to its singular: networks -> network, ViTs -> vit."""
    global _stems_bytes
    found = _STEMS.get(word)
    if found is None:
        found = _singular(word)
        cost = sys.getsizeof(word) + (sys.getsizeof(found) if found != word else 0) + _DICT_SLOT
        if _stems_bytes + cost > STEM_CACHE_BYTES:
            _STEMS.clear()
            _stems_bytes = 0
        _STEMS[word] = found
        _stems_bytes += cost
    return found


def stem_cache_bytes() -> int:
    """About how many bytes the stem cache holds now (for tests and /metrics)."""
    return _stems_bytes


def stems_of(raw: list[str]) -> list[str]:
    """stem() of every word; known words are looked up in one C-level pass."""
    found = list(map(_STEMS.get, raw))
    if None in found:
        found = [s if s is not None else stem(w) for s, w in zip(found, raw, strict=True)]
    return found  # type: ignore[return-value]


def _singular(word: str) -> str:
    if len(word) < 3 or word[-1] != "s" or not word[-2].isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]
