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


def _answer_service(args: argparse.Namespace, settings: Settings, embeddings: Any = None) -> Any:
    from assistant.service import build_service

    if args.backend:
        settings = settings.model_copy(update={"answer_backend": args.backend})
    service = build_service(settings, embeddings)
    try:
        service.require_ready()
        service.warm_up()  # the model loads while the store opens
    except BaseException:
        service.close()
        raise
    return service


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    answer = None
    if not (args.local or args.backend):
        from assistant.cli.remote import ask_served

        answer = ask_served(settings, args.question, args.document, args.doc_type)
    if answer is None:
        from assistant.core.embed_process import start

        # One question: the model loads in a child process, on the other core, while this
        # process imports the rest and opens the store (imports hold the GIL; threads wait).
        embeddings = start(settings)
        try:
            service = _answer_service(args, settings, embeddings)
            try:
                answer = service.ask(args.question, filters=_filters(args, service))
            finally:
                service.close()
        finally:
            embeddings.close()
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
