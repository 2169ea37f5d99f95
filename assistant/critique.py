"""Critique drafts: one plan reviewed against a framework, with every quote checked.

``run_critique`` works in the order a reviewer would:

1. sweep every sentence of the plan for each cause's signals (``assistant.rating``) and compare
   each diagnostic question with every passage of the plan (dense similarity over all its
   chunks, not a top-k guess), recording what was searched and how strongly it matched;
2. rate each cause from the signals found, with a rationale that names them and the evidence;
3. add supporting context from the lessons-learned and review documents of the library;
4. assemble the draft in the shape of an expert review: summary, strengths, scope questions,
   findings, governance observations, recommendations, conclusion.

With an LLM backend the model rewrites the prose of each part from the same evidence
and its structured reply is validated; a part that fails validation keeps the deterministic
text with a notice. Ratings stay deterministic. Every quote is checked against its
page before the draft is returned; a quote that is not there verbatim is dropped with a notice.
"""

from __future__ import annotations

import json
import re
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from assistant.citations import squash
from assistant.errors import BriefingError, DocumentNotFoundError
from assistant.frameworks import Cause, Framework, Lens, load_framework
from assistant.guard import leaked
from assistant.lexical import tokenize
from assistant.models import (
    RATING_LABELS, Coverage, Critique, Evidence, Finding, PlanRef, Point, QuestionCheck, Recommendation,
    SignalCheck,
)
from assistant.prompts import load_prompt
from assistant.rating import Assessment, Hit, Sentence, Sweep, assess, build_sweep, find_hits, rationale, steers_review
from ingest.chunking import sentence_spans

Progress = Callable[[str, int, int], None]
CONTEXT_TYPES = ["lessons_learned", "review"]
EVIDENCE_PER_SIGNAL = 2
CONTEXT_PER_CAUSE = 2
CLOSEST_PER_QUESTION = 2
MAX_QUOTE_CHARS = 400
#: Cosine similarity (MiniLM) of a question with a passage: how strongly the plan speaks to it.
STRENGTH = (("strong", 0.55), ("moderate", 0.45), ("weak", 0.35))


# Vectors of framework texts (questions, queries, cause descriptions) per embedder. They depend
# only on the model and the text, so sharing them between drafts leaks nothing, and a second
# draft in the same process (the web UI, the tests) skips re-embedding ~200 texts.
_VECTORS: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()


class Refs:
    """Checks each quote against its page and numbers it the first time it is cited."""

    def __init__(self, page_text: Callable[[str, int], str | None]) -> None:
        self._page_text = page_text
        self._pages: dict[tuple[str, int], str] = {}
        self._numbers: dict[tuple[str, int, str], int] = {}
        self.dropped = 0

    def page(self, doc_id: str, page: int) -> str:
        key = (doc_id, page)
        if key not in self._pages:
            self._pages[key] = self._page_text(doc_id, page) or ""
        return self._pages[key]

    def cite(self, doc_id: str, title: str, page: int, section: str, quote: str, stance: str,
             signal: str = "", score: float | None = None) -> Evidence | None:
        quote = trim_quote(quote)
        if not quote or quote not in self.page(doc_id, page):
            self.dropped += 1
            return None
        ref = self._numbers.setdefault((doc_id, page, quote), len(self._numbers) + 1)
        return Evidence(ref=ref, doc_id=doc_id, title=title, page=page, section=section, quote=quote,
                        stance=stance, signal=signal, score=None if score is None else round(score, 3))  # type: ignore[arg-type]

    def verify(self, critique: Critique) -> int:
        """Drop every quote that is not verbatim on its page; return how many were checked."""
        checked = 0

        def keep(items: list[Evidence]) -> list[Evidence]:
            nonlocal checked
            checked += len(items)
            good = [e for e in items if e.quote and e.quote in self.page(e.doc_id, e.page)]
            self.dropped += len(items) - len(good)
            return good

        for finding in critique.findings:
            finding.evidence, finding.context = keep(finding.evidence), keep(finding.context)
            for question in finding.searched.questions:
                question.closest = keep(question.closest)
        for point in [*critique.strengths, *critique.scope_questions, *critique.governance_observations]:
            point.evidence = keep(point.evidence)
        return checked


