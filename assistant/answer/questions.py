"""What a question asks: its key terms, the kind of fact it wants, and its parts.

``key_terms`` drops the words every question has ("what is the purpose of..."), so coverage
measures the subject. ``wanted_kind`` says when only a figure, a date or an amount in a named
currency can answer. ``split_question`` cuts "X, and Y?", "X? Y?" and "How does A compare with B
on Z?" into parts that are retrieved and answered one by one.
"""

from __future__ import annotations

import re

from assistant.core.text import tokenize

#: Words that say how a question is asked, not what it is about.
GENERIC = frozenset(
    """purpose main role meaning meant mean significance important importance describe described
    explain according text document documents say says said mention mentioned mentions tell kind
    type types example examples key use used way ways give given provide provided list name named
    define definition defined need needed require required requirement requirements include
    included includes involve involved consider considered considerations happen doe make made
    much many long often also get goal objective aim aims purpose overall general specific
    particular regarding context relation relationship related concerning plan document report
    guide quote quoted cite cited cites appear appears difference differ between thing
    stand abbreviation acronym abbreviated
    one two three four five six seven eight nine ten""".split()
)

_CURRENCY = re.compile(
    r"\b(?:tenge|kzt|dollars?|usd|euros?|eur|pounds?|gbp|rubles?|roubles?|rub|yen|yuan|"
    r"rupees?|francs?|lira|manat|som|sum|hryvnia|lari|dram)\b|[$€£¥₸]",
    re.IGNORECASE,
)
#: numbers written as words: a figure ("five-year", "thirty days"), and what else gives a count
FIGURE_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
)
_NUMBER_WORDS = rf"{FIGURE_WORDS}|hundred|dozen|single|both|each|every"
MONTHS = (
    "January February March April May June July August September October November December"
).split()
_WANTS = [
    (
        "money",
        re.compile(
            r"\bhow much\b.*\b(?:cost|spend|budget|fund|money|pay|invest)"
            r"|\b(?:budget|cost|funding|spend|spent|price|allocation)\b.*"
            r"\b(?:how much|what|total)\b"
            r"|\bwhat\b.*\b(?:budget|cost|funding)\b|\bin (?:tenge|dollars|euros|pounds)\b"
            r"|\b(?:how much|what|which)\s+(?:\w+\s+){0,2}(?:salary|salaries|wages?|fees?|fines?|"
            r"hourly rate|prices?|charges?)\b",
            re.I,
        ),
        re.compile(  # an amount: a currency sign or code, or millions (a bare year is not one)
            r"\d[\d.,]*\s*(?:million|billion|bn|mn|thousand|[A-Z]{3}\b)|[$€£¥₸]\s?\d|\d\s?[$€£¥₸]"
            r"|\b[A-Z]{3}\s?\d",
        ),
    ),
    (
        "share",
        re.compile(
            r"\b(?:what|which)\s+(?:percentage|share|proportion|fraction)\b|\bwhat per ?cent"
            r"|\bhow many per ?cent",
            re.I,
        ),
        re.compile(
            r"\d\s*(?:%|per ?cent)|\b\d+ (?:in|of|out of) \d+\b|\bhalf\b|\bthirds?\b|\bquarter\b",
            re.I,
        ),
    ),
    (
        "count",
        re.compile(r"\bhow many\b", re.I),
        re.compile(rf"\b\d[\d,.]*\b|\b(?:{_NUMBER_WORDS})\b", re.I),
    ),
    (
        "date",
        re.compile(
            r"^\s*(?:and\s+)?when\b|\bwhat (?:date|year|month)\b|\bby when\b"
            r"|\bwhich (?:date|year)\b|\bon what date\b|\bin what year\b",
            re.I,
        ),
        re.compile(  # month names capitalised ("decision" and the verb "may" are no dates)
            rf"\b(?:19|20)\d\d\b|\b(?:{'|'.join(MONTHS)})\b"
            r"|\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?\s+\d"
            r"|\d\s+(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b"
            r"|\b[Qq][1-4]\b|\b(?i:year|month|week|quarter)s?\b",
        ),
    ),
]
_NOT_A_NAME = (
    r"(?!(?:Minister|Ministry|Prime|Deputy|First|Department|Office|Agency|Committee|Commission|"
    r"Government|National|Republic|Council|Centre|Center|Bank|Plan|Programme|Program|Strategy|"
    r"Review|Board|Authority|Services?|Public|State|General|Chief|Director|President|Mayor|"
    r"Secretary|Head|Chair|Officer|Unit|Digital|Islands?|Annex|Section|Table|Figure|The|This|"
    r"Legislative|Decree|Law|Act|Regulations?|Directive)\b)"
)
_WANTS.append(
    (
        "person",
        re.compile(
            r"\bname of the (?:\w+ )?(?:person|official|minister|director|head|chair|author|"
            r"editor|contact|officer|manager|leader|secretary)\b"
            r"|^\s*who is the\b|\bwhich person\b"
            r"|^\s*(?:and\s+)?who (?:signed|wrote|invented|coined|founded|devised|authored)\b",
            re.I,
        ),
        re.compile(
            rf"\b(?:Mr|Ms|Mrs|Dr|Prof)\.?\s+[A-Z]|\b{_NOT_A_NAME}[A-Z][a-z]+\s+(?:[A-Z]\.\s+)?"
            rf"{_NOT_A_NAME}[A-Z][a-z]{{2,}}\b"
        ),
    )
)
_ENTITY = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)*\b|\b\d[\d.,/-]*\d\b|\b\d\b")
_QUESTION_START = (
    r"(?:what|how|which|who|whom|whose|when|where|why|is|are|does|do|did|can|could|should|will"
    r"|would|has|have|was|were)"
)
_AND_SPLIT = re.compile(
    rf"(?:,|;)\s*(?:and|but|also|then|plus)\s+(?={_QUESTION_START}\b)"
    rf"|\?\s+(?:and\s+)?(?={_QUESTION_START}\b)",
    re.I,
)
_COMPARE = re.compile(
    r"^\s*(?:how\s+(?:does|do|did)\s+(?P<a1>.+?)\s+(?:compare|differ)\s+"
    r"(?:with|to|from|against)\s+(?P<b1>.+?)"
    r"|compare\s+(?P<a2>.+?)\s+(?:with|to|and|against)\s+(?P<b2>.+?))"
    r"(?:\s+(?:on|in|regarding|about|concerning|in terms of|as to|for)\s+(?P<topic>.+?))?"
    r"\s*\??\s*$",
    re.IGNORECASE,
)
_SAYS = re.compile(r"^What does (?P<subject>.+?) say(?: about (?P<topic>.+?))?\?$")
_STARTS_QUESTION = re.compile(rf"^\s*{_QUESTION_START}\b", re.I)
_REFERS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|this|that|these|those|the same|the term|each|both)\b", re.I
)
_FOCUS = re.compile(
    r"^\s*(?:and\s+)?(?:what|which|how many|how much)\s+"
    r"(?:(?:is|are|was|were|does|do|did|will|would)\s+)?"
    r"(?:(?:the|a|an|its|their)\s+)?(?P<focus>[\w-]+(?:\s+[\w-]+)?)",
    re.IGNORECASE,
)
_ASKS_WHO = re.compile(
    r"^\s*who\b|\bwho (?:is|are|will)\b|\bwhich (?:body|agency|institution|ministry|office|unit|"
    r"organi[sz]ation|committee|department|minister|team|company|person)\b",
    re.IGNORECASE,
)
NAMES_SOMEONE = re.compile(
    r"\b(?:lead body|led by|responsible|chair(?:ed|s)?|owner|headed by|run by|operated by)\b",
    re.IGNORECASE,
)
MAX_PARTS = 4


