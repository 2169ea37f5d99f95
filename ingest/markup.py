"""Markup read as the text it marks up: reStructuredText, Markdown and HTML.

A plan published as reStructuredText (a ``.rst`` file, or a ``.txt`` that is one) or as
Markdown carries marks that are not its words: ``*cloud*``, ``**Consip**``,
```the Business Register <http://…>`__`` with a footnote reference ``[29]_``, directives such
as ``.. container::``. Read as plain text, answers quoted them verbatim and a quoted phrase
("National strategic poles") was split by a stray ``*``. Section titles become ``#`` lines, as
for every other format; the words marked up stay, the marks go; line breaks stay where they are.
"""

from __future__ import annotations

import re
from typing import Any

#: a section title over its underline ("Introduction" / "------------")
RST_UNDERLINE = re.compile(r"^([^\n]{2,120})\n([=\-~^*#])\2{2,}\s*$", re.MULTILINE)
_RULE = re.compile(r"^[ \t]*([=\-~^*#+`:'\"_])\1{3,}[ \t]*$", re.MULTILINE)  # overlines, rules
_DIRECTIVE = re.compile(r"^[ \t]*\.\. [\w:-]+::.*$")
_OPTION = re.compile(r"^[ \t]+:[\w -]+:(?:[ \t].*)?$")  # ":class: note" under a directive
_FOOTNOTE = re.compile(r"^([ \t]*)\.\. (\[[^\]\n]+\])[ \t]+")  # ".. [29] text": "[29] text"
_COMMENT = re.compile(r"^[ \t]*\.\.(?:[ \t].*)?$")  # targets, substitutions, comments
_BORDER = re.compile(r"^[ \t]*\+[-=+]{3,}\+?[ \t]*$")  # a grid table's border line

_NO_BREAK = r"(?:(?!\n[ \t]*\n)[^*])"  # marked text never spans a blank line or a star
_STRONG = re.compile(r"(?<![\w*\\])\*\*(?=\S)((?:(?!\n[ \t]*\n)[^\n]|\n)+?)(?<=\S)\*\*(?![\w*])")
_EMPHASIS = re.compile(rf"(?<![\w*\\])\*(?=[^\s*])({_NO_BREAK}+?)(?<=[^\s*\\])\*(?![\w*])")
_LITERAL = re.compile(r"``(?=\S)([^`]+?)``")

