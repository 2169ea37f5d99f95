"""A reviewer's decisions on a draft: what each one changes, and the decided review they add up to.

Decisions are never applied in place. The machine draft stays as it was saved, every decision is
kept in order, and :func:`decided` folds them over a copy of the draft: the last accept, reject or
edit of a finding sets its status, and edits change the finding's text field by field. Each
decision records what it changed from what (``{"rating": {"from": "gap", "to": ...}}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.core.errors import BriefingError
from assistant.core.models import RATING_LABELS, Critique, Evidence, Finding
from assistant.critique.evidence import trim_quote

Action = Literal["accept", "reject", "edit", "note"]
Status = Literal["not_reviewed", "accepted", "rejected", "edited"]
STATUS_LABELS: dict[str, str] = {
    "not_reviewed": "Not yet reviewed",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "edited": "Edited",
}
MAX_TEXT = 5000
_STATUS_OF: dict[str, Status] = {"accept": "accepted", "reject": "rejected", "edit": "edited"}
#: Returns the text of one page of one document (None when there is none).
PageText = Callable[[str, int], str | None]


class Decision(BaseModel):
    """One entry of the audit trail: who did what to which finding, when, and what it changed."""

    seq: int = 0
    critique_id: str
    cause_id: str = Field(
        default="", description="the finding decided on ('' for a note on the draft)"
    )
    action: Action
    changes: dict[str, Any] = Field(default_factory=dict)
    note: str = ""
    who: str = "local"
    at: float = 0.0


class FindingState(BaseModel):
    """A finding as the reviewer left it: status, the (edited) finding, the machine's rating."""

    cause_id: str
    status: Status = "not_reviewed"
    reason: str = ""
    machine_rating: str
    finding: Finding
    edited: bool = False
    who: str = ""
    at: float = 0.0


class DecidedReview(BaseModel):
    """The saved draft with every decision applied, and the decisions themselves."""

    critique_id: str
    draft: Critique
    findings: list[FindingState]
    notes: list[Decision] = Field(default_factory=list)
    log: list[Decision] = Field(default_factory=list)

    def state(self, cause_id: str) -> FindingState:
        """The state of one finding; raises BriefingError naming the known causes."""
        for item in self.findings:
            if item.cause_id.lower() == cause_id.strip().lower():
                return item
        known = ", ".join(f.cause_id for f in self.findings)
        raise BriefingError(f"no finding {cause_id!r} in review {self.critique_id}; known: {known}")

    def counts(self) -> dict[str, int]:
        """How many findings have each status."""
        out = dict.fromkeys(STATUS_LABELS, 0)
        for item in self.findings:
            out[item.status] += 1
        return out


def decided(draft: Critique, log: list[Decision]) -> DecidedReview:
    """Fold the decisions, in order, over a copy of the draft."""
    states = {
        f.cause_id: FindingState(
            cause_id=f.cause_id, machine_rating=f.rating, finding=f.model_copy(deep=True)
        )
        for f in draft.findings
    }
    notes: list[Decision] = []
    for d in log:
        if d.action == "note":
            notes.append(d)
            continue
        state = states.get(d.cause_id)
        if state is None:
            continue
        _apply(state.finding, d.changes)
        state.edited = state.edited or d.action == "edit"
        state.status = _STATUS_OF[d.action]
        state.reason = d.note if d.action == "reject" else state.reason
        state.who, state.at = d.who, d.at
    return DecidedReview(
        critique_id=draft.critique_id,
        draft=draft,
        findings=list(states.values()),
        notes=notes,
        log=list(log),
    )


def _apply(finding: Finding, changes: dict[str, Any]) -> None:
    for name in ("rating", "rationale", "recommendation"):
        if name in changes:
            setattr(finding, name, changes[name]["to"])
    dropped = {int(e["ref"]) for e in changes.get("evidence_dropped", [])}
    if dropped:
        finding.evidence = [e for e in finding.evidence if e.ref not in dropped]
    for item in changes.get("evidence_added", []):
        finding.evidence.append(Evidence.model_validate(item))


def _text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise BriefingError(f"the {name} is empty; give the new text or leave the option out")
    if len(value) > MAX_TEXT:
        raise BriefingError(f"the {name} is {len(value):,} characters; the limit is {MAX_TEXT:,}")
    return value


