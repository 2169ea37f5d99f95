"""The critic: one plan reviewed against a framework, with every quote checked.

:meth:`Critic.run` works in the order a reviewer would:

1. sweep every sentence of the plan for each cause's signals (``assistant.critique.rating``) and
   compare each diagnostic question with every passage of the plan (dense similarity over all
   its chunks, not a top-k guess), recording what was searched and how strongly it matched;
2. rate each cause from the signals found, with a rationale that names them and the evidence;
3. add supporting context from the lessons-learned and review documents of the library;
4. assemble the draft in the shape of an expert review (``assistant.critique.findings`` and
   ``assistant.critique.draft``): summary, strengths, scope questions, findings, governance
   observations, recommendations, conclusion.

With a chat model the model rewrites the prose of each part from the same evidence and its
structured reply is validated (``assistant.critique.prose``); a part that fails validation keeps
the deterministic text with a notice. Ratings stay deterministic. Every quote is checked against
its page before the draft is returned; a quote that is not there verbatim is dropped with a notice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.core.embeddings import Embedder
from assistant.core.errors import BriefingError, DocumentNotFoundError
from assistant.core.manifest import DocumentRow, Manifest
from assistant.core.models import Critique, PlanRef
from assistant.core.settings import Settings
from assistant.core.store import VectorStore
from assistant.critique.draft import assemble
from assistant.critique.evidence import Plan, Refs, cause_texts, library_context
from assistant.critique.findings import finding, lens
from assistant.critique.frameworks import load_framework
from assistant.critique.prose import ChatModel, write_prose
from assistant.critique.rating import assess, find_hits

#: Called as ``progress("critique", step, total)`` after each step of a draft.
Progress = Callable[[str, int, int], None]


class Critic:
    """Drafts reviews of ingested plans from the library's manifest, store and embedder.

    Args:
        manifest: The library's manifest (rows and page texts).
        store: The vector store holding every document's chunks.
        embedder: The embedding model the store was built with.
        chat_model: A chat model that rewrites the prose, or None for the deterministic draft.
        settings: The LLM limits (context, reply size, timeout) and the backend's name.
    """

    def __init__(
        self,
        *,
        manifest: Manifest,
        store: VectorStore,
        embedder: Embedder,
        chat_model: ChatModel | None,
        settings: Settings,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.embedder = embedder
        self.chat_model = chat_model
        self.settings = settings

    def _ready_row(self, doc_id: str) -> DocumentRow:
        row = self.manifest.get(doc_id)
        if row is None:
            raise DocumentNotFoundError(f"no document {doc_id!r} in the library")
        if row.status != "ready":
            raise BriefingError(
                f"document {doc_id[:12]} is {row.status}, not ready; ingest it again"
            )
        return row

    def run(
        self, doc_id: str, framework: str = "eight-causes", progress: Progress | None = None
    ) -> Critique:
        """Draft a review of one ingested plan against a framework (see the module docstring).

        Args:
            doc_id: The plan's document id.
            framework: The framework's name (a file under ``prompts/frameworks``).
            progress: Told after each step; there are 3 + causes steps, plus causes + 1 with a
                chat model.

        Raises:
            ConfigError: the framework is unknown or malformed.
            DocumentNotFoundError: the plan is not in the library.
            BriefingError: the plan is in the library but not ready.
        """
        started = time.perf_counter()
        spec = load_framework(framework)
        model = self.chat_model
        total = 3 + len(spec.causes) + (len(spec.causes) + 1 if model is not None else 0)
        step = 0

        def tick() -> None:
            nonlocal step
            step += 1
            if progress:
                progress("critique", step, total)

        refs = Refs(self.manifest.page_text)
        plan = Plan(self._ready_row(doc_id), refs, store=self.store, embedder=self.embedder)
        lenses = [*spec.scope_questions, *spec.governance_principles]
        plan.embed_questions(
            [[q.text, *q.queries] for c in spec.causes for q in c.questions]
            + [[x.text, *x.queries] for x in lenses]
            + [cause_texts(c) for c in spec.causes]
        )
        tick()
        others = sorted(self.manifest.ready_ids() - {plan.row.doc_id})
        findings, context_found = [], False
        for cause in spec.causes:
            item = finding(plan, cause, assess(cause, find_hits(plan.sweep, cause), plan.sweep))
            item.context = library_context(plan, cause, others)
            context_found = context_found or bool(item.context)
            findings.append(item)
            tick()
        swept = time.perf_counter()
        lens_points = {
            kind: [lens(plan, x) for x in getattr(spec, kind)]
            for kind in ("scope_questions", "governance_principles")
        }
        tick()
        row = plan.row
        critique = Critique(
            plan=PlanRef(
                doc_id=row.doc_id,
                title=plan.title,
                source=row.source,
                doc_type=row.doc_type,
                pages=row.pages,
            ),
            framework=spec.id,
            framework_name=spec.name,
            framework_version=spec.version,
            findings=findings,
        )
        assemble(critique, spec, plan.sweep, lens_points)
        ignored = plan.sweep.ignored
        if ignored:
            critique.notices.append(
                f"{len(ignored)} sentence(s) of the plan address the reviewer or an AI rather than"
                f" describe the plan (for example on page {ignored[0].page}); they were set aside"
                " and do not affect any rating."
            )
        if plan.sweep.claims:
            critique.notices.append(
                f"{len(plan.sweep.claims)} sentence(s) of a change log describe the revision"
                " rather than the plan; they were set aside and do not affect any rating."
            )
        if not context_found:
            critique.notices.append(
                "No lessons-learned or review document in the library bore on these causes,"
                " so the findings carry no supporting context."
            )
        if model is not None:
            critique.backend = self.settings.answer_backend
            write_prose(model, critique, self.settings, tick)
        checked = refs.verify(critique)
        if refs.dropped:
            critique.notices.append(
                f"{refs.dropped} quote(s) could not be found verbatim on their page"
                " and were left out."
            )
        critique.checks = {"quotes_checked": checked, "quotes_dropped": refs.dropped}
        tick()
        critique.timings = {
            "sweep_ms": round((swept - started) * 1000, 1),
            "total_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        return critique
