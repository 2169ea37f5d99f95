"""The ``briefing`` command: one entry point, one subcommand per job.

Errors print one line to stderr and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import BriefingError
from assistant.settings import Settings, load_settings

EXAMPLES = """examples:
  briefing ingest corpus/documents          # load a folder (types from folder names)
  briefing ingest plan.pdf --type master_plan --json
  briefing status
  briefing ask "What is the total budget of the plan?" --doc-type master_plan
  briefing chat
  briefing critique a09c029f --format docx -o review.docx
  briefing eval --config all -o eval-report
  briefing serve --port 7860
  briefing remove 3f2a9c1b                  # by doc_id prefix or path
  briefing bench ingest                     # writes BENCHMARKS.md
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefing",
        description="Offline assistant for national e-government strategy documents.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML settings file (else BRIEFING_CONFIG)")
    parser.add_argument("--data-dir", type=Path, help="overrides BRIEFING_DATA_DIR")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="load documents into the store")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--type", dest="doc_type", help="master_plan | review | lessons_learned | other")
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    p.add_argument("--strict", action="store_true", help="exit non-zero if any file is skipped")
    p.add_argument("--retry-failed", action="store_true", help="parse files that failed before again")
    p.add_argument("--json", action="store_true", help="print one JSON report")

    p = sub.add_parser("remove", help="delete documents (chunks and manifest rows)")
    p.add_argument("refs", nargs="+", metavar="DOC", help="doc_id, a unique prefix of it, or the path")

    p = sub.add_parser("status", help="list documents and their state")
    p.add_argument("--json", action="store_true")

    for name, help_text in (("ask", "answer one question with citations"), ("chat", "a conversation in the terminal")):
        p = sub.add_parser(name, help=help_text)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print the Answer as JSON")
        p.add_argument("--doc-type", action="append", default=[], choices=["master_plan", "review", "lessons_learned", "other"])
        p.add_argument("--document", action="append", default=[], metavar="DOC", help="doc_id, prefix or path (repeatable)")
        p.add_argument("--backend", help="extractive | ollama | openai | llamacpp (overrides BRIEFING_ANSWER_BACKEND)")

    p = sub.add_parser("critique", help="draft a review of a plan against a framework")
    p.add_argument("plan", help="doc_id, prefix or path of an ingested plan, or a file to ingest first")
    p.add_argument("--framework", default="eight-causes", help="a file name under prompts/frameworks/ (no .yaml)")
    p.add_argument("--format", choices=["md", "docx", "json"], default="md")
    p.add_argument("-o", "--output", type=Path, help="write here (required for docx)")

    p = sub.add_parser("eval", help="score answers, retrieval and critiques against the datasets")
    p.add_argument("--dataset", action="append", default=[], type=Path, help="a JSONL file (repeatable)")
    p.add_argument("--config", dest="configs", action="append", default=[], metavar="NAME", help="a configuration to run (repeatable)")
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output", type=Path, default=Path("eval-report"), help="report folder")
    p.add_argument("--thresholds", type=Path, help="floors file (default evals/thresholds.yaml; needed to gate other datasets)")

    p = sub.add_parser("serve", help="serve the web UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)

    p = sub.add_parser("feedback", help="work with the feedback given in the web UI")
    p.add_argument("action", choices=["export"])
    p.add_argument("-o", "--output", type=Path, help="JSONL file of evaluation cases (default: stdout)")

    p = sub.add_parser("bench", help="run a benchmark and write BENCHMARKS.md")
    p.add_argument("target", choices=["ingest", "query", "critique", "ui"])
    p.add_argument("--pages", type=int, default=500, help="pages of the generated large plan")
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median reported)")
    p.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    return parser