def edit_changes(
    review: DecidedReview,
    cause_id: str,
    page_text: PageText,
    titles: dict[str, str],
    *,
    rating: str | None = None,
    rationale: str | None = None,
    recommendation: str | None = None,
    drop: list[int] | None = None,
    add: list[tuple[str, int, str]] | None = None,
) -> dict[str, Any]:
    """What an edit changes, from what, checked: a known rating, known refs, verbatim quotes.

    Args:
        review: The review as it stands (the "from" side of every change).
        cause_id: The finding to edit.
        page_text: Page texts of the library, to check added quotes against.
        titles: Title of each document in the library, by doc_id.
        rating: The new rating (a key or label of ``RATING_LABELS``).
        rationale: The new rationale.
        recommendation: The new recommendation.
        drop: Reference numbers of evidence to drop from the finding.
        add: ``(doc_id, page, quote)`` of passages to add; each must be verbatim on its page.

    Raises:
        BriefingError: nothing to change, an unknown rating or ref, or a quote not on its page.
    """
    state = review.state(cause_id)
    f = state.finding
    changes: dict[str, Any] = {}
    if rating is not None:
        key = rating.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in RATING_LABELS:
            raise BriefingError(f"unknown rating {rating!r}; use one of {', '.join(RATING_LABELS)}")
        if key != f.rating:
            changes["rating"] = {"from": f.rating, "to": key}
    for name, value in (("rationale", rationale), ("recommendation", recommendation)):
        text = _text(value, name)
        if text is not None and text != getattr(f, name):
            changes[name] = {"from": getattr(f, name), "to": text}
    refs = {e.ref: e for e in f.evidence}
    for ref in drop or []:
        if ref not in refs:
            shown = ", ".join(map(str, refs)) or "none"
            raise BriefingError(f"finding {f.cause_id} has no evidence [{ref}]; it has: {shown}")
    if drop:
        changes["evidence_dropped"] = [refs[r].model_dump(mode="json") for r in dict.fromkeys(drop)]
    added = [_checked(review, d, page, quote, page_text, titles) for d, page, quote in add or []]
    if added:
        base = max((e.ref for e in review.draft.references()), default=0)
        base = max([base, *(e.ref for s in review.findings for e in s.finding.evidence)])
        for i, e in enumerate(added, 1):
            e.ref = base + i
        changes["evidence_added"] = [e.model_dump(mode="json") for e in added]
    if not changes:
        raise BriefingError(f"the edit changes nothing in finding {f.cause_id}")
    return changes


def _checked(
    review: DecidedReview,
    doc_id: str,
    page: int,
    quote: str,
    page_text: PageText,
    titles: dict[str, str],
) -> Evidence:
    """Evidence for a passage a reviewer adds, only if it is verbatim on its page."""
    matches = [d for d in titles if d == doc_id or d.startswith(doc_id)] if doc_id else []
    if len(matches) != 1:
        raise BriefingError(
            f"evidence document {doc_id!r} is {'ambiguous' if matches else 'not in the library'}"
        )
    doc = matches[0]
    text = trim_quote(quote)
    if len(text) < 12:
        raise BriefingError("evidence quote is too short (at least 12 characters of the page)")
    if text not in (page_text(doc, int(page)) or ""):
        raise BriefingError(
            f"the quote is not verbatim on page {page} of document {doc[:12]};"
            " copy the passage exactly as it stands"
        )
    return Evidence(
        doc_id=doc,
        title=titles[doc],
        page=int(page),
        section="",
        quote=text,
        stance="for" if doc == review.draft.plan.doc_id else "context",
        signal="",
        score=None,
    )


def simple_changes(state: FindingState, action: Action, note: str) -> dict[str, Any]:
    """What an accept or reject changes: the finding's status (from what it was)."""
    to = {"accept": "accepted", "reject": "rejected"}.get(action, action)
    return {"status": {"from": state.status, "to": to}}


def describe(d: Decision) -> str:
    """One line for the decision log: what changed from what."""
    parts = []
    for name, change in d.changes.items():
        if name == "evidence_dropped":
            parts.append("dropped evidence " + ", ".join(f"[{e['ref']}]" for e in change))
        elif name == "evidence_added":
            parts.append(
                "added evidence "
                + ", ".join(f"[{e['ref']}] p. {e['page']} of {e['doc_id'][:12]}" for e in change)
            )
        elif name in ("rating", "status"):
            labels = RATING_LABELS if name == "rating" else STATUS_LABELS
            old, new = change["from"], change["to"]
            parts.append(f"{name} {labels.get(old, old)} → {labels.get(new, new)}")
        else:
            parts.append(f"{name} rewritten")
    if d.note:
        parts.append(("reason: " if d.action == "reject" else "note: ") + d.note)
    return "; ".join(parts) or d.action
