"""The web UI's handlers called directly: chat, feedback, library, ingest, critique, about.

The service is real (MiniLM, Chroma and the sample corpus on a temporary directory); only the
upload is simulated by placing a file in Gradio's upload folder, as Gradio does.
"""

from __future__ import annotations

import json
import shutil
import socket
import uuid
from pathlib import Path

import gradio as gr
import pytest

from assistant.feedback import FeedbackError, FeedbackStore
from assistant.web.handlers import ChatSession, Handlers
from tests.conftest import CORPUS, write_pdf

_SHARED: dict[str, object] = {}


@pytest.fixture(scope="session")
def ui_service(tmp_path_factory, embedder):
    """One writer service with the sample corpus, shared by every UI test module."""
    if "service" not in _SHARED:
        from assistant.core.settings import Settings
        from assistant.service import build_service

        data = tmp_path_factory.mktemp("ui") / "data"
        service = build_service(
            Settings(data_dir=data, parse_workers=2), embeddings=embedder, writer=True
        )
        report = service.ingest([CORPUS])
        assert not report.failed
        _SHARED["service"] = service
    yield _SHARED["service"]
    if "service" in _SHARED:
        _SHARED.pop("service").close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_ui(ui_service):
    """The page served on loopback, as ``serve`` launches it (same launch options)."""
    if "live" not in _SHARED:
        from assistant.web.layout import build_ui
        from assistant.web.server import launch_options

        demo = build_ui(ui_service)
        port = free_port()
        demo.launch(
            prevent_thread_lock=True,
            server_name="127.0.0.1",
            server_port=port,
            quiet=True,
            **launch_options(ui_service.settings),
        )
        _SHARED["live"] = (demo, f"http://127.0.0.1:{port}/")
    yield _SHARED["live"][1]
    if "live" in _SHARED:
        _SHARED.pop("live")[0].close()


@pytest.fixture
def handlers(ui_service, tmp_path):
    h = Handlers(ui_service, tmp_path / "exports")
    yield h
    h.close()


def fake_upload(source: Path, name: str | None = None) -> str:
    """Put a file where Gradio puts uploads and return that path (what the handler receives)."""
    folder = Path(gr.utils.get_upload_folder()) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / (name or source.name)
    shutil.copy(source, target)
    return str(target)


def run_chat(handlers, question, session=None, documents=None, doc_types=None):
    frames = list(
        handlers.chat(question, documents or [], doc_types or [], session or ChatSession())
    )
    return frames


def like(index, liked=True):
    return gr.LikeData(None, {"index": index, "value": "", "liked": liked})


# -- chat ----------------------------------------------------------------------------------------


def test_chat_streams_then_shows_answer_with_expandable_sources(handlers):
    frames = run_chat(handlers, "What is the total budget of the plan?")
    first_messages, _, box = frames[0]
    assert box == "" and first_messages[-1]["content"].startswith("_Searching")
    messages, session, _ = frames[-1]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    final = messages[-1]["content"]
    assert "412.8" in final and "<details><summary>[1]" in final and "page 9" in final
    assert (
        Path(session.turns[0].citations[0].source).name == "astravia-egov-master-plan-2025-2027.pdf"
    )
    assert [m.role for m in session.history] == ["user", "assistant"]


def test_chat_follow_up_sends_the_session_history(handlers, ui_service, monkeypatch):
    _, session = run_chat(handlers, "What is the total budget of the plan?")[-1][:2]
    seen = []
    original = ui_service.stream

    def spy(question, history, filters):
        seen.append(list(history))
        return original(question, history, filters)

    monkeypatch.setattr(ui_service, "stream", spy)
    messages, session, _ = run_chat(handlers, "And who approves it?", session)[-1]
    assert len(messages) == 4 and len(session.turns) == 2
    assert [m.content for m in seen[0]][0] == "What is the total budget of the plan?"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", "empty"),
        ("   \u200b ", "empty"),
        ("x" * 5000, "limit"),
        (123, "must be text"),
        (["a"], "must be text"),
    ],
    ids=["empty", "invisible-only", "too-long", "number", "list"],
)
def test_chat_refuses_bad_questions_and_keeps_the_conversation(handlers, question, expected):
    session = ChatSession()
    frames = []
    with pytest.raises(gr.Error, match=expected):
        for frame in handlers.chat(question, [], [], session):
            frames.append(frame)
    assert session.turns == [] and session.history == []
    if frames:  # the question goes back into the box, the pending message is gone
        assert frames[-1][0] == [] and frames[-1][2] == question


