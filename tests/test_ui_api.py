"""The named API endpoints through gradio_client, against a live server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.conftest import write_pdf
from tests.test_ui_handlers import live_ui, ui_service  # noqa: F401  (shared session fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(live_ui):  # noqa: F811
    return Client(live_ui, verbose=False, download_files=True)


def test_api_lists_the_documented_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {
        "/ask",
        "/chat",
        "/ingest",
        "/critique",
        "/library",
        "/set_type",
        "/remove",
        "/about",
    } <= set(endpoints)
    assert [p["parameter_name"] for p in endpoints["/ask"]["parameters"]] == [
        "question",
        "documents",
        "doc_types",
    ]


def test_api_ask_returns_answer_markdown_and_citations(client):
    markdown, citations = client.predict(
        "What is the total budget of the plan?", [], [], api_name="/ask"
    )
    assert "412.8" in markdown and "<details><summary>[1]" in markdown
    assert (
        citations[0]["source"] == "astravia-egov-master-plan-2025-2027.pdf"
        and citations[0]["page"] == 9
    )
    assert "412.8" in citations[0]["quote"]


def test_api_chat_keeps_the_conversation_per_client_session(client, live_ui):  # noqa: F811
    messages, _ = client.predict("What is the total budget of the plan?", [], [], api_name="/chat")
    assert len(messages) == 2
    messages, _ = client.predict(
        "Who chairs the Government Commission on Informatization?", [], [], api_name="/chat"
    )
    assert len(messages) == 4
    other = Client(live_ui, verbose=False)  # another user: an empty conversation of their own
    messages, _ = other.predict("What is the total budget of the plan?", [], [], api_name="/chat")
    assert len(messages) == 2


def test_api_ingest_uploads_and_reports_the_document(client, ui_service, tmp_path):  # noqa: F811
    pdf = write_pdf(
        tmp_path / "api-plan.pdf",
        [
            "1 Scope\nThe quetzal interoperability bus links 40 registries.",
            "2 Budget\nIt costs 7.25 million over three years.",
        ],
    )
    report, note, _ = client.predict(handle_file(str(pdf)), "master_plan", api_name="/ingest")
    assert report["documents"]["added"] == 1 and report["document"]["status"] == "ready"
    assert "ready" in note
    doc_id = report["document"]["doc_id"]
    markdown, citations = client.predict(
        "What does the quetzal bus link?", [doc_id], [], api_name="/ask"
    )
    assert "40 registries" in markdown and citations[0]["doc_id"] == doc_id
    message, _ = client.predict(doc_id, True, api_name="/remove")
    assert "Removed" in message and doc_id not in {r.doc_id for r in ui_service.status()}


def test_api_critique_returns_json_and_docx(client, ui_service):  # noqa: F811
    pytest.importorskip("assistant.critique.export")
    plan = next(r.doc_id for r in ui_service.status() if "kestrel" in r.source)
    data, docx, md, ratings, findings = client.predict(plan, "eight-causes", api_name="/critique")
    assert data["plan"]["doc_id"] == plan and len(data["findings"]) == 8
    assert Path(docx).suffix == ".docx" and Path(docx).read_bytes()[:2] == b"PK"
    assert Path(md).read_text(encoding="utf-8").strip()
    assert len(ratings["data"]) == 8


@pytest.mark.parametrize(
    ("api_name", "args", "expected"),
    [
        ("/ask", ("x" * 100_001, [], []), "limit"),
        ("/ask", ("budget?", ["../../etc/passwd"], []), "unknown or not-ready document"),
        ("/ask", ("budget?", [], ["<script>"]), "unknown document type"),
        ("/set_type", ("nothing-like-this", "review"), "no document"),
        ("/remove", ("nothing-like-this", True), "no document"),
        ("/critique", ("nothing-like-this", "eight-causes"), "no document"),
    ],
    ids=["ask-huge", "ask-doc", "ask-type", "set-type", "remove", "critique"],
)
def test_api_validates_what_the_page_would_never_send(client, api_name, args, expected):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=expected):
        client.predict(*args, api_name=api_name)


def test_a_full_queue_answers_busy_try_again(ui_service):  # noqa: F811
    """A burst beyond the queue's size is refused with a message, not an error page or a hang."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.web.layout import build_ui
    from assistant.web.server import launch_options
    from tests.test_ui_handlers import free_port

    demo = build_ui(ui_service)
    demo.queue(max_size=2, default_concurrency_limit=1)  # a tiny queue makes the limit reachable
    port = free_port()
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **launch_options(ui_service.settings),
    )
    try:
        url = f"http://127.0.0.1:{port}/"

        def ask(_):
            try:
                return Client(url, verbose=False).predict(
                    "What is the total budget of the plan?", [], [], api_name="/ask"
                )
            except Exception as exc:  # noqa: BLE001
                return exc

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(ask, range(12)))
        busy = [r for r in results if isinstance(r, Exception)]
        answered = [r for r in results if not isinstance(r, Exception)]
        assert busy and answered
        assert all(
            "queue is full" in str(e).lower() and "try again" in str(e).lower() for e in busy
        )
        assert all("412.8" in markdown for markdown, _ in answered)
    finally:
        demo.close()
