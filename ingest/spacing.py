"""Words a PDF's text layer split with a space, joined again.

Some PDFs place the glyphs of one word in two runs; pypdf then reads a space inside the word
("se curity", "militar y", "fo r"). Such a break is only recognisable against the document
itself: two pieces are joined when the document writes the joined word whole at least twice and
one piece is rare in it (fewer times than the whole word and under three times, or a tenth as
often as the whole word). "a part" stays apart where the document writes "a" and "part" often;
"in ternal" becomes "internal" because "ternal" is written nowhere else.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z]+")
#: a word and the space after it, when a lower-case word follows (looked at, not consumed, so
#: that "t he se curity" can join twice)
_PAIR = re.compile(r"(?<![\w'’-])([A-Za-z]+) (?=([a-z]+)(?![\w'’-]))")
RARE = 3  # a piece written this often or more is a word of its own...
SHARE = 10  # ...unless the whole word is written ten times as often ("se curity": 11 of 195)


def rejoin_split_words(pages: list[str], rounds: int = 3) -> list[str]:
    """The pages with words split by a stray space joined (see the module docstring).

    A piece may be common only because it is left over from many breaks ("thei r", "fo r"):
    after each round the words are counted again, and pieces that have become rare are joined
    in the next (at most ``rounds``)."""
    for _ in range(rounds):
        pages, joined = _join_once(pages)
        if not joined:
            break
    return pages


def _join_once(pages: list[str]) -> tuple[list[str], int]:
    counts = Counter(w.lower() for page in pages for w in _WORD.findall(page))
    joined = 0

    def join(match: re.Match[str]) -> str:
        nonlocal joined
        head, tail = match.group(1), match.group(2)
        whole = counts[(head + tail).lower()]
        rare = min(counts[head.lower()], counts[tail])
        if whole >= 2 and (rare < min(RARE, whole) or rare * SHARE <= whole):
            joined += 1
            return head
        return match.group(0)

    return [_PAIR.sub(join, page) for page in pages], joined
