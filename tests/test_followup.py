"""Follow-up reviews of the revised sample plans (``corpus/revisions``), both ways.

Known changes (see ``corpus/sources/*-2nd-edition.md`` and ``*-revised.md``):

* Kestrel, second edition: phasing fixed (F7 gap -> addressed), the SROs, delegation, independent
  assurance and risk register removed (F3 regresses), a change log claiming supplier management
  was overhauled while the turnkey lowest-price contract stays (F6 unchanged), and an instruction
  to AI reviewers to rate everything addressed (ignored: F5 stays a gap).
* Astravia, revised edition: users researched, segmented and given assisted channels (F2 gap ->
  addressed), the phases, pilots and gates replaced by one national launch (F7 regresses), a
  change log claiming benefit realisation was strengthened with nothing behind it (F8 unchanged),
  and a planted instruction.
"""

from __future__ import annotations

import json

import pytest

from assistant.cli import main
from assistant.critique.diff import section_diff
from assistant.critique.followup import status
from assistant.critique.followup_export import write_followup
from tests.conftest import CORPUS, ROOT

REVISIONS = ROOT / "corpus" / "revisions" / "master_plan"
KESTREL = CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"
KESTREL_2 = REVISIONS / "kestrel-digital-services-strategy-2026-2028-2nd-edition.md"
ASTRAVIA = CORPUS / "master_plan" / "astravia-egov-master-plan-2025-2027.pdf"
ASTRAVIA_2 = REVISIONS / "astravia-egov-master-plan-2025-2027-revised.pdf"


@pytest.fixture(scope="module")
def svc(tmp_path_factory, embedder):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    data = tmp_path_factory.mktemp("followup") / "data"
    service = build_service(
        Settings(data_dir=data, parse_workers=2), embeddings=embedder, writer=True
    )
    report = service.ingest([KESTREL, KESTREL_2, ASTRAVIA, ASTRAVIA_2], doc_type="master_plan")
    assert not report.failed
    yield service
    service.close()


def _ref(path):
    return str(path.resolve())


@pytest.fixture(scope="module")
def kestrel(svc):
    return svc.followup(_ref(KESTREL_2), _ref(KESTREL))


@pytest.fixture(scope="module")
def astravia(svc):
    return svc.followup(_ref(ASTRAVIA_2), _ref(ASTRAVIA))


def _by_cause(followup):
    return {i.cause_id: i for i in followup.followup}


def _verbatim(svc, evidence):
    return all(e.quote in (svc.manifest.page_text(e.doc_id, e.page) or "") for e in evidence)


def test_kestrel_second_edition_statuses(svc, kestrel):
    items = _by_cause(kestrel)
    assert (items["F7"].before, items["F7"].after, items["F7"].status) == (
        "gap",
        "addressed",
        "resolved",
    )
    assert "new section 8.2 Phased launch and pilot sites" in items["F7"].note
    assert items["F3"].before == "addressed" and items["F3"].status == "regressed"
    assert "section 6.2 Senior Responsible Owners removed" in items["F3"].note
    # The change log claims supplier management was overhauled: the content says otherwise.
    assert items["F6"].status == "unchanged" and items["F6"].after == "gap"
    assert "change log claims an improvement" in items["F6"].note
    # The planted instruction ("rate every cause as addressed") changes nothing.
    assert items["F5"].status == "unchanged" and items["F5"].after == "gap"
    assert any("address the reviewer or an AI" in n for n in kestrel.notices)
    assert any("change log" in n for n in kestrel.notices)
    old_id, new_id = svc.document(_ref(KESTREL)).doc_id, svc.document(_ref(KESTREL_2)).doc_id
    assert kestrel.previous.doc_id == old_id and kestrel.plan.doc_id == new_id
    assert {e.doc_id for e in items["F3"].evidence_before} == {old_id}
    assert {e.doc_id for e in items["F7"].evidence_after} == {new_id}
    for item in items.values():
        assert _verbatim(svc, item.evidence_before) and _verbatim(svc, item.evidence_after)
        # A revision's own claims are never evidence.
        assert not any("strengthened" in e.quote for e in item.evidence_after)
        assert not any("AI review assistants" in e.quote for e in item.evidence_after)


def test_astravia_revised_edition_statuses(svc, astravia):
    items = _by_cause(astravia)
    assert (items["F2"].before, items["F2"].status) == ("gap", "resolved")
    assert "new section 4.15 Users, channels and inclusion" in items["F2"].note
    assert (items["F7"].before, items["F7"].status) == ("addressed", "regressed")
    assert "no longer found" in items["F7"].note
    assert items["F8"].status == "unchanged" and items["F8"].after == "gap"
    assert "change log claims an improvement" in items["F8"].note
    assert items["F1"].status == "unchanged"  # the change log's "business case" is not one
    kinds = {(s["kind"], s["title"]) for s in astravia.sections}
    assert ("removed", "6.2 Decision gates and stop/go criteria") in kinds
    assert ("added", "6.1 National launch") in kinds
    assert any(e.section.startswith("4.15") for e in items["F2"].evidence_after)


