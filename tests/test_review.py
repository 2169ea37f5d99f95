"""The review workspace: saved drafts, decisions with an audit trail, exports and the CLI.

Real service (MiniLM, Chroma, SQLite) on a temporary data directory with the Kestrel strategy
(Markdown, quick to ingest). Durability is tested with a real ``kill -9`` of a process in the
middle of a decision; concurrency with two stores on one database file and many threads.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest

from assistant.cli import main
from assistant.core.errors import BriefingError
from assistant.critique.decisions import decided
from assistant.critique.reviews import ReviewStore, plan_digest
from tests.conftest import CORPUS, ROOT

KESTREL = CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"


@pytest.fixture(scope="module")
def svc(tmp_path_factory, embedder):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    data = tmp_path_factory.mktemp("review") / "data"
    service = build_service(
        Settings(data_dir=data, parse_workers=1), embeddings=embedder, writer=True
    )
    assert not service.ingest([KESTREL], doc_type="master_plan").failed
    yield service
    service.close()


@pytest.fixture(scope="module")
def draft(svc):
    return svc.critique(str(KESTREL.resolve()))


def _fresh(svc, draft):
    """A new saved run of the same draft (each test decides on its own copy)."""
    copy = draft.model_copy(deep=True)
    row = svc.document(draft.plan.doc_id)
    pages = [svc.manifest.page_text(row.doc_id, p) or "" for p in range(1, row.pages + 1)]
    return svc.workspace.reviews.save(copy, plan_digest(pages), "test")


def test_every_run_is_saved_with_id_digest_and_framework(svc, draft):
    assert draft.critique_id and json.loads(draft.model_dump_json())["critique_id"]
    run = next(r for r in svc.reviews() if r.critique_id == draft.critique_id)
    text = KESTREL.read_text(encoding="utf-8")
    assert run.doc_id == draft.plan.doc_id and run.framework == "eight-causes"
    assert run.framework_version == draft.framework_version >= 1
    assert len(run.digest) == 64 and run.findings == 8 and run.decided == 0
    assert svc.manifest.page_text(run.doc_id, 1) and text  # the digest is of what was read
    assert svc.workspace.reviews.draft(draft.critique_id) == draft


def test_accept_reject_edit_are_recorded_with_who_when_and_from_what(svc, draft):
    cid = _fresh(svc, draft)
    f3 = next(f for f in draft.findings if f.cause_id == "F3")
    plan = draft.plan.doc_id
    quote = "It meets monthly and its terms of reference are published."
    svc.decide(cid, "F1", "accept", who="ana")
    svc.decide(cid, "f5", "reject", note="covered by the skills annex", who="ben")
    d = svc.decide(
        cid,
        "F3",
        "edit",
        who="ana",
        rating="partly addressed",
        rationale="Governance is clear, but the Board has no independent member.",
        drop=[f3.evidence[0].ref],
        add=[(plan[:12], 1, quote)],
    )
    assert d.changes["rating"] == {"from": "addressed", "to": "partly_addressed"}
    assert d.changes["rationale"]["from"] == f3.rationale
    svc.decide(cid, "", "note", note="Ask the Ministry for the Board's minutes.", who="ben")
    review = svc.review(cid)
    states = {s.cause_id: s for s in review.findings}
    assert states["F1"].status == "accepted" and states["F1"].who == "ana"
    assert states["F5"].status == "rejected" and states["F5"].reason.startswith("covered")
    edited = states["F3"]
    assert edited.status == "edited" and edited.finding.rating == "partly_addressed"
    assert edited.machine_rating == "addressed"
    assert f3.evidence[0].ref not in [e.ref for e in edited.finding.evidence]
    added = edited.finding.evidence[-1]
    assert added.quote == quote and added.doc_id == plan and added.ref > 0
    assert states["F2"].status == "not_reviewed"
    assert [n.note for n in review.notes] == ["Ask the Ministry for the Board's minutes."]
    assert [(d.cause_id, d.action, d.who) for d in review.log] == [
        ("F1", "accept", "ana"),
        ("F5", "reject", "ben"),
        ("F3", "edit", "ana"),
        ("", "note", "ben"),
    ]
    assert all(d.at > 0 for d in review.log)
    # Nothing is overwritten: the machine draft is still the one saved.
    assert svc.workspace.reviews.draft(cid).findings == draft.findings
    assert review.counts() == {"not_reviewed": 5, "accepted": 1, "rejected": 1, "edited": 1}


def test_bad_decisions_are_refused_with_the_reason(svc, draft):
    cid = _fresh(svc, draft)
    with pytest.raises(BriefingError, match="not verbatim on page 1"):
        svc.decide(cid, "F3", "edit", add=[(draft.plan.doc_id, 1, "The Board never meets at all.")])
    with pytest.raises(BriefingError, match="not in the library"):
        svc.decide(cid, "F3", "edit", add=[("ffffffffffff", 1, "It meets monthly and so on.")])
    with pytest.raises(BriefingError, match="no evidence \\[999\\]"):
        svc.decide(cid, "F3", "edit", drop=[999])
    with pytest.raises(BriefingError, match="needs a reason"):
        svc.decide(cid, "F3", "reject")
    with pytest.raises(BriefingError, match="no finding 'F9'.*F1, F2"):
        svc.decide(cid, "F9", "accept")
    with pytest.raises(BriefingError, match="unknown rating"):
        svc.decide(cid, "F3", "edit", rating="excellent")
    with pytest.raises(BriefingError, match="changes nothing"):
        svc.decide(cid, "F3", "edit", rating="addressed")
    with pytest.raises(BriefingError, match="no saved critique"):
        svc.decide("19990101-00000000", "F3", "accept")
    assert svc.review(cid).log == []


def test_export_reflects_the_decisions(svc, draft, tmp_path):
    from docx import Document

    from assistant.critique.review_export import write_review

    cid = _fresh(svc, draft)
    svc.decide(cid, "F7", "edit", rationale="One launch date for all 38 services is the risk.")
    svc.decide(cid, "F4", "reject", note="the Island Councils were consulted in 2024")
    review = svc.review(cid)
    md = write_review(review, "md", None)
    assert md is not None
    findings, annex = md.split("## Annex: rejected findings")
    assert "One launch date for all 38 services is the risk." in findings
    assert "### F4" not in findings and "F4 Stakeholder engagement" in annex
    assert "the Island Councils were consulted in 2024" in annex
    assert "Not yet reviewed" in findings and md.rstrip().splitlines()[-1].startswith("| 2 |")
    assert annex.index("## Decision log") > 0
    data = json.loads(write_review(review, "json", None) or "")
    assert [r["cause_id"] for r in data["rejected"]] == ["F4"]
    assert "F4" not in [f["cause_id"] for f in data["findings"]]
    assert {f["status"] for f in data["findings"]} == {"edited", "not_reviewed"}
    assert len(data["log"]) == 2 and data["log"][0]["who"] == "local"
    path = tmp_path / "review.docx"
    write_review(review, "docx", path)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "One launch date for all 38 services is the risk." in text
    assert "Annex: rejected findings" in text and "Decision log" in text


def test_two_reviewers_at_once_lose_nothing(svc, draft):
    """Two connections (two server workers) decide at once; the last write on a finding wins."""
    cid = _fresh(svc, draft)
    path = svc.workspace.reviews.path
    stores = [ReviewStore(path), ReviewStore(path)]
    errors: list[Exception] = []

    def reviewer(store: ReviewStore, who: str, causes: list[str]) -> None:
        try:
            for i in range(6):
                for cause in causes:
                    action = "accept" if i % 2 else "reject"
                    note = "" if action == "accept" else f"{who} round {i}"
                    store.decide(cid, cause, action, _status(cause, action), note=note, who=who)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=reviewer, args=(stores[0], "ana", ["F1", "F2", "F8"])),
        threading.Thread(target=reviewer, args=(stores[1], "ben", ["F5", "F6", "F8"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in stores:
        store.close()
    assert errors == []
    review = svc.review(cid)
    assert len(review.log) == 36
    assert {d.who for d in review.log if d.cause_id == "F8"} == {"ana", "ben"}
    last_f8 = [d for d in review.log if d.cause_id == "F8"][-1]
    assert review.state("F8").who == last_f8.who and review.state("F8").status == "accepted"
    # Each decision's "from" is what the previous committed decision on that finding left.
    previous: dict[str, str] = {}
    for d in review.log:
        assert d.changes["status"]["from"] == previous.get(d.cause_id, "not_reviewed")
        previous[d.cause_id] = d.changes["status"]["to"]


def _status(cause, action):
    to = {"accept": "accepted", "reject": "rejected"}[action]
    return lambda review: {"status": {"from": review.state(cause).status, "to": to}}


KILLER = """
import os, signal, sys
from pathlib import Path
from assistant.critique.reviews import ReviewStore