def key_terms(question: str) -> list[str]:
    """The question's content tokens without generic question words (all of them if none remain)."""
    tokens = tokenize(question)
    tokens = [t for t in tokens if len(t) > 1 or t.isdigit()]
    specific = [t for t in tokens if t not in GENERIC]
    return list(dict.fromkeys(specific or tokens))


def names_in(question: str) -> list[str]:
    """The question's names and codes, lower-cased, without its figures."""
    return [e.lower() for e in entities(question) if not e[:1].isdigit()]


def entities(question: str) -> list[str]:
    """Names, codes and figures: capitalised words after the first, acronyms, numbers."""
    words = question.strip().split()
    body = " ".join(words[1:]) if words else ""
    found = []
    for match in _ENTITY.finditer(body):
        token = match.group(0)
        if (
            token.lower() in GENERIC
            or token.lower() in {"i", "a"}
            or len(token) < 2
            and not token.isdigit()
        ):
            continue
        found.append(token)
    return list(dict.fromkeys(found))


def focus_terms(question: str) -> list[str]:
    """What a what/which/how-many question asks for ("Which encryption standard..." -> 2 words).

    Capitalised words are left out: names are checked as entities.
    """
    match = _FOCUS.match(question)
    if not match:
        return []
    words = [w for w in match.group("focus").split() if not w[:1].isupper()]
    if not words and match.group(0).lower().lstrip().startswith("how many"):
        # "how many New Zealand citizens": the thing counted follows the name
        after = question[match.start("focus") :].split()
        words = [w for w in after if not w[:1].isupper()][:1]
    return [t for t in tokenize(" ".join(words)) if t not in GENERIC and len(t) > 2][:2]