@pytest.mark.parametrize(
    ("documents", "doc_types", "expected"),
    [
        (["0" * 64], [], "unknown or not-ready document"),
        ([], ["budget"], "unknown document type"),
        ("not-a-list", [], "unknown or not-ready"),
        ([1, 2], [], "list of at most 100 strings"),
    ],
    ids=["unknown-doc", "unknown-type", "string-doc", "ints"],
)
def test_chat_validates_filters_server_side(handlers, documents, doc_types, expected):
    with pytest.raises(gr.Error, match=expected):
        run_chat(handlers, "What is the budget?", documents=documents, doc_types=doc_types)


def test_chat_filters_limit_the_sources(handlers, ui_service):
    review = next(r.doc_id for r in ui_service.status() if r.doc_type == "review")
    _, session, _ = run_chat(handlers, "What are the main weaknesses?", documents=[review])[-1]
    assert session.turns[0].citations and {c.doc_id for c in session.turns[0].citations} == {review}
    _, session, _ = run_chat(handlers, "Why do programmes fail?", doc_types=["lessons_learned"])[-1]
    lessons = {r.doc_id for r in ui_service.status() if r.doc_type == "lessons_learned"}
    assert {c.doc_id for c in session.turns[0].citations} <= lessons


def test_ask_endpoint_returns_markdown_and_citations_without_server_paths(handlers):
    markdown, citations = handlers.ask("Who chairs the Government Commission on Informatization?")
    assert "<details>" in markdown and citations
    assert all("/" not in c["source"] and c["page"] >= 1 and c["quote"] for c in citations)
    with pytest.raises(gr.Error, match="empty"):
        handlers.ask("")


def test_new_conversation_and_export(handlers):
    with pytest.raises(gr.Error, match="nothing to export"):
        handlers.export_conversation(ChatSession())
    _, session, _ = run_chat(handlers, "What is the total budget of the plan? <b>now</b>")[-1]
    path = Path(handlers.export_conversation(session))
    text = path.read_text(encoding="utf-8")
    assert path.suffix == ".md" and path.is_relative_to(handlers.exports_dir)
    assert "412.8" in text and "page 9" in text and "&lt;b&gt;now" in text and "<b>" not in text
    messages, fresh, box, _ = handlers.new_conversation()
    assert messages == [] and fresh.turns == [] and box == ""


# -- feedback ------------------------------------------------------------------------------------


def test_rating_and_comment_are_stored_and_exported(handlers, ui_service):
    _, session, _ = run_chat(handlers, "What is the total budget of the plan?")[-1]
    before = len(ui_service.feedback.all())
    with pytest.raises(gr.Error, match="rate an answer first"):
        handlers.comment("useful", session)
    session, note = handlers.rate(session, like(1, True))
    assert "helpful" in note
    session, note, box = handlers.comment("Exactly the figure I needed", session)
    assert box == ""
    session, _ = handlers.rate(session, like(1, False))  # changed their mind: one row, now down
    rows = ui_service.feedback.all()
    assert len(rows) == before + 1
    assert rows[-1]["rating"] == "down" and rows[-1]["comment"] == "Exactly the figure I needed"
    session, _ = handlers.rate(session, like(1, True))
    case = next(
        c for c in ui_service.feedback.export_cases() if c["id"] == f"fb-{rows[-1]['id']:04d}"
    )
    assert case["kind"] == "feedback" and case["answerable"] is True and case["facts"] == []
    assert {"source": "astravia-egov-master-plan-2025-2027.pdf", "page": 9}.items() <= case["gold"][
        0
    ].items()
    assert case["note"] == "Exactly the figure I needed"


@pytest.mark.parametrize(
    "index",
    [0, 2, 99, -1, "1", [5, 0]],
    ids=["user-msg", "no-turn", "far", "negative", "str", "list"],
)
def test_rating_refuses_messages_that_are_not_answers_of_this_session(handlers, index):
    _, session, _ = run_chat(handlers, "What is the total budget of the plan?")[-1]
    with pytest.raises(gr.Error, match="not an answer"):
        handlers.rate(session, like(index))