def trim_quote(text: str) -> str:
    """The quote itself, cut at a word boundary when long (a prefix stays verbatim)."""
    text = text.strip()
    if len(text) > MAX_QUOTE_CHARS:
        cut = text.rfind(" ", 0, MAX_QUOTE_CHARS)
        text = text[: cut if cut > 0 else MAX_QUOTE_CHARS].rstrip(" ,;:")
    return text


def leaf(section: str) -> str:
    return section.split(" > ")[-1].strip()


def _strength(score: float) -> str:
    return next((name for name, floor in STRENGTH if score >= floor), "none")


class _Plan:
    """The plan under review: its sweep, its chunks and the dense scores against its passages."""

    def __init__(self, service: Any, doc_id: str, refs: Refs) -> None:
        row = service.manifest.get(doc_id)
        if row is None:
            raise DocumentNotFoundError(f"no document {doc_id!r} in the library")
        if row.status != "ready":
            raise BriefingError(f"document {doc_id[:12]} is {row.status}, not ready; ingest it again")
        self.service, self.row, self.refs = service, row, refs
        self.title = row.title or row.source.rsplit("/", 1)[-1]
        self.sweep: Sweep = build_sweep([refs.page(doc_id, p) for p in range(1, row.pages + 1)])
        self._centroids: dict[tuple[str, ...], np.ndarray] = {}
        self._by_page: dict[int, list[Sentence]] = {}
        for sentence in self.sweep.sentences:
            if not sentence.heading:
                self._by_page.setdefault(sentence.page, []).append(sentence)

    def cite(self, sentence: Sentence, stance: str, signal: str = "", score: float | None = None) -> Evidence | None:
        return self.refs.cite(self.row.doc_id, self.title, sentence.page, sentence.section, sentence.text, stance, signal, score)

    def embed_questions(self, groups: list[list[str]]) -> None:
        """Embed every question with its queries in one batch; each group's centroid is its query."""
        embedder = self.service.embeddings
        cache = _VECTORS.setdefault(embedder, {})
        todo = list(dict.fromkeys(t for group in groups for t in group if t not in cache))
        if todo:
            cache.update(zip(todo, embedder.embed(todo), strict=True))
        vectors = np.array([cache[t] for group in groups for t in group]) if groups else np.zeros((0, 1))
        at = 0
        for group in groups:
            centroid = vectors[at : at + len(group)].mean(axis=0)
            self._centroids[tuple(group)] = centroid / (np.linalg.norm(centroid) or 1.0)
            at += len(group)

    def centroid(self, texts: list[str]) -> np.ndarray:
        if tuple(texts) not in self._centroids:
            self.embed_questions([texts])
        return self._centroids[tuple(texts)]

    def closest(self, texts: list[str]) -> tuple[float, list[Evidence]]:
        """Compare a question (and its queries) with every chunk of the plan; quote the best."""
        chunks = self.service.store.query(self.centroid(texts), max(self.row.chunks, 1), {"doc_id": self.row.doc_id})
        words = set(tokenize(" ".join(texts)))
        out: list[Evidence] = []
        for chunk in chunks:
            sentence = self._best_sentence(chunk.metadata, words)
            if sentence is None:
                continue
            found = self.cite(sentence, "closest", score=chunk.score)
            if found and all(e.ref != found.ref for e in out):
                out.append(found)
            if len(out) == CLOSEST_PER_QUESTION:
                break
        return (chunks[0].score if chunks else 0.0), out

    def _best_sentence(self, meta: dict[str, Any], words: set[str]) -> Sentence | None:
        page, start, end = int(meta["page"]), int(meta["start"]), int(meta["end"])
        inside = [s for s in self._by_page.get(page, []) if s.start < end and s.end > start]
        if not inside:
            return None
        return max(inside, key=lambda s: (len(words & set(tokenize(s.flat))), -s.start))