store = ReviewStore(Path(sys.argv[1]))
store.decide(sys.argv[2], "F2", "accept", lambda r: {"status": {"from": "x", "to": "accepted"}})
print("first committed", flush=True)

def die(review):
    os.kill(os.getpid(), signal.SIGKILL)

store.decide(sys.argv[2], "F3", "reject", die, note="never written")
"""


def test_decisions_survive_kill_9_between_two_decide_calls(svc, draft):
    cid = _fresh(svc, draft)
    path = svc.workspace.reviews.path
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(path), cid],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL and "first committed" in proc.stdout
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    review = svc.review(cid)
    assert [(d.cause_id, d.action) for d in review.log] == [("F2", "accept")]
    svc.decide(cid, "F3", "reject", note="decided after the crash")
    assert svc.review(cid).state("F3").status == "rejected"


def test_cli_review_list_show_decide_export(svc, draft, tmp_path, capsys, monkeypatch):
    cid = _fresh(svc, draft)
    data = ["--data-dir", str(svc.settings.data_dir)]
    monkeypatch.setenv("BRIEFING_REVIEWER", "carla")
    assert main([*data, "review", "list"]) == 0
    assert cid in capsys.readouterr().out
    assert main([*data, "review", "decide", cid, "F1", "--accept"]) == 0
    assert main([*data, "review", "decide", cid, "F2", "--reject", "--note", "out of scope"]) == 0
    assert (
        main([*data, "review", "decide", cid, "F3", "--rating", "gap", "--rationale", "No SRO."])
        == 0
    )
    assert main([*data, "review", "decide", cid, "F4", "--reject"]) == 2
    assert "needs a reason" in capsys.readouterr().err
    quote = "Each SRO is appointed for the whole strategy period"
    add = ["--add-evidence", draft.plan.doc_id[:10], "1", quote]
    assert main([*data, "review", "decide", cid, "F3", *add]) == 0
    assert main([*data, "review", "note", cid, "Second reading next week."]) == 0
    capsys.readouterr()
    assert main([*data, "review", "show", cid[:13]]) == 0
    shown = capsys.readouterr().out
    assert "Rejected" in shown and "carla" in shown and "rating Addressed → Gap" in shown
    out = tmp_path / "decided.md"
    assert main([*data, "review", "export", cid, "--format", "md", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "No SRO." in text and "Second reading next week." in text and quote in text
    assert "out of scope" in text.split("## Annex: rejected findings")[1]
    docx = tmp_path / "decided.docx"
    assert main([*data, "review", "export", cid, "--format", "docx", "-o", str(docx)]) == 0
    assert docx.read_bytes()[:2] == b"PK"
    assert main([*data, "review", "export", cid, "--format", "docx"]) == 2


def test_fold_keeps_the_machine_draft_readable(draft):
    review = decided(draft, [])
    assert [s.status for s in review.findings] == ["not_reviewed"] * len(draft.findings)
    assert [s.finding for s in review.findings] == draft.findings
