"""The review workspace: drafts saved with an id, decisions on them, follow-ups of revised plans.

:class:`Workspace` joins the critic, the review store and the library's manifest; the service
builds one and every front end reaches it through the service's critique methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from assistant.core.errors import BriefingError, DocumentNotFoundError
from assistant.core.manifest import DocumentRow, Manifest
from assistant.core.models import Critique
from assistant.critique.critic import Critic, Progress
from assistant.critique.decisions import Action, DecidedReview, Decision, edit_changes
from assistant.critique.decisions import simple_changes as _simple
from assistant.critique.followup import FollowUp, baseline_of_review, compare
from assistant.critique.reviews import ReviewStore, SavedRun, plan_digest

_CRITIQUE_ID = re.compile(r"^\d{8}-[0-9a-f]{0,8}$")


class Workspace:
    """Saved critique runs and reviewers' decisions on one library.

    Args:
        critic: Makes the critic (on first use: listing and deciding load no model).
        manifest: The library's manifest (rows and page texts).
        reviews: The runs and decisions database.
        find: Finds a document's row by doc_id, unique prefix or path.
    """

    def __init__(
        self,
        critic: Callable[[], Critic],
        manifest: Manifest,
        reviews: ReviewStore,
        find: Callable[[str], DocumentRow],
    ) -> None:
        self._make_critic, self.manifest, self.reviews, self._find = critic, manifest, reviews, find

    @cached_property
    def critic(self) -> Critic:
        return self._make_critic()

    def pages(self, row: DocumentRow) -> list[str]:
        """The page texts of a document, as the critique read them."""
        return [self.manifest.page_text(row.doc_id, p) or "" for p in range(1, row.pages + 1)]

    def critique(
        self,
        ref: str,
        framework: str = "eight-causes",
        progress: Progress | None = None,
        who: str = "local",
    ) -> Critique:
        """Draft a review of one plan and save it; the draft carries its ``critique_id``."""
        row = self._find(ref)
        draft = self.critic.run(row.doc_id, framework, progress)
        if self.reviews.read_only:
            draft.notices.append(
                "The data directory is read-only: this draft was not saved for review."
            )
            return draft
        self.reviews.save(draft, plan_digest(self.pages(row)), who)
        return draft

    def review(self, critique_id: str) -> DecidedReview:
        """A saved draft with every decision applied."""
        return self.reviews.review(critique_id)

    def runs(self) -> list[SavedRun]:
        return self.reviews.runs()

    def decide(
        self,
        critique_id: str,
        cause_id: str,
        action: Action,
        *,
        note: str = "",
        who: str = "local",
        rating: str | None = None,
        rationale: str | None = None,
        recommendation: str | None = None,
        drop: list[int] | None = None,
        add: list[tuple[str, int, str]] | None = None,
    ) -> Decision:
        """Record one decision on a finding (accept, reject with a reason, edit) or a note.

        Raises:
            BriefingError: an unknown review or finding, a rejection without a reason, an edit
                that changes nothing, or added evidence that is not verbatim on its page.
        """
        if action not in ("accept", "reject", "edit", "note"):
            raise BriefingError(f"unknown action {action!r}; use accept, reject, edit or note")
        if action == "edit":
            titles = {
                r.doc_id: r.title or r.source.rsplit("/", 1)[-1] for r in self.manifest.all("ready")
            }

            def changes(review: DecidedReview) -> dict[str, Any]:
                return edit_changes(
                    review,
                    cause_id,
                    self.manifest.page_text,
                    titles,
                    rating=rating,
                    rationale=rationale,
                    recommendation=recommendation,
                    drop=drop,
                    add=add,
                )

        elif action == "note":

            def changes(review: DecidedReview) -> dict[str, Any]:
                return {}

        else:

            def changes(review: DecidedReview) -> dict[str, Any]:
                return _simple(review.state(cause_id), action, note)

        return self.reviews.decide(critique_id, cause_id, action, changes, note=note, who=who)

    def followup(
        self,
        new_ref: str,
        old_ref: str,
        framework: str | None = None,
        progress: Progress | None = None,
        who: str = "local",
    ) -> FollowUp:
        """Rate a revised plan and set it against an earlier edition or a saved review.

        ``old_ref`` is an ingested plan (doc_id, prefix or path) or a saved ``critique_id``; with
        a saved review the reviewer's decided ratings are the baseline.
        """
        baseline, previous_id = None, ""
        old_row: DocumentRow | None = None
        if _CRITIQUE_ID.match(old_ref.strip()):
            review = self.review(old_ref)
            old, previous_id = review.draft, review.critique_id
            baseline = baseline_of_review(review)
            old_row = self.manifest.get(old.plan.doc_id)
            if old_row is None or old_row.status != "ready":
                raise DocumentNotFoundError(
                    f"the plan of review {previous_id} ({old.plan.doc_id[:12]}) is no longer"
                    " in the library; ingest that edition again to compare with it"
                )
            framework = framework or old.framework
        else:
            old_row = self._find(old_ref)
            framework = framework or "eight-causes"
            old = self.critic.run(old_row.doc_id, framework, progress)
        new_row = self._find(new_ref)
        if new_row.doc_id == old_row.doc_id:
            raise BriefingError("the revised plan and the earlier edition are the same document")
        new = self.critic.run(new_row.doc_id, framework, progress)
        result = compare(old, new, self.pages(old_row), self.pages(new_row), baseline, previous_id)
        self.reviews.save(
            new,
            plan_digest(self.pages(new_row)),
            who,
            kind="followup",
            extra=result.model_dump(mode="json", exclude={"findings"}),
        )
        result.critique_id = new.critique_id
        return result

    def saved_followup(self, critique_id: str) -> FollowUp:
        """A follow-up saved earlier, with its findings."""
        run = self.reviews.run(critique_id)
        if run.kind != "followup":
            raise BriefingError(f"{run.critique_id} is a critique, not a follow-up")
        data = self.reviews.extra(run.critique_id)
        data["findings"] = self.reviews.draft(run.critique_id).findings
        data["critique_id"] = run.critique_id
        return FollowUp.model_validate(data)