def _pick(hits: list[Hit], n: int) -> list[Hit]:
    """Up to n hits, body sentences first, one per section before a second from the same one."""
    ordered = [h for h in hits if not h.sentence.heading] + [h for h in hits if h.sentence.heading]
    chosen: list[Hit] = []
    for pass_no in (0, 1):
        for hit in ordered:
            if len(chosen) == n:
                return chosen
            if hit in chosen or (pass_no == 0 and any(c.sentence.path == hit.sentence.path for c in chosen)):
                continue
            chosen.append(hit)
    return chosen


def _finding(plan: _Plan, cause: Cause, a: Assessment) -> Finding:
    evidence: list[Evidence] = []
    markers: dict[str, str] = {}
    for kind, signals in (("for", cause.signals.addressed), ("against", cause.signals.at_risk)):
        for signal in signals:
            for hit in _pick(a.hits.get(signal.id, []), EVIDENCE_PER_SIGNAL):
                found = plan.cite(hit.sentence, kind, signal.id)
                if found:
                    evidence.append(found)
                    markers[signal.id] = markers.get(signal.id, "") + f"[{found.ref}]"
    checks = [
        SignalCheck(id=s.id, text=s.text, kind=kind, found=bool(a.hits.get(s.id)),  # type: ignore[arg-type]
                    sentences=len(a.hits.get(s.id, [])),
                    sections=list(dict.fromkeys(leaf(h.sentence.path) or "(before the first heading)" for h in a.hits.get(s.id, []))))
        for kind, signals in (("addressed", cause.signals.addressed), ("at_risk", cause.signals.at_risk))
        for s in signals
    ]
    questions = []
    for question in cause.questions:
        best, closest = plan.closest([question.text, *question.queries])
        questions.append(QuestionCheck(id=question.id, text=question.text, best_score=round(best, 3),
                                       strength=_strength(best), closest=closest))  # type: ignore[arg-type]
    sweep = plan.sweep
    coverage = Coverage(sections=len(sweep.sections), passages=len(sweep.sentences), pages=sweep.pages,
                        rule=a.reason, signals=checks, questions=questions)
    return Finding(cause_id=cause.id, cause=cause.name, summary=cause.summary, rating=a.rating,
                   rationale=rationale(cause, a, sweep, markers), evidence=evidence, searched=coverage,
                   recommendation=cause.recommendation.strip())


def _cause_texts(cause: Cause) -> list[str]:
    return [f"{cause.name}. {cause.summary}", cause.description or cause.name]


def _context(service: Any, plan: _Plan, cause: Cause) -> list[Evidence]:
    """Passages of the library's lessons-learned and review documents that bear on a cause.

    Dense search with the cause's own description (embedded in the batch with the questions),
    restricted to ready documents of those types other than the plan itself.
    """
    others = sorted(service.manifest.ready_ids() - {plan.row.doc_id})
    if not others:
        return []
    where = {"$and": [{"doc_id": {"$in": others}}, {"doc_type": {"$in": CONTEXT_TYPES}}]}
    words = set(tokenize(" ".join([*_cause_texts(cause), *(q.text for q in cause.questions)])))
    out: list[Evidence] = []
    for chunk in service.store.query(plan.centroid(_cause_texts(cause)), CONTEXT_PER_CAUSE * 3, where):
        meta = chunk.metadata
        spans = [chunk.text[a:b] for a, b in sentence_spans(chunk.text)]
        spans = [s for s in spans if len(s.split()) >= 6 and not steers_review(" ".join(s.split()))]
        if not spans:
            continue
        best = max(spans, key=lambda s: (len(words & set(tokenize(s))), -len(s)))
        found = plan.refs.cite(meta["doc_id"], meta.get("title", ""), int(meta["page"]), leaf(meta.get("section", "")), best, "context")
        if found and all(e.ref != found.ref and e.doc_id + str(e.page) != found.doc_id + str(found.page) for e in out):
            out.append(found)
        if len(out) == CONTEXT_PER_CAUSE:
            break
    return out


