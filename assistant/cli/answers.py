"""``briefing ask`` and ``briefing chat``: grounded answers in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.console import render_answer
from assistant.core.errors import BriefingError
from assistant.core.settings import Settings


def _filters(args: argparse.Namespace, service: Any) -> Any:
    from assistant.core.models import Filters

    documents = [service.ingestor.find(ref).doc_id for ref in args.document]
    return Filters(documents=documents, doc_types=args.doc_type)


def _answer_service(args: argparse.Namespace, settings: Settings) -> Any:
    from assistant.service import build_service

    if args.backend:
        settings = settings.model_copy(update={"answer_backend": args.backend})
    service = build_service(settings)
    if not service.manifest.ready_ids():
        service.close()
        raise BriefingError(
            f"no documents are ready in {settings.data_dir}; run: briefing ingest corpus/documents"
        )
    return service


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    service = _answer_service(args, settings)
    try:
        answer = service.ask(args.question, filters=_filters(args, service))
    finally:
        service.close()
    print(answer.model_dump_json(indent=2) if args.json else render_answer(answer))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.models import Message

    service = _answer_service(args, settings)
    filters = _filters(args, service)
    history: list[Message] = []
    print("Ask about the documents. An empty line or Ctrl-D ends; /new starts a new conversation.")
    try:
        while True:
            try:
                question = input("\n> ").strip()
            except EOFError:
                break
            if not question:
                break
            if question == "/new":
                history = []
                continue
            try:
                answer = service.ask(question, history, filters)
            except BriefingError as exc:
                print(f"briefing: {exc}")
                continue
            if answer.standalone_question != answer.question:
                print(f"(searched for: {answer.standalone_question})")
            print(render_answer(answer))
            history += [
                Message(role="user", content=question),
                Message(role="assistant", content=answer.text),
            ]
    finally:
        service.close()
    return 0
