"""The ``briefing`` command: one entry point, one subcommand per job.

Errors print one line to stderr and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from assistant.cli.answers import cmd_ask, cmd_chat
from assistant.cli.documents import cmd_ingest, cmd_remove, cmd_repair, cmd_status
from assistant.cli.reviews import add_review_arguments, cmd_critique, cmd_review
from assistant.cli.serving import cmd_feedback, cmd_serve
from assistant.core.errors import BriefingError
from assistant.core.settings import Settings, load_settings
from assistant.core.storage import translate

PLUGIN_GROUP = "briefing.commands"

EXAMPLES = """examples:
  briefing ingest corpus/documents          # load a folder (types from folder names)
  briefing ingest plan.pdf --type master_plan --json
  briefing status                           # documents, and the lexical index's health
  briefing repair                           # rebuild the lexical index from the store
  briefing ask "What is the total budget of the plan?" --doc-type master_plan
  briefing chat
  briefing critique a09c029f --format docx -o review.docx
  briefing review decide 20261201-3f2a9c1b F3 --reject --note "covered in annex B"
  briefing critique NEW_PLAN --compare-to 20261201-3f2a9c1b --format md
  briefing eval --config all -o eval-report
  briefing serve --port 7860
  briefing remove 3f2a9c1b                  # by doc_id prefix or path
  briefing bench ingest                     # writes BENCHMARKS.md
"""


class Command(Protocol):
    """A subcommand another package registers in the ``briefing.commands`` entry-point group."""

    name: str
    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, settings: Settings) -> int: ...


@functools.cache
def plugin_commands() -> dict[str, Command]:
    """Subcommands registered by other packages (``evals`` registers ``eval`` and ``bench``)."""
    found: dict[str, Command] = {}
    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        command = entry.load()
        found[command.name] = command
    return found


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
    p.add_argument(
        "--retry-failed", action="store_true", help="parse files that failed before again"
    )
    p.add_argument("--json", action="store_true", help="print one JSON report")

    p = sub.add_parser("remove", help="delete documents (chunks and manifest rows)")
    p.add_argument(
        "refs", nargs="+", metavar="DOC", help="doc_id, a unique prefix of it, or the path"
    )

    sub.add_parser("repair", help="rebuild the lexical index from the store")

    p = sub.add_parser("status", help="list documents and their state")
    p.add_argument("--json", action="store_true")

    for name, help_text in (
        ("ask", "answer one question with citations"),
        ("chat", "a conversation in the terminal"),
    ):
        p = sub.add_parser(name, help=help_text)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print the Answer as JSON")
            p.add_argument(
                "--local",
                action="store_true",
                help="answer in this process, even when `briefing serve` runs on the data dir "
                "(else it answers, over the socket in the data dir; --backend implies --local)",
            )
        p.add_argument(
            "--doc-type",
            action="append",
            default=[],
            choices=["master_plan", "review", "lessons_learned", "other"],
        )
        p.add_argument(
            "--document",
            action="append",
            default=[],
            metavar="DOC",
            help="doc_id, prefix or path (repeatable)",
        )
        p.add_argument(
            "--backend",
            help="extractive | ollama | openai | llamacpp (overrides BRIEFING_ANSWER_BACKEND)",
        )

    p = sub.add_parser("critique", help="draft a review of a plan against a framework")
    p.add_argument(
        "plan", help="doc_id, prefix or path of an ingested plan, or a file to ingest first"
    )
    p.add_argument(
        "--framework",
        default="eight-causes",
        help="a file name under prompts/frameworks/ (no .yaml)",
    )
    p.add_argument("--format", choices=["md", "docx", "json"], default="md")
    p.add_argument("-o", "--output", type=Path, help="write here (required for docx)")
    p.add_argument(
        "--compare-to",
        metavar="OLD",
        help="a follow-up: compare with an earlier edition (doc_id, path) or a saved critique_id",
    )

    add_review_arguments(sub.add_parser("review", help="decide on saved critique drafts"))

    p = sub.add_parser("serve", help="serve the web UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)

    p = sub.add_parser("feedback", help="work with the feedback given in the web UI")
    p.add_argument("action", choices=["export"])
    p.add_argument(
        "-o", "--output", type=Path, help="JSONL file of evaluation cases (default: stdout)"
    )

    for command in plugin_commands().values():
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    return parser


COMMANDS = {
    "ingest": cmd_ingest,
    "remove": cmd_remove,
    "status": cmd_status,
    "repair": cmd_repair,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "critique": cmd_critique,
    "review": cmd_review,
    "serve": cmd_serve,
    "feedback": cmd_feedback,
}


def invalid_text(args: argparse.Namespace) -> str | None:
    """The first text argument that is not valid Unicode (a lone surrogate, e.g. from bytes
    that are not UTF-8), described in one line; None when all are valid. Paths are exempt: a
    file name may legitimately hold bytes that are not UTF-8."""
    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                what = name.replace("_", " ")
                return (
                    f"the {what} is not valid text (invalid UTF-8 or a lone surrogate at "
                    f"character {exc.start + 1}); retype it or check the terminal's encoding"
                )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = args.data_dir or Path("data")
    problem = invalid_text(args)
    if problem:
        print(f"briefing: error: {problem}", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
        data_dir = settings.data_dir
        if args.command in COMMANDS:
            return COMMANDS[args.command](args, settings)
        return plugin_commands()[args.command].run(args, settings)
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
    except Exception as exc:  # a full disk or read-only folder met outside the storage seams
        storage = None if args.debug else translate(exc, data_dir, "write there")
        if storage is None:
            raise
        print(f"briefing: error: {storage}", file=sys.stderr)
        return 2