def run_critique(service: Any, doc_id: str, framework: str = "eight-causes", progress: Progress | None = None) -> Critique:
    """Draft a review of one ingested plan against a framework (see the module docstring).

    Raises:
        ConfigError: the framework is unknown or malformed.
        DocumentNotFoundError / BriefingError: the plan is not in the library or not ready.
    """
    started = time.perf_counter()
    spec: Framework = load_framework(framework)
    model = service.chat.chat_model
    total = 3 + len(spec.causes) + (len(spec.causes) + 1 if model is not None else 0)
    step = 0

    def tick() -> None:
        nonlocal step
        step += 1
        if progress:
            progress("critique", step, total)

    refs = Refs(service.manifest.page_text)
    plan = _Plan(service, doc_id, refs)
    lenses = [*spec.scope_questions, *spec.governance_principles]
    plan.embed_questions([[q.text, *q.queries] for c in spec.causes for q in c.questions]
                         + [[x.text, *x.queries] for x in lenses] + [_cause_texts(c) for c in spec.causes])
    tick()
    findings, context_found = [], False
    for cause in spec.causes:
        finding = _finding(plan, cause, assess(cause, find_hits(plan.sweep, cause), plan.sweep))
        finding.context = _context(service, plan, cause)
        context_found = context_found or bool(finding.context)
        findings.append(finding)
        tick()
    swept = time.perf_counter()
    lens_points = {kind: [_lens(plan, lens) for lens in getattr(spec, kind)] for kind in ("scope_questions", "governance_principles")}
    tick()
    critique = Critique(
        plan=PlanRef(doc_id=plan.row.doc_id, title=plan.title, source=plan.row.source, doc_type=plan.row.doc_type, pages=plan.row.pages),
        framework=spec.id, framework_name=spec.name, framework_version=spec.version, findings=findings,
    )
    assemble(critique, spec, plan.sweep, lens_points)
    if plan.sweep.ignored:
        critique.notices.append(
            f"{len(plan.sweep.ignored)} sentence(s) of the plan address the reviewer or an AI rather than describe the plan "
            f"(for example on page {plan.sweep.ignored[0].page}); they were set aside and do not affect any rating."
        )
    if not context_found:
        critique.notices.append("No lessons-learned or review document in the library bore on these causes, so the findings carry no supporting context.")
    if model is not None:
        critique.backend = service.settings.answer_backend
        write_prose(model, critique, service.settings, tick)
    checked = refs.verify(critique)
    if refs.dropped:
        critique.notices.append(f"{refs.dropped} quote(s) could not be found verbatim on their page and were left out.")
    critique.checks = {"quotes_checked": checked, "quotes_dropped": refs.dropped}
    tick()
    critique.timings = {"sweep_ms": round((swept - started) * 1000, 1), "total_ms": round((time.perf_counter() - started) * 1000, 1)}
    return critique


def _lens(plan: _Plan, lens: Lens) -> tuple[Lens, float, list[Evidence]]:
    best, closest = plan.closest([lens.text, *lens.queries])
    return lens, best, closest


# -- the deterministic draft ------------------------------------------------------------------

MAX_STRENGTHS = 8
_PRIORITY = {"gap": "high", "partly_addressed": "medium", "not_assessable": "check"}


def _marks(items: list[Evidence]) -> str:
    return "".join(f"[{e.ref}]" for e in items)


def _label(finding: Finding) -> str:
    return RATING_LABELS[finding.rating].lower()


def _found(finding: Finding, kind: str, found: bool = True) -> list[SignalCheck]:
    return [c for c in finding.searched.signals if c.kind == kind and c.found is found]


def _strengths(findings: list[Finding]) -> list[Point]:
    points = []
    for f in findings:
        if f.rating == "addressed":
            ev = [e for e in f.evidence if e.stance == "for"][:3]
            signs = "; ".join(c.text for c in _found(f, "addressed"))
            points.append(Point(id=f.cause_id, title=f.cause, text=f"The plan guards against this cause: {signs}. {_marks(ev)}".strip(),
                                cause_ids=[f.cause_id], evidence=ev))
    for f in findings:
        if f.rating == "partly_addressed":
            for c in _found(f, "addressed"):
                if c.sentences >= 2:
                    ev = [e for e in f.evidence if e.signal == c.id][:2]
                    points.append(Point(id=c.id, title=f"{f.cause} (in part)", text=f"{c.text[:1].upper()}{c.text[1:]}. {_marks(ev)}".strip(),
                                        cause_ids=[f.cause_id], evidence=ev))
    return points[:MAX_STRENGTHS]


