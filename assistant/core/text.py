"""Text helpers for ingest and answers: normalisation, safe names, sentences, headings, tokens."""

from __future__ import annotations

import re
import unicodedata

# Zero-width and bidirectional control characters: invisible, and a way to disguise names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalise(text: str) -> str:
    """NFKC-normalise, drop invisible and control characters, tidy spaces; keep line breaks."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def display_name(name: str, limit: int = 120) -> str:
    """A file name made safe to show: no controls, no bidi tricks, no markup, bounded length."""
    cleaned = _CONTROL.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFKC", name)))
    cleaned = re.sub(r"[<>\"'`]", "", cleaned).strip() or "untitled"
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def safe_file_name(name: str, limit: int = 100) -> str:
    """A file name that cannot leave its folder: letters, digits, '.', '-', '_' and spaces only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = (
        re.sub(r"[^\w\- ]+", "_", display_name(stem, limit=10_000)).strip(" ._")[:limit] or "upload"
    )
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)[:10].lower()
    return stem + (f".{ext}" if ext else "")


# Structure: headings, sentences, list items and table rows.
_MD_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.{1,100})$")
# A numbered footnote, not a heading: it wraps ("...Partnership Coun-"), cites ("See ...",
# "Ibid."), or ends on a note mark ("Collective defence.39").
_WRAPPED_NOTE = re.compile(r"\w-$|^(?:see|cf\.|ibid|source:|available at)\b|[a-z][.,]\d+$", re.I)
_NEVER_LAST = frozenset(
    "the of and to in for a an with on by or as at from that which whether if because than but "
    "into their its this these those".split()
)
#: a lower-case auxiliary ends a sentence cut short, not a heading ("Who We Are" is one)
_AUXILIARY_LAST = frozenset(
    "is are was were be been has have had will would can could should may might must".split()
)
_ITEM = re.compile(r"^(?:[-*•·▪◦–]\s|\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{2,4})[.)]\s|\|)")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(\s+)(?=[\"'(\[]?[A-Z0-9•])")
# Words after which a full stop does not end a sentence ("p. 13", "e.g. X", "No. 418").
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:p|pp|para|no|nos|vol|fig|art|sec|ch|cf|e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|st|approx|incl|dept|min|est)"
    r"|\b[A-Z])\.[\"')\]]*$",
    re.IGNORECASE,
)


_DOTTED_END = re.compile(r"(?:\b[A-Za-z]\.){2,}[\"')\]”’]*$")  # "the U.S.", "e.g."


def ends_in_dotted_abbreviation(text: str) -> bool:
    """Whether a line ends in an abbreviation with inner dots, which a wrapped sentence may
    break after ("…use the U.S." / "Web Design System"): no end of a sentence to trust."""
    return _DOTTED_END.search(text.rstrip()) is not None


def heading_of(line: str) -> tuple[int, str] | None:
    """Return (level, title) when a line is a heading, else None."""
    match = _MD_HEADING.match(line)
    if match:
        return len(match.group(1)), match.group(2).strip()
    match = _NUMBERED.match(line)
    if not match:
        return None
    number, title = match.groups()
    words = title.split()
    if (
        int(number.split(".")[0]) == 0
        or title[0].islower()
        or title.rstrip()[-1] in ".,;:"
        or len(words) > 12
        or "http" in title
        or "www." in title
        or sum(w.replace(",", "").replace(".", "").isdigit() for w in words) > len(words) // 3
        or _WRAPPED_NOTE.search(title) is not None
        or words[-1].lower() in _NEVER_LAST
        or words[-1] in _AUXILIARY_LAST
    ):
        return None  # a sentence, a table row, or a numbered footnote wrapped onto a next line
    return number.count(".") + 1, f"{number} {title.strip()}"