_OFFICE = re.compile(  # "who is the current Secretary General of...", "name of the minister..."
    r"^\s*(?:who (?:is|was) |what is the name of )(?:the |a |an )?(?:[\w'’-]+\s+){0,3}?"
    r"(?P<title>minister|secretary|director|chair(?:man|woman|person)?|president|commissioner|"
    r"mayor|governor|officer|head|chief|owner|ambassador|ombudsman|auditor|manager|leader)\b",
    re.I,
)


def office_asked(question: str) -> str | None:
    """The office whose holder a question asks for ("minister", "secretary", "owner"), if any."""
    match = _OFFICE.match(question)
    return match.group("title").lower() if match else None


def asks_who(question: str) -> bool:
    """Whether a question asks which body or person does something."""
    return bool(_ASKS_WHO.search(question))


_ASKS_PHONE = re.compile(r"\b(?:(?:tele)?phone|fax|helpline|hotline)\s+numbers?\b", re.I)
_ASKS_EMAIL = re.compile(r"\be-?mail address(?:es)?\b", re.I)
_ASKS_ANY = re.compile(r"\bcontact\s+(?:numbers?|details)\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?:\+\d{1,3}[ .-]?)?\(?\d{2,5}\)?(?:[ \t.-]\d{2,4}){1,4}\b")  # on one line
_NOT_PHONE = re.compile(  # dates (07.06.2016), runs of years (2019 2020 2021), 1 000 000
    r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$|^(?:(?:19|20)\d\d[\s.-]*)+$|^\d{1,3}(?:[ ,.]\d{3})+$"
)


def gives_contact(text: str, kind: str = "any") -> bool:
    """Whether the text holds what ``kind`` of contact asks for: an e-mail address ("email"), a
    telephone number of 7+ digits in groups ("phone"; not a date, a year run, a thousands
    figure or an ISBN), or either ("any")."""
    if kind != "phone" and _EMAIL.search(text):
        return True
    return kind != "email" and any(
        sum(c.isdigit() for c in m.group(0)) >= 7
        and not _NOT_PHONE.match(m.group(0).strip(" ()").replace(")", ""))
        and "isbn" not in text[max(0, m.start() - 8) : m.start()].lower()
        for m in _PHONE.finditer(text)
    )


def asks_contact(question: str) -> str:
    """What contact a question asks for: "phone", "email", "any" (contact details), or ""."""
    if _ASKS_PHONE.search(question):
        return "phone"
    if _ASKS_EMAIL.search(question):
        return "email"
    return "any" if _ASKS_ANY.search(question) else ""


_NAMED_THING = re.compile(  # things known by their names: "which airline", "in which city"
    r"\b(?:which|what)\s+(?:[\w-]+\s+){0,2}?(?:aircraft|airlines?|banks?|brands?|cit(?:y|ies)|"
    r"compan(?:y|ies)|contractors?|countr(?:y|ies)|firms?|makers?|manufacturers?|publishers?|"
    r"suppliers?|tanks?|universit(?:y|ies)|vendors?|programming languages?)(?![\w-])",
    re.I,
)


def asks_named_thing(question: str) -> bool:
    """Whether a question asks which company, city, brand... (answered by a name)."""
    return _NAMED_THING.search(question) is not None