def _lens_point(item: tuple[Lens, float, list[Evidence]], findings: list[Finding], scope: bool) -> Point:
    """A scope question or governance principle, answered from the sweep's signals where the
    framework names some, else from the closest passage of the plan."""
    lens, best, closest = item
    related = [f for f in findings if f.cause_id in lens.related]
    checks = {c.id: (c, f) for f in findings for c in f.searched.signals}
    shown, evidence = closest[:1], list(closest[:1])
    pointer = f"closest passage {shown[0].locator()} {_marks(shown)}, similarity {best:.2f}" if shown else f"similarity {best:.2f}"
    signs = [checks[s] for s in lens.signals if s in checks]
    found = [(c, [e for e in f.evidence if e.signal == c.id][:2]) for c, f in signs if c.found]
    if found:
        seen = "The plan speaks to this: " + "; ".join(f"{c.text} {_marks(ev)}".rstrip() for c, ev in found) + "."
        evidence = [e for _, ev in found for e in ev]
    elif signs:
        seen = (f"The sweep of all {findings[0].searched.sections} sections found no sign that "
                + " or that ".join(c.text for c, _ in signs) + f" ({pointer}).")
    elif best >= STRENGTH[0][1] and shown:
        seen = f"The plan touches on this ({pointer}); check whether it goes far enough."
    else:
        seen = f"No passage of the plan clearly speaks to this ({pointer})."
    if scope and not found:
        seen += " Is it deliberately out of scope, and if so, where is it handled?"
    text = f"{lens.text.strip()} {seen}"
    for f in related:
        text += f" Related finding: {f.cause_id} {f.cause} is rated {_label(f)}."
        if not scope:
            for c in _found(f, "at_risk"):
                ev = [e for e in f.evidence if e.signal == c.id][:2]
                evidence += ev
                text += f" At risk: {c.text} {_marks(ev)}".rstrip() + "."
    return Point(id=lens.id, title=lens.name, text=text, cause_ids=[f.cause_id for f in related], evidence=evidence)


def _recommendations(findings: list[Finding]) -> list[Recommendation]:
    out = []
    for f in sorted((f for f in findings if f.rating in _PRIORITY), key=lambda f: list(_PRIORITY).index(f.rating)):
        text = f.recommendation
        missing = [c.text for c in _found(f, "addressed", found=False)][:3]
        if f.rating == "partly_addressed" and missing:
            text += " In particular, the plan should show that " + "; that ".join(missing) + "."
        if f.rating == "not_assessable":
            text = "Obtain the full text of the plan so that this cause can be assessed. " + text
        out.append(Recommendation(cause_id=f.cause_id, priority=_PRIORITY[f.rating], text=text))  # type: ignore[arg-type]
    return out


def _group(findings: list[Finding], rating: str) -> str:
    return ", ".join(f"{f.cause_id} {f.cause}" for f in findings if f.rating == rating)


def _summary(c: Critique, spec: Framework, sweep: Sweep) -> str:
    counts = {r: sum(f.rating == r for f in c.findings) for r in RATING_LABELS}
    words = {"addressed": ("is addressed", "are addressed"), "partly_addressed": ("is partly addressed", "are partly addressed"),
             "gap": ("is a gap", "are gaps"), "not_assessable": ("cannot be assessed", "cannot be assessed")}
    parts = [f"{n} {words[r][n != 1]} ({_group(c.findings, r)})" for r, n in counts.items() if n]
    text = (f"This draft reviews “{c.plan.title}” ({c.plan.pages} page(s)) against “{spec.name}”. All {len(sweep.sections)} "
            f"sections ({len(sweep.sentences)} passages) were searched for the signs of each cause. Of the {len(c.findings)} "
            f"causes, " + ", ".join(parts) + ".")
    if c.strengths:
        text += " Clearest strengths: " + "; ".join(p.title for p in c.strengths[:3]) + "."
    if counts["gap"]:
        text += f" Main concerns: {_group(c.findings, 'gap')}."
    return text