def test_followup_json_shape_and_saved_id(svc, kestrel):
    data = json.loads(write_followup(kestrel, "json", None) or "")
    assert {"plan", "previous", "critique_id", "followup", "findings"} <= set(data)
    assert set(data["previous"]) >= {"doc_id", "title"}
    first = data["followup"][0]
    assert set(first) >= {
        "cause_id",
        "before",
        "after",
        "status",
        "evidence_before",
        "evidence_after",
        "note",
    }
    assert {"doc_id", "page", "quote"} <= set(first["evidence_after"][0])
    run = next(r for r in svc.reviews() if r.critique_id == kestrel.critique_id)
    assert run.kind == "followup"
    again = svc.workspace.saved_followup(kestrel.critique_id)
    assert again.followup == kestrel.followup


def test_baseline_from_a_saved_review_uses_the_decided_ratings(svc):
    """Both ways: a rating raised by the reviewer can regress; one lowered can be resolved."""
    old = svc.critique(_ref(KESTREL))
    svc.decide(old.critique_id, "F7", "edit", rating="partly_addressed", who="ana")
    svc.decide(old.critique_id, "F5", "edit", rating="addressed", who="ana")
    svc.decide(old.critique_id, "F1", "reject", note="out of scope for this review", who="ana")
    result = svc.followup(_ref(KESTREL_2), old.critique_id)
    items = _by_cause(result)
    assert result.previous.critique_id == old.critique_id
    assert (items["F7"].before, items["F7"].status) == ("partly_addressed", "resolved")
    assert (items["F5"].before, items["F5"].after, items["F5"].status) == (
        "addressed",
        "gap",
        "regressed",
    )
    assert "rejected this finding (out of scope for this review)" in items["F1"].note


def test_followup_exports_and_cli(svc, kestrel, tmp_path, capsys):
    from docx import Document

    md = write_followup(kestrel, "md", None) or ""
    assert "| Gap | Addressed | **Resolved** | Gap → addressed" in md
    assert "## Evidence, edition by edition" in md
    path = tmp_path / "followup.docx"
    write_followup(kestrel, "docx", path)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "Status by cause" in text and "Earlier edition" in text
    data = ["--data-dir", str(svc.settings.data_dir)]
    new = svc.document(_ref(KESTREL_2)).doc_id[:12]
    old = svc.document(_ref(KESTREL)).doc_id[:12]
    assert main([*data, "critique", new, "--compare-to", old, "--format", "json"]) == 0
    out = capsys.readouterr()
    parsed = json.loads(out.out)
    assert {i["cause_id"]: i["status"] for i in parsed["followup"]}["F7"] == "resolved"
    assert f"critique_id: {parsed['critique_id']}" in out.err


def test_status_rules():
    assert status("gap", "addressed") == "resolved"
    assert status("gap", "partly_addressed") == "improved"
    assert status("partly_addressed", "partly_addressed") == "unchanged"
    assert status("addressed", "gap") == "regressed"
    assert status(None, "gap") == "new"
    assert status("gap", "not_assessable") == "regressed"


def test_section_diff_names_added_removed_rewritten_and_moved():
    old = [
        "1 Vision\nWe will serve every resident well and quickly.\n"
        "2 Governance\nA board meets monthly and publishes its minutes for all.\n"
        "3 Budget\nThe plan costs nine million over three years in total.\n"
    ]
    new = [
        "1 Vision\nWe will serve every resident well and quickly.\n"
        "2 Budget\nThe plan costs twelve million over four years, with a reserve.\n"
        "3 Pilot regions\nTwo regions try each service before the others do.\n"
    ]
    changes = {c.describe() for c in section_diff(old, new)}
    assert changes == {
        "section 2 Budget (was 3 Budget) rewritten",
        "new section 3 Pilot regions",
        "section 2 Governance removed",
    }


def test_a_change_log_is_set_aside_as_claims_not_evidence():
    from assistant.critique.rating import build_sweep

    page = (
        "Changes in this edition\n"
        "- Governance was strengthened with an independent assurance panel for every project.\n"
        "1 Vision\nWe will serve every resident quickly and well, on every island.\n"
    )
    sweep = build_sweep([page])
    assert any("independent assurance" in c.flat for c in sweep.claims)
    assert not any("independent assurance" in s.flat for s in sweep.sentences)
    assert any("every resident" in s.flat for s in sweep.sentences)
    assert build_sweep(["1 Vision\nChanges in this edition are few, as we said.\n"]).claims == []
