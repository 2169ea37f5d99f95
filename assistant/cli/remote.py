"""``briefing ask`` through a running ``briefing serve``: one question over a local socket.

``briefing serve`` listens on a Unix socket in the data directory (``Settings.serve_socket``,
owner-only; ``assistant.web.server``). When the socket is there and a server answers on it,
``ask`` hands it the question and prints the answer it returns, skipping its own model load
and store open. A socket nobody listens on (a server killed with -9) or a server that stops
mid-answer means the question is answered in this process instead, as if there were no server.

The exchange is one JSON line each way: ``{"question", "documents", "doc_types"}`` in (each
document as given and as a path resolved here, since the server's working directory differs);
``{"answer": Answer}``, ``{"error": message}`` (a ``BriefingError`` there, raised here) or
``{"fallback": reason}`` (answer locally) out.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

from assistant.core.errors import BriefingError
from assistant.core.settings import Settings

CONNECT_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 900.0
MAX_REPLY_BYTES = 64 * 1024 * 1024


def socket_path(settings: Settings) -> Path | None:
    """Where ``briefing serve`` listens for questions; None when the socket is turned off."""
    return settings.data_dir / settings.serve_socket if settings.serve_socket else None


def ask_served(
    settings: Settings,
    question: str,
    documents: list[str] | None = None,
    doc_types: list[str] | None = None,
) -> Any | None:
    """The ``Answer`` of the server running on this data dir, or None when there is none.

    Raises:
        BriefingError: the server's one-line error (an unknown document, nothing ingested).
    """
    path = socket_path(settings)
    if path is None or not path.is_socket():
        return None
    refs = [{"ref": ref, "path": str(Path(ref).resolve())} for ref in documents or []]
    request = {"question": question, "documents": refs, "doc_types": doc_types or []}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(CONNECT_TIMEOUT_S)
            conn.connect(str(path))  # refused: a stale socket file, nobody behind it
            conn.settimeout(ANSWER_TIMEOUT_S)
            conn.sendall(json.dumps(request).encode("utf-8") + b"\n")
            conn.shutdown(socket.SHUT_WR)
            with conn.makefile("rb") as stream:
                line = stream.readline(MAX_REPLY_BYTES)
    except OSError:
        return None
    try:
        reply = json.loads(line)
    except ValueError:  # the server stopped mid-answer
        return None
    if "error" in reply:
        raise BriefingError(str(reply["error"]))
    if "answer" not in reply:
        if reply.get("fallback"):
            print(f"briefing: answering here: {reply['fallback']}", file=sys.stderr)
        return None
    from assistant.core.models import Answer

    return Answer.model_validate(reply["answer"])