def _conclusion(c: Critique) -> str:
    concerns = [f for f in c.findings if f.rating == "gap"] + [f for f in c.findings if f.rating == "partly_addressed"]
    if concerns:
        lines = []
        for f in concerns:
            missing = [s.text for s in _found(f, "addressed", found=False)]
            lines.append(f"{f.cause_id} {f.cause} ({_label(f)})" + (f": nothing shows that {missing[0]}" if missing else ""))
        text = "The main concerns are " + "; ".join(lines) + ". The recommendations are ordered by priority."
    else:
        text = "The plan shows signs of guarding against every cause in the framework."
    return text + (" This draft was produced by a mechanical sweep of the whole plan. Every quote has been checked against "
                   "its page, but the ratings are a starting point: read the cited passages and the evidence appendix "
                   "before relying on them.")


def assemble(c: Critique, spec: Framework, sweep: Sweep, lenses: dict[str, list[tuple[Lens, float, list[Evidence]]]]) -> None:
    """Fill in the parts of the draft around the findings, deterministically."""
    c.strengths = _strengths(c.findings)
    c.scope_questions = [_lens_point(item, c.findings, scope=True) for item in lenses["scope_questions"]]
    c.governance_observations = [_lens_point(item, c.findings, scope=False) for item in lenses["governance_principles"]]
    c.recommendations = _recommendations(c.findings)
    c.summary = _summary(c, spec, sweep)
    c.conclusion = _conclusion(c)


# -- prose written by an LLM, validated ---------------------------------------------------

_CITE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")
_MARKUP = re.compile(r"!\[|\]\(|<\s*/?\s*[a-zA-Z]|javascript:|\{\{|\}\}", re.IGNORECASE)
_STANCE = {"for": "the plan addresses the cause", "against": "an at-risk sign", "context": "another document, for context",
           "closest": "the closest passage found"}


def _sources(items: list[Evidence], budget: int) -> tuple[str, list[Evidence]]:
    """Numbered, delimited passages within a character budget, and the ones that fit."""
    blocks, shown, used = [], [], 0
    for e in {e.ref: e for e in items}.values():
        block = f"[{e.ref}] {e.title}, {e.locator()} ({_STANCE[e.stance]})\n{' '.join(e.quote.split())}"
        if shown and used + len(block) > budget:
            break
        blocks.append(block)
        shown.append(e)
        used += len(block) + 2
    return "\n\n".join(blocks) or "(no passages)", shown


