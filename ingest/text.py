"""Text clean-up shared by every loader: Unicode normalisation and safe display names."""

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
    stem = re.sub(r"[^\w\- ]+", "_", display_name(stem, limit=10_000)).strip(" ._")[:limit] or "upload"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)[:10].lower()
    return stem + (f".{ext}" if ext else "")