_UNITS = [  # (unit, how a question names it, how a passage writes a figure in it)
    ("kiloampere", r"kiloamp(?:ere)?s?", r"kA\b|kiloamp"),
    ("ampere", r"(?:milli)?amp(?:ere)?s?", r"[km]?A\b|(?:kilo|milli)?amp"),
    ("volt", r"(?:kilo|milli)?volts?", r"[km]?V\b|(?:kilo|milli)?volt"),
    ("watt", r"(?:kilo|mega|giga)?watts?(?:[ -]hours?)?", r"[kMG]?Wh?\b|(?:kilo|mega|giga)?watt"),
    (
        "metre",
        r"(?:square |cubic )?(?:kilo|centi|milli)?met(?:re|er)s?",
        r"[kcm]?m\b|m[23²³]|(?:kilo|centi|milli)?met(?:re|er)",
    ),
    ("foot", r"(?:square |cubic )?(?:feet|foot)", r"ft\b|feet|foot|['′]"),
    ("inch", r"inch(?:es)?", r"in\.|inch|[\"″]"),
    ("mile", r"miles?", r"mi\b|mile"),
    ("hectare", r"hectares?|acres?", r"ha\b|hectare|acre"),
    ("kilogram", r"(?:kilo)?grams?|kilos|tonnes?", r"k?g\b|(?:kilo)?gram|kilos|t\b|tonne|ton"),
    ("litre", r"lit(?:re|er)s?|gallons?", r"[lL]\b|lit(?:re|er)|gal(?:lon)?"),
    (
        "bit rate",
        r"(?:kilo|mega|giga)bits?(?: per second)?|[kmg]bps",
        r"[kKMG]b(?:it)?(?:/s|ps)\b|(?:kilo|mega|giga)-?bit",
    ),
    ("byte", r"(?:kilo|mega|giga|tera)bytes?", r"[KMGT]i?B\b|(?:kilo|mega|giga|tera)byte"),
    ("ohm", r"ohms?", r"Ω|ohm"),
    ("decibel", r"decibels?", r"dB\b|decibel"),
    ("hertz", r"(?:kilo|mega|giga)?hertz|[kmg]hz", r"[kMG]?Hz\b|(?:kilo|mega|giga)?hertz"),
    ("celsius", r"degrees? celsius|celsius", r"°\s*C\b|degrees? C(?:elsius)?\b|celsius"),
    ("fahrenheit", r"degrees? fahrenheit|fahrenheit", r"°\s*F\b|degrees? F(?:ahrenheit)?\b"),
    ("degree", r"degrees", r"°|degree"),
    ("year", r"years", r"years?\b|yrs?\b"),  # a duration: "how many years", "in years"
    ("month", r"months", r"months?\b"),
    ("week", r"weeks", r"weeks?\b"),
    ("day", r"(?:working |business |calendar )?days", r"(?:working |business |calendar )?days?\b"),
    ("hour", r"hours", r"hours?\b|hrs?\b"),
]


TIMES = frozenset({"year", "month", "week", "day", "hour"})
_UNIT_PATTERNS = [  # compiled once: asked after "in", "how many"; given after a figure
    (
        unit,
        re.compile(rf"\b(?:in|how many|number of)\s+(?:{asked})\b", re.I),
        re.compile(
            rf"(?:\d[\d,.]*|\b(?:{FIGURE_WORDS}))\s*-?\s*(?:{given})",
            re.I if unit in TIMES else 0,
        ),
    )
    for unit, asked, given in _UNITS
]


def unit_asked(question: str) -> tuple[str, re.Pattern[str]] | None:
    """The unit of measure a question asks a figure in ("rating in kiloamperes", "how many square
    feet", "how many years"), with what gives a figure in it ("10 kA", "five-year")."""
    for unit, asked, given in _UNIT_PATTERNS:
        if asked.search(question):
            return unit, given
    return None


def currency(question: str) -> str | None:
    """The currency a question asks for an amount in, if it names one."""
    match = _CURRENCY.search(question)
    return match.group(0).lower() if match else None


def wanted_kind(question: str) -> tuple[str, re.Pattern[str]] | None:
    """The kind of fact (money, share, count, date) a question asks for, with what must give it."""
    for kind, asks, gives in _WANTS:
        if asks.search(question):
            return kind, gives
    return None


def split_question(question: str) -> list[str]:
    """The parts of a multi-part or comparative question (one part when it is a single question)."""
    text = " ".join(question.split())
    compare = _COMPARE.match(text)
    if compare:
        a = compare.group("a1") or compare.group("a2")
        b = compare.group("b1") or compare.group("b2")
        topic = compare.group("topic")
        about = f" about {topic.rstrip('?')}" if topic else ""
        return [f"What does {a} say{about}?", f"What does {b} say{about}?"]
    pieces = [p.strip(" ,;") for p in _AND_SPLIT.split(text) if p and p.strip(" ,;?")]
    parts = [p if p.endswith("?") else p + "?" for p in pieces]
    if len(parts) < 2 or not all(_STARTS_QUESTION.match(p) for p in parts):
        return [question]
    if any(len(key_terms(p)) < 2 and not _names_its_subject(p) for p in parts):
        return [question]  # "..., and what share is that?" is one question
    return parts[:MAX_PARTS]


def _names_its_subject(part: str) -> bool:
    """Whether a part stands alone on one name: "What is DevSecOps?" (not "when?")."""
    return bool(entities(part)) and len(key_terms(part)) == 1


def part_query(part: str, first: str) -> str:
    """What to retrieve for a part: the part, plus the first part's subject when it refers back."""
    said = _SAYS.match(part)
    if said:  # a comparison's part: the topic and the document, not the words around them
        return f"{said.group('topic') or ''} {said.group('subject')}".strip()
    if part == first or not _REFERS_BACK.search(part):
        return part
    extra = [t for t in key_terms(first) if t not in key_terms(part)]
    return f"{part} ({' '.join(extra)})" if extra else part