def _json_object(raw: str) -> dict[str, Any]:
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the reply is not a JSON object")
    try:
        data = json.loads(raw[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    return data


def _checked(text: Any, sources: list[Evidence], require_citation: bool) -> str:
    """The model's text, if it cites only its sources, quotes them exactly and carries no markup."""
    if not isinstance(text, str) or not 20 <= len(text.strip()) <= 3000:
        raise ValueError("the text is missing, too short or too long")
    if _MARKUP.search(text):
        raise ValueError("it contains links, images or markup")
    allowed = {e.ref for e in sources}
    cited = {int(n) for group in _CITE.findall(text) for n in re.findall(r"\d+", group)}
    if cited - allowed:
        raise ValueError(f"it cites [{min(cited - allowed)}], which is not one of its sources")
    if require_citation and not cited:
        raise ValueError("it cites no source")
    for quoted in _QUOTE.findall(text):
        if not any(squash(quoted) in squash(e.quote) for e in sources):
            raise ValueError(f"the quoted words \"{quoted[:40]}\" are in none of its sources")
    if leaked(text, [e.quote for e in sources], ""):
        raise ValueError("it repeated an instruction planted in a document")
    return text.strip()


def _facts(f: Finding) -> str:
    def refs(signal: str) -> str:
        marks = _marks([e for e in f.evidence if e.signal == signal])
        return f" (sources {marks})" if marks else ""

    lines = [f"Cause {f.cause_id}: {f.cause}. {f.summary}", f"Rating (final): {f.rating} — because {f.searched.rule}."]
    lines += [f"Sign found: {c.text}{refs(c.id)}" for c in _found(f, "addressed")]
    lines += [f"Sign searched for in all {f.searched.sections} sections and not found: {c.text}" for c in _found(f, "addressed", False)]
    lines += [f"At-risk sign found: {c.text}{refs(c.id)}" for c in _found(f, "at_risk")]
    if f.context:
        lines.append(f"Sources {_marks(f.context)} come from other documents and give context only.")
    return "\n".join(lines)


def write_prose(model: Any, c: Critique, settings: Any, tick: Callable[[], None]) -> None:
    """Let the model rewrite each finding's rationale, then the summary and conclusion.

    A part whose reply fails validation (not JSON, another rating, a citation or quote that is
    not among its sources, markup, a planted instruction repeated) keeps its deterministic text
    and the draft gets a notice; so does every part once the backend has failed twice in a row or
    the time budget (three times ``llm_timeout_s``) is spent. Ratings never change.
    """
    template = load_prompt("critique").to_template()
    budget = max(settings.llm_context_tokens - settings.llm_max_tokens - 600, 400) * 3  # ~3 characters a token
    deadline = time.monotonic() + 3 * settings.llm_timeout_s
    failures = 0

    def ask(section: str, facts: str, items: list[Evidence]) -> tuple[dict[str, Any], list[Evidence]]:
        nonlocal failures
        if failures >= 2 or time.monotonic() > deadline:
            raise RuntimeError("skipped: the backend failed twice or the time budget is spent")
        text, shown = _sources(items, budget - len(facts))
        try:
            result = model.invoke(template.format_messages(section=section, facts=facts, sources=text))
        except Exception:
            failures += 1
            raise
        failures = 0
        return _json_object(str(getattr(result, "content", result))), shown

    for f in c.findings:
        section = (f"the finding on cause {f.cause_id} ({f.cause}). Reply with one JSON object: "
                   f'{{"rating": "{f.rating}", "text": "<the rationale, citing sources as [n]>"}}')
        try:
            data, shown = ask(section, _facts(f), f.evidence + f.context)
            if data.get("rating") != f.rating:
                raise ValueError(f"it changed the rating to {data.get('rating')!r}")
            f.rationale, f.prose = _checked(data.get("text"), shown, require_citation=bool(f.evidence)), "llm"
        except Exception as exc:  # a failing or misbehaving model must not stop the draft
            c.notices.append(f"{f.cause_id}: the {c.backend} model's text was not used ({_why(exc)}); the deterministic rationale is shown.")
        tick()
    facts = "\n".join(
        [f"{f.cause_id} {f.cause}: {f.rating} ({sum(s.found for s in f.searched.signals if s.kind == 'addressed')} of "
         f"{sum(s.kind == 'addressed' for s in f.searched.signals)} signs found; {len(_found(f, 'at_risk'))} at-risk signs)"
         for f in c.findings]
        + [f"Strength: {p.title}" for p in c.strengths] + [f"Recommendation ({r.priority}): {r.cause_id}" for r in c.recommendations])
    section = ('the summary and the conclusion of the draft. Reply with one JSON object: '
               '{"summary": "<one paragraph>", "conclusion": "<one paragraph on the main concerns>"}')
    try:
        data, shown = ask(section, facts, [f.evidence[0] for f in c.findings if f.evidence])
        summary, conclusion = _checked(data.get("summary"), shown, False), _checked(data.get("conclusion"), shown, False)
        c.summary, c.conclusion = summary, conclusion
    except Exception as exc:  # as above
        c.notices.append(f"Summary and conclusion: the {c.backend} model's text was not used ({_why(exc)}); the deterministic text is shown.")
    tick()


def _why(exc: Exception) -> str:
    if isinstance(exc, (ValueError, RuntimeError)) and not isinstance(exc, json.JSONDecodeError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc)[:120]}"