# reStructuredText
_ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)?:`([^`]+)`")
_LINK = re.compile(r"`([^`<]*?)\s*<([^`>]*)>`_{1,2}")  # `text <url>`_ (text, else url)
_REFERENCE = re.compile(r"`([^`]+)`_{1,2}|`([^`]+)`")
_FOOTNOTE_REF = re.compile(r"[ \t]?\[(?:\d+|#[\w-]*|\*)\]_")
_ESCAPED_SPACE = re.compile(r"\\ ")  # "*cloud*\ s", "`…`__\ [12]_": a mark set off from a word
_SET_OFF = "\x00"  # stands for an escaped space until the marks are gone
_ESCAPE = re.compile(r"\\(.)|\\$", re.MULTILINE)

# Markdown
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_MD_DEFINITION = re.compile(r"^[ \t]{0,3}\[[^\]\n]+\]:[ \t]+\S.*$", re.MULTILINE)
_UNDERSCORES = re.compile(r"(?<![\w\\])__?(?=\S)([^_\n]+?)(?<=\S)__?(?!\w)")
_CODE = re.compile(r"`([^`\n]+)`")
_HTML_COMMENT = re.compile(
    r"<!--(?!\s*pagebreak\s*-->).*?-->", re.DOTALL | re.IGNORECASE
)  # not a page break


def is_restructured(text: str) -> bool:
    """Whether plain text is written in reStructuredText: titles over underlines with a
    directive, a link or a footnote reference of its kind, or three titles."""
    head = text[:200_000]
    titles = len(RST_UNDERLINE.findall(head))
    marks = bool(
        re.search(r"^\.\. [\w:-]+::", head, re.MULTILINE)
        or _LINK.search(head)
        or _FOOTNOTE_REF.search(head)
    )
    return titles >= 3 or (titles >= 1 and marks)


def section_titles(text: str) -> str:
    """Underlined titles as ``#`` lines, the level set by the order the underlines appear in."""
    levels: dict[str, int] = {}

    def heading(match: re.Match[str]) -> str:
        level = levels.setdefault(match.group(2), len(levels) + 1)
        return "#" * min(level, 6) + " " + match.group(1).strip()

    return RST_UNDERLINE.sub(heading, text)


def grid_tables(lines: list[str]) -> list[str]:
    """A grid table's rows as one ``| cell | cell |`` line each: a cell written over several
    lines ("| Description | AgID completes…" / "|             | AgID identifies…") is read whole,
    beside its label, instead of as rows whose first cell is empty."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].lstrip().startswith(("+", "|")):
            i += 1
        out += _grid_rows(lines[start:i])
    return out


def _grid_rows(block: list[str]) -> list[str]:
    border = block[0]
    edges = [k for k, char in enumerate(border) if char == "+"]
    rows: list[str] = []
    cells: list[list[str]] = []
    for line in block[1:]:
        if _BORDER.match(line):
            if any(cells):
                rows.append("| " + " | ".join(" ".join(c) for c in cells) + " |")
            cells = []
            continue
        if all(k < len(line) and line[k] == "|" for k in edges[:-1]):
            parts = [line[a + 1 : b] for a, b in zip(edges, [*edges[1:], len(line)], strict=False)]
        else:  # cells out of line with the border: split at the bars
            parts = line.strip().strip("|").split("|")
        parts = [p.strip().rstrip("|").strip() for p in parts][: max(len(edges) - 1, 1)]
        cells += [[] for _ in range(len(parts) - len(cells))]
        for cell, part in zip(cells, parts, strict=False):
            if part:
                cell.append(part)
    if any(cells):
        rows.append("| " + " | ".join(" ".join(c) for c in cells) + " |")
    return rows


def plain_rst(text: str) -> str:
    """reStructuredText as plain text with ``#`` titles (see the module's docstring)."""
    lines: list[str] = []
    in_directive = False
    for line in grid_tables(text.split("\n")):
        if _DIRECTIVE.match(line):
            in_directive = True  # its content, indented below, is kept; its options are not
            continue
        if in_directive and _OPTION.match(line):
            continue
        in_directive = False
        footnote = _FOOTNOTE.match(line)
        if footnote:
            line = footnote.group(1) + footnote.group(2) + " " + line[footnote.end() :]
        elif _COMMENT.match(line):
            continue
        lines.append(line)
    text = section_titles("\n".join(lines))
    text = _RULE.sub("", text)
    text = _ESCAPED_SPACE.sub(_SET_OFF, text)
    text = _ROLE.sub(r"\1", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _LITERAL.sub(r"\1", text)
    text = _REFERENCE.sub(lambda m: m.group(1) or m.group(2), text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _emphasis(text)
    return _ESCAPE.sub(lambda m: m.group(1) or "", text).replace(_SET_OFF, "")


def plain_markdown(text: str) -> str:
    """Markdown's inline marks dropped (links keep their text, images their description);
    ``#`` titles, list marks and table rows are kept: the reader understands those."""
    text = _HTML_COMMENT.sub("", text)
    text = _MD_DEFINITION.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _emphasis(text)
    return _UNDERSCORES.sub(r"\1", text)


_HTML_BLOCKS = [
    *("p", "div", "br", "section", "article", "caption", "ul", "ol", "dl", "dt", "dd"),
    *("blockquote", "pre", "figure", "figcaption", "header", "footer", "main", "aside", "nav"),
    *("address", "hr"),
]  # a line break after each: their texts are not one run of words


_SKIP_LINK = re.compile(r"^#")  # "Skip to main content", "Skip back to top"
_SKIP_TEXT = re.compile(r"\s*(?:skip|jump|back) to\b|\s*skip back\b", re.IGNORECASE)
_SITE_ROLES = ["navigation", "banner", "contentinfo", "menu", "menubar", "search"]


def plain_html(data: bytes) -> tuple[str, str]:
    """(the page's <title>, its text): headings as '#' lines, list items as '-' lines, table
    rows as '| a | b |' lines (cells had run together: "Lot 1North"); no scripts or styles."""
    from bs4 import BeautifulSoup

    soup: Any = BeautifulSoup(data, "html.parser")  # (the stubs know no attrs= by list)
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.head:
        soup.head.decompose()
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    site = soup.find_all("nav") + soup.find_all(attrs={"role": _SITE_ROLES})
    if main is not None and main.get_text(strip=True):
        soup = main  # the page's own content (its header and footer too), not the site's
    else:
        site += [t for t in soup.find_all(["header", "footer"]) if not t.find_parent("article")]
    site += [a for a in soup.find_all("a", href=_SKIP_LINK) if _SKIP_TEXT.match(a.get_text())]
    for tag in site:  # menus, banners, footers: the site's words, not the document's
        if not tag.decomposed:
            tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.insert_before("\n\n" + "#" * level + " ")
            tag.insert_after("\n\n")
    for tag in soup.find_all("li"):
        tag.insert_before("\n- ")
    for row in reversed(soup.find_all("tr")):  # inner tables first
        cells = [c.get_text(" ", strip=True) for c in row.find_all(["td", "th"], recursive=False)]
        row.replace_with("\n| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_after("\n")
    for tag in soup.find_all("table"):
        tag.insert_after("\n\n")  # what follows a table is not its last row
    return title, soup.get_text("")


def _emphasis(text: str) -> str:
    return _EMPHASIS.sub(r"\1", _STRONG.sub(r"\1", text))
