"""Serving the page: ``serve(settings, host, port)`` runs it on one writer service until stopped.

The server uses a private Gradio cache (uploads and downloads live nowhere shared, and are
deleted on exit), optional basic auth from ``Settings.ui_user``/``ui_password``, and stops
cleanly on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.errors import ConfigError
from assistant.core.storage import is_writable
from assistant.web.layout import CSS, build_ui, theme

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.service import BriefingService

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ROOT = Path(__file__).resolve().parents[2]


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
    service = demo = None
    try:
        service = build_service(settings, writer=True)
        service.store  # noqa: B018 - fail at start on a missing or mismatched embedding model
        ensure_library(service)
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
        if service is not None:
            service.close()
        shutil.rmtree(cache, ignore_errors=True)