class _Progress:
    """Two bars on stderr: files parsed, chunks embedded for the current file."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bars: dict[str, Any] = {}
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self._bars.get(stage)
        if bar is None or bar.total != total or done < bar.n:
            if bar is not None:
                bar.close()
            unit = {"files": "file", "chunks": "chunk"}.get(stage, "step")
            bar = self._bars[stage] = self._tqdm(total=total, desc=stage, unit=unit, leave=stage == "files", file=sys.stderr)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service
    from ingest.text import display_name

    service = build_service(settings, writer=True)
    progress = _Progress()
    try:
        report = service.ingest(
            args.paths, doc_type=args.doc_type, prune=args.prune, retry_failed=args.retry_failed, progress=progress
        )
    finally:
        progress.close()
        service.close()
    data = report.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        docs = data["documents"]
        print(_table(
            [[docs["added"], docs["updated"], docs["unchanged"], docs["removed"], len(docs["failed"]),
              data["pages"], data["chunks_added"], data["chunks_total"], f"{data['seconds']:.1f}"]],
            ["added", "updated", "unchanged", "removed", "failed", "pages", "chunks added", "chunks total", "seconds"],
        ))
        if docs["failed"]:
            print("\nskipped:")
            print(_table([[display_name(f["path"]), f["reason"]] for f in docs["failed"]], ["file", "reason"]))
        if data["notes"]:
            print("\nnotes:")
            print(_table([[display_name(n["path"]), n["note"]] for n in data["notes"]], ["file", "note"]))
    if args.strict and data["documents"]["failed"]:
        print(f"briefing: {len(data['documents']['failed'])} file(s) skipped (--strict)", file=sys.stderr)
        return 3
    return 0


def _cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service

    service = build_service(settings, writer=True)
    try:
        for ref in args.refs:
            row = service.remove(ref)
            print(f"removed {row['doc_id'][:12]}  {row['title'] or row['source']}")
    finally:
        service.close()
    return 0


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service

    service = build_service(settings)
    try:
        rows = service.status()
    finally:
        service.close()
    if args.json:
        keys = ("doc_id", "title", "source", "doc_type", "year", "pages", "chunks", "status", "reason", "notes")
        print(json.dumps({"documents": [{k: r[k] for k in keys} for r in rows]}, ensure_ascii=False))
        return 0
    if not rows:
        print(f"no documents in {settings.data_dir}; try: briefing ingest corpus/documents")
        return 0
    print(_table(
        [[r["doc_id"][:12], r["doc_type"], r["pages"], r["chunks"], r["status"], (r["title"] or "")[:60], r["reason"]]
         for r in rows],
        ["doc_id", "type", "pages", "chunks", "status", "title", "reason"],
    ))
    return 0


def _filters(args: argparse.Namespace, service: Any) -> Any:
    from assistant.models import Filters

    documents = [service.ingestor.find(ref).doc_id for ref in args.document]
    return Filters(documents=documents, doc_types=args.doc_type)


def render_answer(answer: Any) -> str:
    """An answer for the terminal: text, notices, then numbered sources with their passages."""
    lines = [answer.text]
    lines += [f"note: {n}" for n in answer.notices]
    if answer.citations:
        lines.append("")
        lines.append("sources:")
    for c in answer.citations:
        where = f"{c.title}, page {c.page}" + (f", {c.section}" if c.section else "")
        quote = " ".join(c.quote.split())
        lines.append(f"  [{c.n}] {where}")
        lines.append(f"      \"{quote[:300]}{'…' if len(quote) > 300 else ''}\"")
    return "\n".join(lines)


def _answer_service(args: argparse.Namespace, settings: Settings) -> Any:
    from assistant.service import build_service

    if args.backend:
        settings = settings.model_copy(update={"answer_backend": args.backend})
    service = build_service(settings)
    if not service.manifest.ready_ids():
        service.close()
        raise BriefingError(f"no documents are ready in {settings.data_dir}; run: briefing ingest corpus/documents")
    return service


def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    service = _answer_service(args, settings)
    try:
        answer = service.ask(args.question, filters=_filters(args, service))
    finally:
        service.close()
    print(answer.model_dump_json(indent=2) if args.json else render_answer(answer))
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.models import Message

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
            history += [Message(role="user", content=question), Message(role="assistant", content=answer.text)]
    finally:
        service.close()
    return 0


def _cmd_critique(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.export import write_critique
    from assistant.service import build_service

    if args.format == "docx" and not args.output:
        raise BriefingError("--format docx needs -o FILE.docx")
    path = Path(args.plan)
    service = build_service(settings, writer=path.is_file())
    progress = _Progress()
    try:
        if path.is_file():
            report = service.ingest([path], doc_type="master_plan")
            if report.failed:
                raise BriefingError(f"{path} could not be ingested: {report.failed[0]['reason']}")
        critique = service.critique(str(path.resolve()) if path.is_file() else args.plan, args.framework, progress)
    finally:
        progress.close()
        service.close()
    text = write_critique(critique, args.format, args.output)
    if text is not None:
        print(text)
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from evals.runner import cli_eval

    return cli_eval(args, settings)


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.ui import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def _cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service

    service = build_service(settings)
    try:
        lines = service.feedback.export_cases()
    finally:
        service.close()
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(lines)} case(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    import importlib

    module = importlib.import_module(f"evals.bench_{args.target}")
    if args.target == "ingest":
        print(module.run_ingest_benchmark(settings, pages=args.pages, repeat=args.repeat, output=args.output))
    else:
        print(getattr(module, f"run_{args.target}_benchmark")(settings, repeat=args.repeat, output=args.output))
    return 0


COMMANDS = {
    "ingest": _cmd_ingest, "remove": _cmd_remove, "status": _cmd_status,
    "ask": _cmd_ask, "chat": _cmd_chat, "critique": _cmd_critique, "eval": _cmd_eval,
    "serve": _cmd_serve, "feedback": _cmd_feedback, "bench": _cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
        return COMMANDS[args.command](args, settings)
    except BriefingError as exc:
        if args.debug:
            raise
        print(f"briefing: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("briefing: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
