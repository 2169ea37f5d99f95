"""The web surface refuses what it should: file-route reads, oversize uploads, forged files, XSS.

RELIABILITY.md section C (cases 14-17) and case 19, against a live server on loopback, with raw
HTTP requests (paths sent byte for byte, no client normalisation) and a real Chromium for the
rendering check.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from assistant.core.models import Answer, Citation
from assistant.web.format import Turn, answer_markdown, conversation_markdown
from assistant.web.server import auth_from
from tests.conftest import ROOT, write_pdf
from tests.test_ui_handlers import live_ui, ui_service  # noqa: F401  (shared session fixtures)

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
EVIL_MD = (
    "See ![pixel](http://203.0.113.9/p.png) and [click](javascript:window.__xss=3) "
    '<a href="http://203.0.113.9/">here</a> [ref]: http://203.0.113.9/q.png ![r][ref] <http://203.0.113.9/>'
)


def _get(base: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    conn.request(method, path)  # sent verbatim: no dot-segment removal, no re-encoding
    resp = conn.getresponse()
    return resp.status, resp.read()


def _upload(base: str, name: str, data: bytes) -> tuple[int, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    conn.request(
        "POST",
        "/gradio_api/upload",
        body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    resp = conn.getresponse()
    return resp.status, resp.read()


@pytest.fixture(scope="module")
def secrets(ui_service):  # noqa: F811
    """Files that exist and must never be served: a .env in the data dir and in the repo's place."""
    env = ui_service.settings.data_dir / ".env"
    env.write_text("BRIEFING_UI_PASSWORD=hunter2\n", encoding="utf-8")
    return {
        "env": env,
        "manifest": ui_service.settings.manifest_path,
        "chroma": ui_service.settings.chroma_path,
    }


def _traversals(upload_dir: str, secrets: dict[str, Path]) -> list[str]:
    enc = urllib.parse.quote
    return [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/gradio_api/file=%2fetc%2fpasswd",
        "/gradio_api/file=//etc/passwd",
        "/gradio_api/file=file:///etc/passwd",
        f"/gradio_api/file={upload_dir}/../../../../etc/passwd",
        f"/gradio_api/file={enc(upload_dir)}%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/gradio_api/file/etc/passwd",
        "/file=/etc/passwd",
        f"/gradio_api/file={secrets['env']}",
        f"/gradio_api/file={secrets['manifest']}",
        f"/gradio_api/file={secrets['chroma']}/chroma.sqlite3",
        f"/gradio_api/file={ROOT / 'pyproject.toml'}",
        f"/gradio_api/file={ROOT / '.env'}",
        "/gradio_api/file=http://127.0.0.1:1/",
        "/gradio_api/file=http://169.254.169.254/latest/meta-data/",
    ]


@pytest.mark.slow
def test_file_routes_refuse_everything_the_app_did_not_create(live_ui, secrets):  # noqa: F811
    status, body = _upload(live_ui, "note.txt", b"an intended file")
    assert status == 200
    served = json.loads(body)[0]
    ok_status, ok_body = _get(live_ui, "/gradio_api/file=" + served)
    # the route works for what the app made
    assert (ok_status, ok_body) == (200, b"an intended file")
    upload_dir = str(Path(served).parent.parent)
    for path in _traversals(upload_dir, secrets):
        status, body = _get(live_ui, path)
        assert status in (400, 403, 404, 405), f"{path} -> {status}"
        assert b"root:" not in body and b"hunter2" not in body and b"SQLite format" not in body, (
            path
        )


@pytest.mark.slow
def test_an_ingested_upload_is_gone_from_the_cache(live_ui, ui_service, tmp_path):  # noqa: F811
    from gradio_client import Client

    pdf = write_pdf(
        tmp_path / "private-plan.pdf", ["1 Scope\nThe okapi ledger is private to one ministry."]
    )
    status, body = _upload(live_ui, "private-plan.pdf", pdf.read_bytes())
    served = json.loads(body)[0]
    client = Client(live_ui, verbose=False)
    report, _, _ = client.predict(
        {"path": served, "meta": {"_type": "gradio.FileData"}}, "auto", api_name="/ingest"
    )
    assert report["document"]["status"] == "ready"
    # another user cannot fetch it
    assert _get(live_ui, "/gradio_api/file=" + served)[0] in (403, 404)
    stored = next((ui_service.settings.data_dir / "uploads").rglob("private-plan.pdf"))
    assert _get(live_ui, f"/gradio_api/file={stored}")[0] == 403
    ui_service.remove(report["document"]["doc_id"])