def test_feedback_store_validates_and_exports(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    cites = [
        {"source": "/srv/data/uploads/ab/plan.pdf", "page": 3, "section": "2 Vision"},
        {"source": "/srv/data/uploads/ab/plan.pdf", "page": 3, "section": "2 Vision"},
    ]
    history = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "reply"}]
    up = store.record(
        "What is the vision?", "A vision. [1]", "up", " clear ", json.dumps(cites), history
    )
    store.record("What is missing?", "Nothing. [1]", "down", "wrong", cites, [])
    for bad in [
        dict(rating="meh"),
        dict(question=""),
        dict(comment="x" * 2001),
        dict(citations="{not json"),
        dict(citations='{"a": 1}'),
    ]:
        args = {
            "question": "q",
            "answer_text": "a",
            "rating": "up",
            "comment": "",
            "citations": "[]",
            "history": "[]",
        } | bad
        with pytest.raises(FeedbackError):
            store.record(**args)
    with pytest.raises(FeedbackError, match="no rating"):
        store.set_comment(999, "x")
    cases = store.export_cases()
    assert cases[0] == {
        "id": f"fb-{up:04d}",
        "kind": "feedback",
        "question": "What is the vision?",
        "history": history,
        "gold": [{"source": "plan.pdf", "page": 3, "section": "2 Vision"}],
        "facts": [],
        "answerable": True,
        "note": "clear",
        "rating": "up",
        "answer": "A vision. [1]",
    }
    assert cases[1]["gold"] == [] and cases[1]["note"] == "wrong"
    store.close()
    assert len(FeedbackStore(tmp_path / "fb.sqlite3").all()) == 2  # persisted


# -- documents -----------------------------------------------------------------------------------


def test_library_lists_documents_and_fills_every_dropdown(handlers):
    rows, doc_filter, manage, plans = handlers.library()
    assert len(rows) >= 4 and all(r[4] == "ready" for r in rows[:4])
    titles = [r[0] for r in rows]
    assert any("Astravia" in t for t in titles)
    assert "(Master plan)" in plans.choices[0][0]
    assert len(manage.choices) >= len(doc_filter.choices) >= 4


def test_ingest_moves_the_upload_out_of_the_cache_and_reports_the_document(
    handlers, ui_service, tmp_path
):
    pdf = write_pdf(
        tmp_path / "plan.pdf",
        [
            "1 Vision\nThe zanzibar registry will be digital by 2027.",
            "2 Budget\nThe registry costs 3.5 million.",
        ],
    )
    upload = fake_upload(pdf, "evil <script>.pdf")
    shown = []
    report, note, cleared = handlers.ingest(
        upload, "master_plan", progress=lambda value, desc=None: shown.append(desc)
    )
    assert shown[0] == "reading the file" and any("passages indexed" in d for d in shown)
    assert cleared is None and not Path(upload).exists()
    assert report["documents"]["added"] == 1 and report["document"]["status"] == "ready"
    assert report["document"]["pages"] == 2 and "ready" in note and "<script>" not in note
    moved = list((ui_service.settings.data_dir / "uploads").rglob("*.pdf"))
    assert any(p.read_bytes() == pdf.read_bytes() for p in moved)
    assert all(p.parent.parent == ui_service.settings.data_dir / "uploads" for p in moved)
    again, note, _ = handlers.ingest(fake_upload(pdf), "auto")
    assert again["documents"]["unchanged"] == 1 and "already in the library" in note
    doc_id = report["document"]["doc_id"]
    assert "lessons learned" in handlers.set_type(doc_id, "lessons_learned")
    assert ui_service.document(doc_id).doc_type == "lessons_learned"
    with pytest.raises(gr.Error, match="confirm removal"):
        handlers.remove(doc_id, False)
    message, confirm = handlers.remove(doc_id, True)
    assert "Removed" in message and confirm is False
    assert doc_id not in {r.doc_id for r in ui_service.status()}