def _segments(text: str, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    """Split text[lo:hi] into (start, end, whole) segments: items/rows (whole) and prose."""
    segments: list[tuple[int, int, bool]] = []
    pos = lo
    for line in text[lo:hi].split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped:
            if segments:
                segments.append((-1, -1, False))  # paragraph break marker
            continue
        start += len(line) - len(line.lstrip())
        item = bool(_ITEM.match(stripped))
        if segments and segments[-1][0] >= 0 and not item and not segments[-1][2]:
            segments[-1] = (segments[-1][0], end, False)  # a wrapped prose line continues
        elif (
            segments
            and segments[-1][0] >= 0
            and segments[-1][2]
            and not item
            and not stripped.startswith("|")
            and stripped[0].islower()
        ):
            segments[-1] = (segments[-1][0], end, True)  # a wrapped list item continues
        else:
            segments.append((start, end, item))
    return [s for s in segments if s[0] >= 0]


def unit_spans(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Sentence-level spans; list items and table rows stay whole."""
    units: list[tuple[int, int]] = []
    for start, end, whole in _segments(text, lo, hi):
        if whole:
            units.append((start, end))
            continue
        cursor = start
        for match in _SENTENCE_END.finditer(text, start, end):
            if _ABBREVIATIONS.search(text, max(cursor, match.start(1) - 12), match.start(1)):
                continue
            units.append((cursor, match.start(1)))
            cursor = match.end(1)
        units.append((cursor, end))
    return [(a, b) for a, b in units if text[a:b].strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences, list items and table rows of ``text`` as (start, end) spans."""
    return unit_spans(text, 0, len(text))


# Tokens for lexical matching.
_TOKEN = re.compile(r"\w(?:[\w.\-/]*\w)?")
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours yourself yourselves shall may might must
    """.split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words; keeps figures (412.8) and codes (e-Customs)."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        if token in STOPWORDS:
            continue
        if (
            len(token) > 4
            and token.endswith("s")
            and not token.endswith("ss")
            and not token[-2].isdigit()
        ):
            token = token[:-1]  # light plural folding: budgets -> budget
        out.append(token)
    return out


_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")  # "GuideGovernment": Guide, Government


def printed_title(title: str, pages: list[str]) -> str:
    """A metadata title cut to what the first pages print, when they print its start.

    Publishing tools glue running headers onto PDF titles ("… Field GuideGovernment Technology:
    State Field Guide"); the cover prints the real one. The title is cut after its longest run
    of leading words that the pages print in order, when that run is at least three words and
    two fifths of the title; otherwise (a cover without text, a title not printed) it stays.
    """
    spans = [m.span() for m in _WORD.finditer(title)]
    words = [title[a:b].lower() for a, b in spans]
    printed = " " + " ".join(m.group(0).lower() for p in pages for m in _WORD.finditer(p)) + " "
    run = 0
    while run < len(words) and f" {' '.join(words[: run + 1])} " in printed:
        run += 1
    if run == len(words) or run < 3 or run < 0.4 * len(words):
        return title
    return title[: spans[run - 1][1]].rstrip(" :;,–-")


_DEFINED = re.compile(r"((?:[A-Za-z][\w’'-]*[ \t\n]+){1,10})\(([A-Z][A-Za-z]{1,7})\)")
_SMALL = {"and", "of", "for", "the", "to", "in", "on", "a", "an", "&"}


def acronyms(text: str) -> dict[str, set[str]]:
    """Abbreviations a text defines, lower-cased, with the tokens of what they stand for:
    "quality assurance surveillance plan (QASP)" gives qasp -> {quality, assurance, ...}."""
    found: dict[str, set[str]] = {}
    for match in _DEFINED.finditer(text):
        short = match.group(2)
        letters = [c for c in short if c.isupper()]
        words = [w for w in match.group(1).split() if w.lower() not in _SMALL]
        if len(letters) < 2 or len(words) < len(letters):
            continue
        long = words[-len(letters) :]
        if all(w[0].upper() == c for w, c in zip(long, letters, strict=True)):
            found[short.lower()] = set(tokenize(" ".join(long)))
    return found