@pytest.mark.slow
def test_oversize_upload_is_refused_by_the_upload_route_and_the_api(live_ui, ui_service, tmp_path):  # noqa: F811
    from gradio_client import Client, handle_file

    limit = int(ui_service.settings.max_file_mb * 1024 * 1024)
    big = tmp_path / "big.pdf"
    with big.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(limit + 1)  # one byte over
    status, body = _upload(live_ui, "big.pdf", big.read_bytes())
    assert status == 413, body[:200]
    before = {r.doc_id for r in ui_service.status()}
    with pytest.raises(Exception, match="(?i)too large|413|exceeds"):
        Client(live_ui, verbose=False).predict(handle_file(str(big)), "auto", api_name="/ingest")
    assert {r.doc_id for r in ui_service.status()} == before


def _call(base: str, api_name: str, data: list) -> tuple[str, str]:
    """Call an endpoint with raw JSON (no client-side upload of local files): (event, payload)."""
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    conn.request(
        "POST",
        f"/gradio_api/call/{api_name}",
        json.dumps({"data": data}),
        {"Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    event_id = json.loads(resp.read())["event_id"]
    conn.request("GET", f"/gradio_api/call/{api_name}/{event_id}")
    lines = conn.getresponse().read().decode().splitlines()
    events = [line.split(":", 1)[1].strip() for line in lines if line.startswith("event:")]
    payloads = [line.split(":", 1)[1].strip() for line in lines if line.startswith("data:")]
    return events[-1], payloads[-1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "path_of", ["/etc/passwd", "manifest", "repo-md"], ids=["etc-passwd", "store", "repo-markdown"]
)
def test_a_forged_file_path_in_an_api_call_is_refused(live_ui, ui_service, secrets, path_of):  # noqa: F811
    path = {"manifest": str(secrets["manifest"]), "repo-md": str(ROOT / "README.md")}.get(
        path_of, path_of
    )
    before = {r.doc_id for r in ui_service.status()}
    event, payload = _call(
        live_ui, "ingest", [{"path": path, "meta": {"_type": "gradio.FileData"}}, "auto"]
    )
    assert event == "error", payload
    assert {r.doc_id for r in ui_service.status()} == before
    assert Path(path).exists()  # nothing was moved away either


@pytest.mark.slow
def test_the_raw_api_path_accepts_a_real_upload(live_ui, ui_service, tmp_path):  # noqa: F811
    """The check above can fail: the same raw call with a path the upload route returned works."""
    pdf = write_pdf(tmp_path / "raw.pdf", ["1 Scope\nThe narwhal portal serves 12 municipalities."])
    served = json.loads(_upload(live_ui, "raw.pdf", pdf.read_bytes())[1])[0]
    event, payload = _call(
        live_ui, "ingest", [{"path": served, "meta": {"_type": "gradio.FileData"}}, "auto", "ask"]
    )
    assert event == "complete", payload
    report = json.loads(payload)[0]
    assert report["document"]["status"] == "ready"
    ui_service.remove(report["document"]["doc_id"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs


def _rendered(markdown: str) -> _Tags:
    """Render as a Markdown viewer would (raw HTML allowed through) and collect tags and attributes."""
    parser = _Tags()
    parser.feed(MarkdownIt("commonmark", {"html": True}).render(markdown))
    return parser


def _answer(text: str, quote: str = "q", title: str = "T") -> Answer:
    cite = Citation(
        n=1,
        doc_id="d" * 64,
        title=title,
        source="/srv/data/uploads/x/plan.pdf",
        page=2,
        section="A > B",
        quote=quote,
        score=0.5,
    )
    return Answer(
        question="q",
        standalone_question="q",
        text=text,
        answered=True,
        citations=[cite],
        backend="extractive",
    )


@pytest.mark.parametrize(
    "answer",
    [
        _answer(XSS),
        _answer(EVIL_MD),
        _answer("ok [1]", quote=XSS),
        _answer("ok", title=XSS + EVIL_MD),
    ],
    ids=["text-html", "text-markdown", "quote", "title"],
)
def test_answer_markdown_renders_inert(answer):
    markdown = answer_markdown(answer)
    page = _rendered(markdown)
    assert page.tags <= {
        "p",
        "details",
        "summary",
        "blockquote",
        "small",
        "strong",
        "em",
        "code",
        "br",
    }, page.tags
    assert page.attrs == []  # no src, href, onerror, style: nothing that loads or runs
    assert "/srv/data" not in markdown  # the file's name only, never a server path
    assert "<details><summary>[1]" in markdown


def test_conversation_export_escapes_document_text():
    turn = Turn(
        question=XSS,
        answer_text=EVIL_MD,
        answer_md="",
        citations=[
            Citation(
                n=1,
                doc_id="d",
                title=XSS,
                source="/srv/data/uploads/ab/plan.pdf",
                page=1,
                section="",
                quote=EVIL_MD,
                score=0.5,
            )
        ],
    )
    exported = conversation_markdown([turn])
    # the file's name, never a server path
    assert "/srv/" not in exported and "(plan.pdf)" in exported
    page = _rendered(exported)
    assert not page.tags & {"img", "script", "a", "iframe"} and page.attrs == []


def test_basic_auth_comes_from_settings_only(monkeypatch, tmp_path):
    """The page reads ui_user/ui_password from Settings (which reads BRIEFING_UI_*), nothing else."""
    from pydantic import SecretStr

    from assistant.core.errors import ConfigError
    from assistant.core.settings import Settings

    monkeypatch.chdir(tmp_path)  # no .env of the repository
    monkeypatch.delenv("BRIEFING_UI_USER", raising=False)
    monkeypatch.delenv("BRIEFING_UI_PASSWORD", raising=False)
    assert auth_from(Settings()) is None
    monkeypatch.setenv("BRIEFING_UI_USER", "team")
    with pytest.raises(ConfigError, match="both"):
        auth_from(Settings())
    monkeypatch.setenv("BRIEFING_UI_PASSWORD", "s3cret")
    settings = Settings()
    assert auth_from(settings) == [("team", "s3cret")]
    # Read once, through Settings: changing the environment afterwards changes nothing.
    monkeypatch.setenv("BRIEFING_UI_PASSWORD", "other")
    assert auth_from(settings) == [("team", "s3cret")]
    monkeypatch.delenv("BRIEFING_UI_USER")
    monkeypatch.delenv("BRIEFING_UI_PASSWORD")
    fields = Settings(ui_user="office", ui_password=SecretStr("pa55"))
    assert auth_from(fields) == [("office", "pa55")]
    with pytest.raises(ConfigError, match="both"):
        auth_from(Settings(ui_password=SecretStr("pa55")))


@pytest.mark.slow
def test_with_auth_the_api_and_file_routes_need_a_login(ui_service, monkeypatch):  # noqa: F811
    from assistant.web.layout import build_ui
    from assistant.web.server import launch_options
    from tests.test_ui_handlers import free_port

    port = free_port()
    demo = build_ui(ui_service)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        auth=[("team", "s3cret")],
        **launch_options(ui_service.settings),
    )
    try:
        base = f"http://127.0.0.1:{port}/"
        assert _get(base, "/gradio_api/info")[0] == 401
        assert _get(base, "/config")[0] == 401
        status, _ = _upload(base, "x.txt", b"data")
        assert status == 401
    finally:
        demo.close()


@pytest.mark.slow
def test_an_answer_quoting_html_renders_inert_in_a_real_browser(live_ui, ui_service, tmp_path):  # noqa: F811
    from tests.test_ui_browser import browser_page

    doc = tmp_path / "portal-notes.md"
    doc.write_text(
        "---\ntitle: Portal incident notes\ndoc_type: other\n---\n# Portal incident notes\n\n## Banner incident\n\n"
        f"The citizen portal banner text was changed to {XSS} by a faulty content import in March.\n"
        f"The zephyr banner incident was fixed within two hours. {EVIL_MD}\n",
        encoding="utf-8",
    )
    report = ui_service.ingest([doc])
    assert not report.failed
    doc_id = ui_service.document(str(doc)).doc_id
    try:
        with browser_page(live_ui) as (page, external):
            page.fill("#question textarea", "What was the zephyr banner text changed to?")
            page.click("#ask")
            page.wait_for_selector("#chatbot details", timeout=60_000)
            page.locator("#chatbot details summary").first.click()
            chat = page.locator("#chatbot")
            assert "<img src=x" in chat.inner_text()  # the markup is shown as text
            assert (
                chat.locator(
                    "img[src='x'], script, a[href^='javascript'], img[src^='http']"
                ).count()
                == 0
            )
            assert page.evaluate("window.__xss === undefined")
            assert external == []
    finally:
        ui_service.remove(doc_id)