def test_a_restructured_text_and_a_web_page_upload_are_read_as_their_text(
    handlers, ui_service, tmp_path
):
    rst = tmp_path / "plan.rst"
    rst.write_text(
        "Regional Hosting Plan\n=====================\n\nEvery region moves to the *shared*\n"
        "`hosting cloud <https://example.org>`__ by 2027 [3]_.\n",
        encoding="utf-8",
    )
    page = tmp_path / "notice.html"
    page.write_text(
        "<html><body><nav>Home | Search</nav><main><h1>Hosting notice</h1><table>"
        "<tr><th>Lot</th><th>Region</th></tr><tr><td>Lot 1</td><td>North</td></tr></table>"
        "</main></body></html>",
        encoding="utf-8",
    )
    for path, title, text in [
        (rst, "Regional Hosting Plan", "Every region moves to the shared\nhosting cloud by 2027."),
        (page, "Hosting notice", "| Lot | Region |\n| Lot 1 | North |"),
    ]:
        report, note, _ = handlers.ingest(fake_upload(path), "auto")
        assert report["document"]["status"] == "ready", note
        doc_id = report["document"]["doc_id"]
        assert ui_service.document(doc_id).title == title
        assert text in ui_service.manifest.page_text(doc_id, 1)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: None, "choose a file"),
        (lambda tmp: str(CORPUS.parent / "README.md"), "upload was not found"),
        (lambda tmp: "/etc/passwd", "upload was not found"),
        (lambda tmp: {"path": "/etc/passwd"}, "upload was not found"),
        (
            lambda tmp: fake_upload(write_pdf(tmp / "x.pdf", ["text"]), "image.png"),
            "not a supported type",
        ),
    ],
    ids=["none", "repo-file", "etc-passwd", "filedata-dict", "png"],
)
def test_ingest_refuses_what_is_not_an_upload(handlers, tmp_path, make, expected):
    value = make(tmp_path)
    with pytest.raises(gr.Error, match=expected):
        handlers.ingest(value, "auto")
    if isinstance(value, str) and "gradio" in value:
        assert not Path(value).exists()  # refused uploads are cleaned from the cache


def test_ingest_refuses_unknown_type_and_oversize(handlers, embedder, tmp_path):
    from assistant.core.settings import Settings
    from assistant.service import build_service

    pdf = write_pdf(tmp_path / "plan.pdf", ["Some text for a plan."])
    with pytest.raises(gr.Error, match="unknown document type"):
        handlers.ingest(fake_upload(pdf), "budget")
    small = build_service(
        Settings(data_dir=tmp_path / "small", max_file_mb=0.0001), embeddings=embedder
    )
    try:
        upload = fake_upload(pdf)
        small_handlers = Handlers(small, tmp_path / "exp")
        with pytest.raises(gr.Error, match="too large"):
            small_handlers.ingest(upload, "auto")
        small_handlers.close()
        assert not Path(upload).exists()
    finally:
        small.close()


@pytest.mark.parametrize(
    ("document", "doc_type", "expected"),
    [
        ("", "review", "choose a document"),
        ("nothing-like-this", "review", "no document"),
        (None, "review", "choose a document"),
        ("CORPUS", "budget", "choose a document type"),
        (["x"], "review", "must be text"),
    ],
    ids=["empty", "unknown", "none", "bad-type", "list"],
)
def test_set_type_validates(handlers, ui_service, document, doc_type, expected):
    if document == "CORPUS":
        document = ui_service.status()[0].doc_id
    with pytest.raises(gr.Error, match=expected):
        handlers.set_type(document, doc_type)


def test_about_names_backend_model_size_and_version(handlers):
    text = handlers.about()
    assert "extractive" in text and "all-MiniLM-L6-v2" in text and "0.1.0" in text
    assert "Store size on disk" in text and ("MB" in text or "KB" in text)


# -- critique ------------------------------------------------------------------------------------


def test_critique_returns_ratings_findings_and_both_files(handlers, ui_service):
    pytest.importorskip("assistant.critique.export")
    plan = next(r.doc_id for r in ui_service.status() if "astravia" in r.source)
    data, docx, md, rows, findings = handlers.critique(plan, "eight-causes")
    assert data["plan"]["source"] == "astravia-egov-master-plan-2025-2027.pdf"
    assert len(rows) == 8 and rows[0][0].startswith("F1")
    assert "<details><summary>" in findings and "page" in findings
    docx_path, md_path = Path(docx), Path(md)
    assert docx_path.read_bytes()[:2] == b"PK" and docx_path.is_relative_to(handlers.exports_dir)
    assert "F1" in md_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("document", "framework", "expected"),
    [
        ("", "eight-causes", "choose a document"),
        ("0" * 64, "eight-causes", "no document"),
        ("PLAN", "../../etc/passwd", "unknown framework"),
        ("PLAN", {"x": 1}, "must be text"),
    ],
    ids=["no-doc", "unknown-doc", "traversal-framework", "dict-framework"],
)
def test_critique_validates(handlers, ui_service, document, framework, expected):
    pytest.importorskip("assistant.critique.export")
    if document == "PLAN":
        document = ui_service.status()[0].doc_id
    with pytest.raises(gr.Error, match=expected):
        handlers.critique(document, framework)
