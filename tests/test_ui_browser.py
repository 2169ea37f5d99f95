"""End to end in a real headless Chromium: ask, open a source, upload, critique, download.

Debian's chromium (``/usr/bin/chromium``) driven by Playwright for Python; never a downloaded
browser. Screenshots of each page are saved under ``artifacts/ui/`` (git-ignored) as test
artefacts; good ones are copied to ``docs/screenshots/`` by hand for the README.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, write_pdf
from tests.test_ui_handlers import live_ui, ui_service  # noqa: F401  (shared session fixtures)

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts" / "ui"


@contextlib.contextmanager
def browser_page(url: str) -> Iterator[tuple[Any, list[str]]]:
    """A loaded page of the app and the list of requests it made beyond the server."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    origin = url.rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 1000}, accept_downloads=True
            )
            page = context.new_page()
            page.set_default_timeout(60_000)
            external: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((origin, "data:", "blob:")) else external.append(r.url)
                ),
            )
            page.goto(url)
            page.wait_for_selector("#question textarea")
            yield page, external
        finally:
            browser.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_official_asks_uploads_and_downloads_a_critique(live_ui, ui_service, tmp_path):  # noqa: F811
    pdf = write_pdf(
        tmp_path / "browser-plan.pdf",
        [
            "Borealis Digital Government Plan 2026\n1 Vision\nThe Borealis plan makes the ibex registry digital by 2028.",
            "2 Budget\nThe plan costs 9.9 million over three years.\n3 Governance\nA steering board meets monthly.",
        ],
        title="Borealis Digital Government Plan 2026",
    )
    added = None
    with browser_page(live_ui) as (page, external):
        # Chat: a cited answer, then open its first source.
        page.fill("#question textarea", "What is the total budget of the plan?")
        page.click("#ask")
        page.wait_for_selector("#chatbot details summary")
        assert "412.8" in page.locator("#chatbot").inner_text()
        page.locator("#chatbot details summary").first.click()
        quote = page.locator("#chatbot details[open] blockquote").first
        assert quote.is_visible() and "412.8" in quote.inner_text()
        _shot(page, "chat")

        # Documents: upload a PDF and see it ready in the library.
        page.get_by_role("tab", name="Documents").click()
        page.locator("#upload input[type=file]").set_input_files(str(pdf))
        page.wait_for_selector("#upload >> text=browser-plan.pdf")
        page.locator("#upload-type input").click()
        page.get_by_role("option", name="Master plan").click()
        page.click("#ingest")
        page.wait_for_selector("#ingest-note >> text=is ready")
        page.wait_for_selector("#library >> text=Borealis Digital Government Plan 2026")
        added = next(
            r.doc_id
            for r in ui_service.status()
            if r.title == "Borealis Digital Government Plan 2026"
        )
        _shot(page, "documents")

        # Critique: the plan chosen on load; generate, see ratings and findings, download the DOCX.
        page.get_by_role("tab", name="Critique").click()
        page.click("#generate")
        page.wait_for_selector("#download-docx", state="visible", timeout=120_000)
        assert "F1" in page.locator("#findings").inner_text()
        with page.expect_download() as info:
            page.click("#download-docx")
        saved = ARTIFACTS / "critique.docx"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        info.value.save_as(str(saved))
        assert saved.read_bytes()[:2] == b"PK" and info.value.suggested_filename.endswith(".docx")
        _shot(page, "critique")

        # About: backend, model, store size, version.
        page.get_by_role("tab", name="About").click()
        page.wait_for_selector("#about >> text=extractive")
        assert "0.1.0" in page.locator("#about").inner_text()
        _shot(page, "about")
        assert external == []  # an offline app: no request leaves the server
    if added:
        ui_service.remove(added)
    for name in ("chat", "documents", "critique", "about"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000
