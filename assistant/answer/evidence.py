"""Whether the passages answer a question, and how well each unit answers it.

:class:`Evidence` gathers the signals a decline is decided from: the best question-passage
cosine, key terms the corpus has in no form, names and codes the passages never mention, a
figure, date, amount or person asked for but absent where the subject is, and whether the thing
asked for ("which encryption standard...") appears near the best units. Their weights were
fitted on labelled questions, not set by hand. :func:`rank_units` scores units by the key terms
they carry (a term in the unit's paragraph, section heading or document title counts half).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.answer.briefing import Scored
from assistant.answer.counts import YEAR, counted, figures
from assistant.answer.questions import (
    MONTHS,
    TIMES,
    asks_contact,
    asks_named_thing,
    currency,
    entities,
    focus_terms,
    gives_contact,
    names_in,
    office_asked,
    unit_asked,
    wanted_kind,
)
from assistant.answer.units import Unit
from assistant.core.models import Passage
from assistant.core.text import tokenize

#: Log-odds weights of the decline decision, fitted by logistic regression on 211 labelled
#: questions (evals/datasets/realdocs.jsonl and questions.jsonl: 167 answerable, 44 not; the
#: key-term coverage of the passages added nothing once these were in). At the default threshold
#: 0.2 they declined 24 of the 44 and 8 of the 167 answerable ones.
DECLINE_WEIGHTS = {
    "bias": -1.56,
    "dense": 4.47,
    "unknown_terms": -3.15,
    "missing": -0.95,
    "kind_missing": -2.94,
    "focus": 1.58,
}
KINDS = ("money", "share", "count", "date", "person", "thing")
SEGMENT_CREDIT = 0.5  # a key term elsewhere in the unit's paragraph or list counts half
CONTEXT_CREDIT = 0.5  # in its section heading or the document title
RARE_NAME = 0.5  # a name answering "which company" has at least this share of the top idf


@dataclass
class Evidence:
    """The signals a decline is decided from, kept for reports and calibration."""

    coverage: float = 0.0  # idf share of the key terms in the top 3 passages (text, section, title)
    best_lexical: float = 0.0  # the same share within the best unit (and half for its paragraph)
    dense: float = 0.0  # the best cosine between the question and a passage
    unknown_terms: float = 0.0  # share of the key terms the corpus has in no form
    missing: list[str] = field(default_factory=list)  # names, codes, figures absent from passages
    kind_missing: str = ""  # "money", "date"... or a currency asked for but absent
    focus: float = 1.0  # idf share of the asked-for thing ("encryption standard") near the best

    def value(self) -> float:
        """Log-odds that the passages answer the question (weights: ``DECLINE_WEIGHTS``)."""
        w = DECLINE_WEIGHTS
        return (
            w["bias"]
            + w["dense"] * self.dense
            + w["unknown_terms"] * self.unknown_terms
            + w["missing"] * len(self.missing)
            + w["kind_missing"] * bool(self.kind_missing)
            + w["focus"] * self.focus
        )

    def answers(self, threshold: float) -> bool:
        """No amount in a currency the passages never name; otherwise ``value() >= threshold``."""
        if self.kind_missing and self.kind_missing not in KINDS:
            return False
        return self.value() >= threshold


def check_kind(
    question: str,
    passages: list[Passage],
    ranked: list[Scored],
    evidence: Evidence,
    known: Callable[[str], bool] = lambda _term: True,
    weight: Callable[[str], float] = lambda _term: 1.0,
    lower_case: Callable[[str], bool] | None = None,
) -> None:
    """Fill the evidence about what the question names and asks for (names, focus, kind).

    ``known(term)`` says whether the corpus has a term in some form: a name it has in none
    ("Which Zanzibar island...?") cannot be answered about. ``weight(term)`` (BM25 idf) says
    how much each word of the asked-for thing counts: in "which encryption standard" the rare
    "encryption" decides, not "standard", which any passage on standards has.
    ``lower_case(word)`` says whether the documents write a word in lower case, which a
    person's name never is (default: whether the passages do).
    """
    body = " ".join(f"{p.text} {p.title} {p.section}" for p in passages).lower()
    evidence.missing = [e for e in entities(question) if not mentions(e.lower(), body)]
    focus = focus_terms(question)
    if focus:
        near = " ".join(
            " ".join(u.raw for u in s.units if u.segment == s.unit.segment) for s in ranked[:3]
        ).lower()
        weights = [max(weight(t), 1e-6) for t in focus]
        found = [w for t, w in zip(focus, weights, strict=True) if _mentions_term(t, near)]
        evidence.focus = sum(found) / sum(weights)
    kind, money, unit = wanted_kind(question), currency(question), unit_asked(question)
    contact = asks_contact(question)
    if contact and _contact_given(question, ranked, contact):
        evidence.focus = 1.0  # the number or address asked is the thing asked for, found
        contact = ""
    top = ranked[0].lexical if ranked else 0.0  # the fact must sit where the subject is
    best = " ".join(s.unit.raw for s in ranked[:3] if s.lexical >= 0.5 * top)
    if money and money not in body and not (money == "tenge" and "kzt" in body):
        evidence.kind_missing = money
    elif unit and not any(unit[1].search(p.text) for p in passages):
        evidence.kind_missing = unit[0]  # "rating in kiloamperes": no figure in kA anywhere
    elif unit and unit[0] in TIMES and not _duration_given(unit, focus, weight, ranked):
        evidence.kind_missing = unit[0]  # "how many years": durations are everywhere, not here
    elif contact:
        evidence.kind_missing = "contact"  # a telephone number or e-mail asked; not its owner's
    elif any(YEAR.fullmatch(e) for e in evidence.missing):
        evidence.kind_missing = "year"  # "... in 2019?": no passage speaks of that year
    elif kind and kind[0] == "person":  # a name beside the best units, or in the top passage
        lower = lower_case or _written_in(passages)
        office = office_asked(question)  # and for an office, a name beside its title
        if not _names_someone(kind[1], _beside(ranked), lower) or (
            office and not _holder_named(office, question, ranked, kind[1], lower)
        ):
            evidence.kind_missing = "person"
    elif asks_named_thing(question) and not _names_something(
        best, question, lower_case or _written_in(passages), _rarity(weight)
    ):
        evidence.kind_missing = "thing"  # "which airline...?": no name near the subject
    elif kind and not (figures(best, True) if kind[0] == "count" else kind[1].search(best)):
        evidence.kind_missing = kind[0]  # "how many...": BC-2470, section 501, (3) are no counts
    elif kind and kind[0] == "count" and not unit and focus and not counted(focus, best):
        evidence.kind_missing = "count"  # "how many hospitals": a figure beside "hospitals"
    elif kind and any(re.fullmatch(r"[A-Z][a-z]{3,}", e) for e in evidence.missing):
        evidence.kind_missing = kind[0]  # "how many rooms does the Pentagon have?": not here
    elif any(_stranger(e, question, known) for e in evidence.missing):
        evidence.kind_missing = "name"


def _beside(ranked: list[Scored], subject: bool = False) -> str:
    """The paragraphs of the best three units and the whole top passage: where the fact asked
    for must stand (a handbook's imprint gives its publisher's e-mail, not an author's).
    ``subject``: also the paragraphs of the units that carry half of the question's key terms
    and three quarters of what the best unit carries (a duration stated where the subject is)."""
    return " ".join(_paragraphs(ranked, subject))


def _paragraphs(ranked: list[Scored], subject: bool = False) -> list[str]:
    """The texts :func:`_beside` joins: one per paragraph or list, then the top passage."""
    top = max((s.lexical for s in ranked), default=0.0)
    near = [s for s in ranked if subject and s.lexical >= max(0.75 * top, 0.5)]
    found = [
        " ".join(u.raw for u in s.units if u.segment == s.unit.segment)
        for s in [*ranked[:3], *near]
    ]
    return [*dict.fromkeys(found), *(s.passage.text for s in ranked[:1])]


def _duration_given(
    unit: tuple[str, re.Pattern[str]],
    focus: list[str],
    weight: Callable[[str], float],
    ranked: list[Scored],
) -> bool:
    """Whether a figure in the unit of time asked stands where the subject is, and beside the
    rarest word of the thing asked for when that is not the unit itself: a cabling warranty "in
    years" is not answered by "the period between 4 and 14 years of service"."""
    things = [t for t in focus if not t.startswith(unit[0])]
    rare = max(things, key=weight) if things else ""
    return any(
        unit[1].search(text) and (not rare or _mentions_term(rare, text.lower()))
        for text in _paragraphs(ranked, subject=True)
    )


def _holder_named(
    office: str,
    question: str,
    ranked: list[Scored],
    names: re.Pattern[str],
    lower_case: Callable[[str], bool],
) -> bool:
    """Whether some unit (with its lead-in) names a person beside the office asked for and the
    question's own names ("Minister of Defence of Moldova": a unit on Moldova and a minister;
    the headings above it and the document's title count for these, so a table under "Senior
    Responsible Owners" names the owners in its rows). A biography that mentions a "Minister
    of Defence", or "He was Secretary General", says nothing of who holds NATO's or Moldova's
    post."""
    title = re.compile(rf"\b{office}s?\b", re.I)
    asked = [e for e in names_in(question) if tokenize(e)]
    for scored in ranked:
        unit, units = scored.unit, scored.units
        card = unit.raw if unit.lead is None else f"{units[unit.lead].raw} {unit.raw}"
        where = f"{card} {unit.heading} {scored.passage.title} {scored.passage.section}"
        if (
            title.search(where)
            and all(mentions(e, where.lower()) for e in asked)
            and _names_someone(names, card, lower_case)
        ):
            return True
    return False


def _contact_given(question: str, ranked: list[Scored], contact: str) -> bool:
    """Whether the contact asked for is given: in a unit (or the unit after it) that names whom
    the question names ("Bernice Steinhardt at 202-512-6543"), else beside the best units."""
    names = names_in(question)
    if not names:
        return gives_contact(_beside(ranked), contact)
    for scored in ranked:
        unit, units = scored.unit, scored.units
        if any(mentions(n, unit.raw.lower()) for n in names):
            after = units[unit.order + 1] if unit.order + 1 < len(units) else None
            card = unit.raw + (f" {after.raw}" if after and after.segment == unit.segment else "")
            if gives_contact(card, contact):
                return True
    return False


def rank_units(
    units: list[Unit],
    passage: Passage,
    context: set[str],
    weights: dict[str, float],
    total: float,
    base: float,
    scale: float,
    defined: dict[str, set[str]] | None = None,
) -> list[Scored]:
    """Score a passage's units: key terms in the unit (with lead-in or items), half nearby.
    ``defined``: abbreviations and the words they stand for, which a unit that uses the
    abbreviation carries too ("Never allow contractors to write the QASP": the plan asked of)."""
    own = [set(tokenize(u.raw)) for u in units]
    defined = defined or {}
    for tokens in own:
        for short in tokens & defined.keys():
            tokens |= defined[short]
    segments: dict[int, set[str]] = {}
    for unit, tokens in zip(units, own, strict=True):
        if not unit.junk:
            segments.setdefault(unit.segment, set()).update(tokens)
    out = []
    for unit in units:
        if unit.junk:
            continue
        tokens = set(own[unit.order])
        if unit.lead is not None:
            tokens |= own[unit.lead]
        near = segments.get(unit.segment, set())  # a lead-in's items are in it too
        above = context | set(tokenize(unit.heading)) if unit.heading else context
        credit = [
            1.0 if _has(t, tokens) else CONTEXT_CREDIT if _has(t, above) else 0.0 for t in weights
        ]
        near_credit = [SEGMENT_CREDIT if _has(t, near) else 0.0 for t in weights]
        lexical = sum(
            w * max(c, n) for w, c, n in zip(weights.values(), credit, near_credit, strict=True)
        )
        lexical /= total
        scored = Scored(unit, passage, base + scale * lexical, lexical, units)
        scored.own = sum(w for t, w in weights.items() if _has(t, own[unit.order])) / total
        out.append(scored)
    return out


_HONORIFIC = re.compile(r"^(?:Mr|Ms|Mrs|Dr|Prof)\b")
_NAME_WORD = re.compile(r"[A-Z][a-z]{2,}")
#: endings of the words that name things, not people ("Border Operations", "Sector Advisory")
_THING_ENDING = re.compile(r"(?:tions?|ments?|ity|ities|ness|ship|ism|ional|isory|atory)$")


def _names_someone(names: re.Pattern[str], text: str, lower_case: Callable[[str], bool]) -> bool:
    """Whether the text names a person: capitalised words none of which the documents also
    write in lower case and none of which ends like the name of a thing. "Border Clearance"
    ("at the border") and "International Leadership" are not people; "Bernice Steinhardt" and
    "Dr. Kim" are."""
    for match in names.finditer(text):
        name = match.group(0)
        words = _NAME_WORD.findall(name)
        if _HONORIFIC.match(name) or all(_may_be_a_name(w, lower_case) for w in words):
            return True
    return False


def _names_something(
    text: str,
    question: str,
    lower_case: Callable[[str], bool],
    rarity: Callable[[str], float] = lambda _word: 1.0,
) -> bool:
    """Whether the text names a company, place, product or the like that the question does not:
    a capitalised word inside a sentence that the documents never write in lower case, that is
    no month, and that is rare in the library ("Sogei", "Amazon", "F-16"; not "Centre" of the
    document's own "Border Operations Centre"), or a company by its legal form ("... JSC").
    Acronyms do not count: documents of government are full of them."""
    if _COMPANY.search(text):
        return True
    asked = {w.lower()[:6] for w in re.findall(r"[\w-]+", question)}
    titles = [m.span() for m in _TITLE_RUN.finditer(text)]
    for match in _SOME_NAME.finditer(text):
        word = match.group(0)
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?:•|" or word.lower()[:6] in asked or word in _MONTHS:
            continue  # a sentence's first word, a name the question gives (Australian), a date
        if _NATION.search(word) or _REFERENCE.match(text, match.start()):
            continue  # "Swedish", "Australian": no company or city; "Article 800", "Annex B"
        if any(a <= match.start() < b for a, b in titles):
            continue  # a word of a title: "Grounding, Bonding And Shielding for Common Long Haul"
        if rarity(word) >= RARE_NAME and (
            any(c.isdigit() for c in word) or _may_be_a_name(word, lower_case)
        ):
            return True
    return False


def _may_be_a_name(word: str, lower_case: Callable[[str], bool]) -> bool:
    """A capitalised word the documents never write in lower case and that does not end like
    the name of a thing ("Steinhardt", "Sogei"; not "Border", "Operations")."""
    return not (_THING_ENDING.search(word) or lower_case(word.lower()))


def _rarity(weight: Callable[[str], float]) -> Callable[[str], float]:
    """A word's idf as a share of the idf of a word no chunk has (1.0: as rare as can be)."""
    ceiling = max(weight("\x00"), 1e-9)

    def rarity(word: str) -> float:
        tokens = tokenize(word)
        return weight(tokens[0]) / ceiling if tokens else 0.0

    return rarity


_COMPANY = re.compile(  # "Astravia Information Systems JSC", "Acme Ltd": a company by its form
    r"\b[A-Z]\w+(?:\s+[A-Z]\w+)*,?\s+(?:JSC|LLC|Ltd|Inc|plc|PLC|GmbH|S\.p\.A|SpA|AG|SA|"
    r"Corporation|Corp|Company|Co\.|Limited)\b"
)
_SOME_NAME = re.compile(r"\b[A-Z][a-z]{2,}(?:-?\d+[A-Za-z]*)?\b|\b[A-Z]-?\d+[A-Za-z]*\b")
_NATION = re.compile(r"(?:ian|ish|ese|ean)$|^(?:Dutch|French|Greek|Swiss|Thai)$")
_REFERENCE = re.compile(
    r"(?:Annex|Appendix|Article|Chapter|Clause|Figure|Level|Page|Paragraph|Part|Phase|Section|"
    r"Step|Table|Tier|Title|Volume)\s+(?:\d|[A-Z]\b|[IVX]+\b)"
)
_TITLE_RUN = re.compile(  # four or more capitalised words in a row, "for", "of"... between
    r"(?:[A-Z][\w-]*/?\s*(?<=[\s/])(?:(?:for|of|the|on|to|in|And|For|Of|The|On|To|In)\s+)*){3,}"
    r"[A-Z][\w-]*"
)
_MONTHS = frozenset(MONTHS + "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split())


def _written_in(passages: list[Passage]) -> Callable[[str], bool]:
    text = " ".join(p.text for p in passages)
    return lambda word: re.search(rf"\b{re.escape(word)}\b", text) is not None


def _stranger(name: str, question: str, known: Callable[[str], bool]) -> bool:
    """A name the corpus has in no form; a capital that starts a sentence ("... on. Reveal
    the ...") is no name."""
    return (
        len(name) > 3
        and re.fullmatch(r"[^\W\d_]+(?:-\d+)?", name) is not None  # COVID-19, not GAO-07-791
        and not any(known(t) for t in tokenize(name))
        and not re.search(rf"(?:[.!?:;]\s+|^\W*){re.escape(name)}\b", question)
    )


def _mentions_term(term: str, text: str) -> bool:
    """Whether some word of ``text`` starts with the term's stem (warranty: warranties)."""
    return _starts_word(term[: max(4, len(term) - 2)], text)


def _starts_word(stem: str, text: str) -> bool:
    """Whether a word of the text starts with the stem ("fine" is not in "define")."""
    return re.search(rf"(?<![\w-]){re.escape(stem)}", text) is not None


def mentions(name: str, text: str) -> bool:
    """Whether lower-cased text names it, in some form (TRs: TR; Astravian: Astravia)."""
    if name in text or name.removesuffix("s") in text:
        return True
    return len(name) > 5 and name[: max(5, len(name) - 2)] in text


def _has(term: str, tokens: set[str]) -> bool:
    """Whether the tokens hold the term or a word of its stem (Astravian: Astravia)."""
    if term in tokens:
        return True
    stem = term[: max(5, len(term) - 3)] if len(term) > 5 else None
    return stem is not None and any(t.startswith(stem) for t in tokens)
