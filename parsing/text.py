"""Cleaning upstream text: what parsers need to read it (clean_text, plain_text, TeX
accents, safe links) and the store's identity of a title (title_key). Splitting text into
words and stems is the rule language's analyser (topics.analysis), which title_key uses.
"""

from __future__ import annotations

import html
import re
import unicodedata

from pylatexenc.latex2text import LatexNodes2Text

from topics.analysis import words

# ---- cleaning ---------------------------------------------------------------------------

# Characters XML 1.0 forbids, plus the noncharacters U+FFFE/U+FFFF and lone surrogates.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
# Bidirectional overrides can make a title display as something it is not.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_SPACES = re.compile(r"\s+")
# Every character that \s matches but " " (str.isspace: tests/parsing/test_edge_cases.py
# checks the list against every code point).
OTHER_SPACES = "\t\n\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# What clean_text changes inside a text besides two spaces in a row: an invalid or bidi
# character, a space other than " ". Most text has none: one scan of one class tells.
_UNCLEAN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff"
    f"\u202a-\u202e\u2066-\u2069\u200e\u200f{OTHER_SPACES}]"
)


def strip_invalid(text: str) -> str:
    """Remove XML-invalid characters, lone surrogates and bidi overrides; keep the rest."""
    return _BIDI_CONTROLS.sub("", _XML_INVALID.sub("", text))


def clean_text(value: str | None, *, max_length: int = 20_000) -> str:
    """Return value as one line of printable text: no XML-invalid characters, spaces folded."""
    if not value:
        return ""
    # Every character _UNCLEAN finds is unprintable: isprintable() (one C loop) mostly
    # answers for it (tests/parsing/test_edge_cases.py checks every code point).
    if "  " not in value and (value.isprintable() or _UNCLEAN.search(value) is None):
        return value.strip()[:max_length]
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


_TAG_PAIR = re.compile(r"<([A-Za-z][\w.:-]*)(?:\s[^<>]*)?>(.*?)</\1\s*>", re.DOTALL)


def strip_tag_pairs(text: str) -> str:
    """Drop markup that comes in pairs, whatever its name (<Emphasis>x</Emphasis> -> x); a
    lone "<" ("$T<T_{RW}$") has no closing tag and stays."""
    while True:
        stripped = _TAG_PAIR.sub(r"\2", text)
        if stripped == text:
            return text
        text = stripped


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
_MATH_TEXT = LatexNodes2Text(math_mode="text")


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
    if _HTTP.match(url) and not _NOT_IN_LINK.search(url):
        return url
    return None


_HTTP = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)
_NOT_IN_LINK = re.compile(r"[\s<>\"]")


# ---- title keys -------------------------------------------------------------------------


# Bump when title_key changes: the store re-keys the titles it holds (store.backfill).
TITLE_KEY_VERSION = 2
# Sub- and superscript marks inside a word: SRe^2L, QC_2D, x^{(1)}.
_SCRIPT = re.compile(r"[\^_{}]")


def title_key(title: str) -> str:
    """Normalise a title so the same paper listed twice gives the same key: its words, as
    the rule language splits them (topics.analysis), seen through notation. TeX math
    becomes the text it shows ($\\alpha$ -> α, $\\mathcal{O}(n)$ -> O(n)); compatibility
    forms become their letters (² -> 2, 𝒪 -> O, ﬁ -> fi); sub- and superscripts join their
    word (SRe$^2$L = SRe^2L = SRe²L = SRe2L); accents fold away in words()."""
    if "$" in title:
        parts = _MATH.split(title)
        for index in range(1, len(parts), 2):  # odd parts are $...$
            parts[index] = _MATH_TEXT.latex_to_text(parts[index].strip("$"))
        title = "".join(parts)
    title = _SCRIPT.sub("", unicodedata.normalize("NFKC", title))
    return " ".join(words(title))
