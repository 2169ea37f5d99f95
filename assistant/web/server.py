"""Serving the page: ``serve(settings, host, port)`` runs it on one writer service until stopped.

The server uses a private Gradio cache (uploads and downloads live nowhere shared, and are
deleted on exit), optional basic auth from ``Settings.ui_user``/``ui_password``, and stops
cleanly on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import socketserver
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.errors import BriefingError, ConfigError
from assistant.core.storage import is_writable
from assistant.web.layout import CSS, build_ui, theme

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.service import BriefingService

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ROOT = Path(__file__).resolve().parents[2]
MAX_REQUEST_BYTES = 1024 * 1024
log = logging.getLogger(__name__)


def auth_from(settings: Settings) -> list[tuple[str, str]] | None:
    """Basic auth for a single-team deployment from ``ui_user`` and ``ui_password``.

    Raises:
        ConfigError: when only one of the two is set.
    """
    user = settings.ui_user or ""
    password = settings.ui_password.get_secret_value() if settings.ui_password else ""
    if bool(user) != bool(password):
        raise ConfigError("set both BRIEFING_UI_USER and BRIEFING_UI_PASSWORD, or neither")
    return [(user, password)] if user else None


def launch_options(settings: Settings) -> dict[str, Any]:
    """The safety-relevant ``launch()`` arguments, shared by ``serve`` and the tests."""
    return {
        "share": False,
        "max_file_size": int(settings.max_file_mb * 1024 * 1024),
        "allowed_paths": [],
        "blocked_paths": [
            str(settings.data_dir.resolve()),
            str(ROOT / ".env"),
            str(Path.cwd() / ".env"),
        ],
        "show_error": False,
        "ssr_mode": False,
        "mcp_server": False,
        "pwa": False,
        "enable_monitoring": False,
        "theme": theme(),
        "css": CSS,
        "footer_links": ["api"],
    }


def ensure_library(service: BriefingService) -> None:
    """An empty store gets the sample corpus, so a new user has something to ask about."""
    if service.status() or not is_writable(service.settings.data_dir):
        return
    corpus = ROOT / "corpus" / "documents"
    if corpus.is_dir():
        print(f"The library is empty: ingesting {corpus} (about a minute)…", flush=True)
        service.ingest([corpus])


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd, docker stop) ends the server like Ctrl-C, so the cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _AskServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    service: BriefingService


class _AskHandler(socketserver.StreamRequestHandler):
    """One question in, one answer out, as JSON lines (the client is ``assistant.cli.remote``)."""

    server: _AskServer

    def handle(self) -> None:
        if not _same_user(self.request):
            return
        service = self.server.service
        try:
            request = json.loads(self.rfile.readline(MAX_REQUEST_BYTES))
            from assistant.core.models import Filters

            service.require_ready()
            filters = Filters(
                documents=[_doc_id(service, d["ref"], d["path"]) for d in request["documents"]],
                doc_types=request.get("doc_types", []),
            )
            answer = service.ask(str(request["question"]), filters=filters)
            reply: dict[str, Any] = {"answer": answer.model_dump(mode="json")}
        except BriefingError as exc:
            reply = {"error": str(exc)}
        except Exception as exc:  # the client answers it in its own process instead
            log.exception("a question over the socket failed")
            reply = {"fallback": f"the running server could not answer ({type(exc).__name__})"}
        with contextlib.suppress(OSError):  # the client went away
            self.wfile.write(json.dumps(reply).encode("utf-8") + b"\n")


def _doc_id(service: BriefingService, ref: str, path: str) -> str:
    """A document named by the asking process: its path as resolved there, else the ref."""
    sources = [row.doc_id for row in service.status() if row.source == path]
    return sources[0] if len(sources) == 1 else service.document(ref).doc_id


def _same_user(conn: socket.socket) -> bool:
    """True when the peer runs as this user (the socket's 0600 mode is the first guard)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, 12))
    return uid == os.getuid()


class AskSocket:
    """``briefing ask`` answered by this process's warm service over a socket in the data dir.

    The socket is made owner-only (0600). A socket file left by a server that died is replaced;
    one a live server answers on is left alone (this one then serves the page only).
    """

    def __init__(self, service: BriefingService, path: Path) -> None:
        self.service = service
        self.path = path
        self._server: _AskServer | None = None
        self._inode = 0

    def start(self) -> bool:
        """Listen in a background thread; False (with a warning) when it cannot."""
        try:
            if self.path.is_socket():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.settimeout(1.0)
                    if probe.connect_ex(str(self.path)) == 0:
                        log.warning("another server answers on %s; not listening there", self.path)
                        return False
                self.path.unlink()  # stale: its server is gone
            elif self.path.exists() or self.path.is_symlink():
                log.warning("%s exists and is not a socket; not listening there", self.path)
                return False
            mask = os.umask(0o177)  # created owner-only, never briefly open to others
            try:
                server = _AskServer(str(self.path), _AskHandler, bind_and_activate=True)
            finally:
                os.umask(mask)
            os.chmod(self.path, 0o600)
        except OSError as exc:  # a read-only data dir, or a path too long for a socket
            log.warning(
                "cannot listen on %s (%s); briefing ask will answer locally", self.path, exc
            )
            return False
        server.service = self.service
        self._server, self._inode = server, self.path.stat().st_ino
        threading.Thread(
            target=server.serve_forever, name="briefing-ask-socket", daemon=True
        ).start()
        return True

    def close(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:  # ours, not a later server's
                self.path.unlink()
        self._server = None


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Run the web page until interrupted, on one writer service and a private Gradio cache.

    Raises:
        ConfigError: when the basic-auth settings are incomplete.
    """
    from assistant.service import build_service

    auth = auth_from(settings)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    cache = Path(tempfile.mkdtemp(prefix="briefing-gradio-"))
    os.environ["GRADIO_TEMP_DIR"] = str(cache)  # uploads and downloads live here, nowhere shared
    service = demo = asker = None
    try:
        service = build_service(settings, writer=True)
        service.warm_up()  # the model loads once, here, while the store opens
        service.store  # noqa: B018 - fail at start on a missing or mismatched embedding model
        ensure_library(service)
        if settings.serve_socket:
            asker = AskSocket(service, settings.data_dir / settings.serve_socket)
            asker.start()
        demo = build_ui(service)
        if auth is None and host not in LOOPBACK:
            print(
                "warning: serving beyond this machine without a password; "
                "put it behind the SSO proxy",
                flush=True,
            )
        with _sigterm_as_interrupt():
            demo.launch(server_name=host, server_port=port, auth=auth, **launch_options(settings))
    finally:
        with contextlib.suppress(Exception):
            if demo is not None:
                demo.close()
        if asker is not None:
            asker.close()
        if service is not None:
            service.close()
        shutil.rmtree(cache, ignore_errors=True)
