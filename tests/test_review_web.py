"""The review workspace on the web page: handlers called directly, two reviewers at once, and
the whole flow in Debian's headless Chromium (decide, reload, decisions still there, download).

Real service with the Kestrel strategy and its second edition (Markdown, quick to ingest).
"""

from __future__ import annotations

import re
import threading
from types import SimpleNamespace

import pytest

from tests.conftest import CORPUS, ROOT
from tests.test_ui_browser import ARTIFACTS, browser_page
from tests.test_ui_handlers import free_port

KESTREL = CORPUS / "master_plan" / "kestrel-digital-services-strategy-2026-2028.md"
KESTREL_2 = (
    ROOT
    / "corpus"
    / "revisions"
    / "master_plan"
    / "kestrel-digital-services-strategy-2026-2028-2nd-edition.md"
)


@pytest.fixture(scope="module")
def svc(tmp_path_factory, embedder):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    data = tmp_path_factory.mktemp("review-web") / "data"
    service = build_service(
        Settings(data_dir=data, parse_workers=1), embeddings=embedder, writer=True
    )
    assert not service.ingest([KESTREL, KESTREL_2], doc_type="master_plan").failed
    yield service
    service.close()


@pytest.fixture
def h(svc, tmp_path):
    from assistant.web.handlers import Handlers

    handlers = Handlers(svc, tmp_path / "exports")
    yield handlers
    handlers.close()


def _path(button):
    value = button.value
    return value["path"] if isinstance(value, dict) else value


def _doc(svc, path):
    return svc.document(str(path.resolve())).doc_id


def test_decide_on_the_page_redraws_from_the_store(svc, h):
    draft = svc.critique(_doc(svc, KESTREL))
    chooser = h.select_review({"critique_id": draft.critique_id})
    assert chooser.value == draft.critique_id
    rows, finding, view, *_ = h.load_review(draft.critique_id)
    assert [r[3] for r in rows] == ["Not yet reviewed"] * 8 and finding.value == "F1"
    assert "<blockquote>" in view  # the evidence is quoted beside the controls
    out = h.decide(draft.critique_id, "F2", "reject", None, "", "", "", None, 1, "", "not ours")
    rows, _, view, _, _, _, md, docx, note = out
    assert rows[1][3] == "Rejected" and rows[1][4] == "local" and "not ours" in view
    assert "F2 reject" in note
    text = open(_path(md), encoding="utf-8").read()
    assert "not ours" in text.split("## Annex: rejected findings")[1]
    assert _path(docx).endswith(".docx")
    out = h.decide(
        draft.critique_id, "F3", "edit", "gap", "Edited on the page.", "", "", None, 1, "", ""
    )
    assert out[0][2][1] == "Gap" and out[0][2][2] == "Addressed" and out[0][2][3] == "Edited"
    # A reload draws the same state from the store (nothing lives in the page).
    again = h.load_review(draft.critique_id, "F3")
    assert again[0] == out[0] and "Edited on the page." in again[2]
    with pytest.raises(Exception, match="needs a reason"):
        h.decide(draft.critique_id, "F4", "reject", None, "", "", "", None, 1, "", "")
    with pytest.raises(Exception, match="not verbatim"):
        h.decide(
            draft.critique_id, "F4", "edit", None, "", "", "", draft.plan.doc_id, 1,
            "A sentence that the plan never says at all.", "",
        )  # fmt: skip


def test_two_reviewers_on_the_page_keep_both_decisions(svc, h, tmp_path):
    from assistant.web.handlers import Handlers

    draft = svc.critique(_doc(svc, KESTREL))
    other = Handlers(svc, tmp_path / "other")
    users = [SimpleNamespace(username="ana"), SimpleNamespace(username="ben")]
    errors: list[Exception] = []

    def work(handlers, user, causes):
        try:
            for cause in causes:
                handlers.decide(
                    draft.critique_id, cause, "accept", None, "", "", "", None, 1, "", "", user
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(h, users[0], ["F1", "F2", "F3", "F8"])),
        threading.Thread(target=work, args=(other, users[1], ["F4", "F5", "F6", "F8"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    review = svc.review(draft.critique_id)
    assert len(review.log) == 8
    assert {s.cause_id for s in review.findings if s.status == "accepted"} == {
        "F1", "F2", "F3", "F4", "F5", "F6", "F8"
    }  # fmt: skip
    assert {d.who for d in review.log if d.cause_id == "F8"} == {"ana", "ben"}
    assert review.state("F8").who == [d for d in review.log if d.cause_id == "F8"][-1].who


def test_compare_on_the_page(svc, h):
    rows, changes, before, after, md, docx = h.compare(
        _doc(svc, KESTREL_2), _doc(svc, KESTREL), "eight-causes"
    )
    statuses = {r[0].split()[0]: r[3] for r in rows}
    assert statuses["F7"] == "resolved" and statuses["F3"] == "regressed"
    assert "Senior Responsible Owners removed" in changes
    assert "Earlier edition" in before and "Revised edition" in after
    assert _path(md).endswith(".md") and _path(docx).endswith(".docx")


@pytest.mark.slow
def test_reviewer_decides_reloads_and_downloads_in_chromium(svc):
    from playwright.sync_api import expect

    from assistant.web.layout import build_ui
    from assistant.web.server import launch_options

    demo = build_ui(svc)
    port = free_port()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **launch_options(svc.settings),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        with browser_page(url) as (page, external):
            page.get_by_role("tab", name="Critique").click()
            page.locator("#plan input").click()
            page.get_by_role(
                "option", name="Kestrel Islands – Digital Services Strategy 2026–2028"
            ).first.click()  # noqa: E501
            before = {r.critique_id for r in svc.reviews()}
            page.click("#generate")
            page.wait_for_selector("#download-docx", state="visible", timeout=120_000)
            (new_id,) = {r.critique_id for r in svc.reviews()} - before
            # The new draft's review is chosen and drawn (earlier reviews exist in this store).
            expect(page.locator("#review-id input")).to_have_value(re.compile(new_id))
            page.wait_for_selector("#download-review-md", state="visible")
            expect(page.locator("#review-table")).to_contain_text("Not yet reviewed")
            # Reject F1 with a reason: the finding chosen first is F1.
            page.locator("#decision label", has_text="reject").click()
            page.fill("#reason textarea", "the outcome hierarchy is enough here")
            page.click("#decide")
            expect(page.locator("#review-table")).to_contain_text("Rejected")
            expect(page.locator("#finding-view")).to_contain_text("outcome hierarchy is enough")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
            # Reload: the newest review is chosen again and drawn from the store.
            page.reload()
            page.wait_for_selector("#question textarea")
            page.get_by_role("tab", name="Critique").click()
            expect(page.locator("#review-id input")).to_have_value(re.compile(new_id))
            expect(page.locator("#review-table")).to_contain_text("Rejected", timeout=60_000)
            with page.expect_download() as info:
                page.click("#download-review-md")
            saved = ARTIFACTS / "review.md"
            info.value.save_as(str(saved))
            text = saved.read_text(encoding="utf-8")
            assert "the outcome hierarchy is enough here" in text
            assert "Not yet reviewed" in text and "## Decision log" in text
            assert external == []
    finally:
        demo.close()
