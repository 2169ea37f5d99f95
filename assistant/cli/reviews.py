"""``briefing critique`` (a review draft, or a follow-up of a revised plan) and ``briefing review``.

``briefing review`` works on saved runs: list them, show one with its decisions, record a
decision on a finding (accept, reject with a reason, edit) or a note, and export the decided
review. Decisions are made as the ``BRIEFING_REVIEWER`` user, else the login name, else "local".
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path

from assistant.cli.console import Progress, table
from assistant.core.errors import BriefingError
from assistant.core.settings import Settings


def reviewer() -> str:
    """Who is deciding: ``BRIEFING_REVIEWER``, else the login name, else "local"."""
    name = os.environ.get("BRIEFING_REVIEWER", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = ""
    return name or "local"


def cmd_critique(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.critique.export import write_critique
    from assistant.critique.followup_export import write_followup
    from assistant.service import build_service

    if args.format == "docx" and not args.output:
        raise BriefingError("--format docx needs -o FILE.docx")
    path = Path(args.plan)
    compare_to = getattr(args, "compare_to", None)
    service = build_service(settings, writer=path.is_file())
    progress = Progress()
    try:
        if path.is_file():
            report = service.ingest([path], doc_type="master_plan")
            if report.failed:
                raise BriefingError(f"{path} could not be ingested: {report.failed[0]['reason']}")
        ref = str(path.resolve()) if path.is_file() else args.plan
        if compare_to:
            old = Path(compare_to)
            old_ref = str(old.resolve()) if old.is_file() else compare_to
            result = service.followup(ref, old_ref, args.framework, progress, reviewer())
        else:
            result = service.critique(ref, args.framework, progress, reviewer())
    finally:
        progress.close()
        service.close()
    if compare_to:
        text = write_followup(result, args.format, args.output)
    else:
        text = write_critique(result, args.format, args.output)
    if text is not None:
        print(text)
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    print(f"critique_id: {result.critique_id}", file=sys.stderr)
    return 0


def add_review_arguments(p: argparse.ArgumentParser) -> None:
    """The ``review`` subcommand's actions and options."""
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="saved critique runs, newest first")
    s = sub.add_parser("show", help="one saved review: findings, decisions, notes")
    s.add_argument("id", metavar="ID", help="critique_id (or a unique prefix)")
    s.add_argument("--json", action="store_true")
    d = sub.add_parser("decide", help="accept, reject or edit one finding")
    d.add_argument("id", metavar="ID")
    d.add_argument("cause", metavar="CAUSE", help="the finding's cause id, e.g. F3")
    group = d.add_mutually_exclusive_group()
    group.add_argument("--accept", action="store_true")
    group.add_argument("--reject", action="store_true", help="needs --note REASON")
    d.add_argument("--note", help="the reason for a rejection (or a note with an accept)")
    d.add_argument("--rating", help="addressed | partly_addressed | gap | not_assessable")
    d.add_argument("--rationale")
    d.add_argument("--recommendation")
    d.add_argument(
        "--drop-evidence", type=int, action="append", default=[], metavar="REF", dest="drop"
    )
    d.add_argument(
        "--add-evidence",
        nargs=3,
        action="append",
        default=[],
        metavar=("DOC", "PAGE", "QUOTE"),
        dest="add",
        help="a passage verbatim on that page of a library document (repeatable)",
    )
    n = sub.add_parser("note", help="a reviewer note on the whole draft")
    n.add_argument("id", metavar="ID")
    n.add_argument("text")
    e = sub.add_parser("export", help="the decided review as md, docx or json")
    e.add_argument("id", metavar="ID")
    e.add_argument("--format", choices=["md", "docx", "json"], default="md")
    e.add_argument("-o", "--output", type=Path, help="write here (required for docx)")


def _show(review: object) -> str:
    from assistant.critique.decisions import STATUS_LABELS, DecidedReview, describe

    assert isinstance(review, DecidedReview)
    c = review.draft
    lines = [
        f"{review.critique_id}  {c.plan.title}  ({c.framework} v{c.framework_version},"
        f" document {c.plan.doc_id[:12]})",
        "",
        table(
            [
                [
                    s.cause_id,
                    s.finding.rating,
                    s.machine_rating,
                    STATUS_LABELS[s.status],
                    s.who,
                    ", ".join(f"[{e.ref}] p.{e.page}" for e in s.finding.evidence[:4]),
                ]
                for s in review.findings
            ],
            ["cause", "rating", "draft", "decision", "by", "evidence"],
        ),
    ]
    lines += [f"note ({n.who}): {n.note}" for n in review.notes]
    if review.log:
        lines += ["", "decision log:"]
        lines += [
            f"  {i:>3}  {time.strftime('%Y-%m-%d %H:%M', time.gmtime(d.at))} UTC  {d.who}"
            f"  {d.cause_id or '(draft)'}  {d.action}: {describe(d)}"
            for i, d in enumerate(review.log, 1)
        ]
    return "\n".join(lines)


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.critique.review_export import write_review
    from assistant.service import build_service

    service = build_service(settings)
    try:
        if args.action == "list":
            rows = [
                [
                    r.critique_id,
                    r.kind,
                    r.title[:48],
                    r.framework,
                    f"{r.decided}/{r.findings}",
                    time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at)),
                    r.created_by,
                ]
                for r in service.reviews()
            ]
            header = ["critique_id", "kind", "plan", "framework", "decided", "created", "by"]
            print(table(rows, header) if rows else "no saved critique yet")
        elif args.action == "show":
            review = service.review(args.id)
            print(review.model_dump_json(indent=2) if args.json else _show(review))
        elif args.action == "note":
            d = service.decide(args.id, "", "note", note=args.text, who=reviewer())
            print(f"noted (#{d.seq}) on {d.critique_id}")
        elif args.action == "decide":
            edits = dict(rating=args.rating, rationale=args.rationale)
            edits |= dict(recommendation=args.recommendation)
            editing = any(v is not None for v in edits.values()) or args.drop or args.add
            if args.reject and editing:
                raise BriefingError("--reject cannot be combined with edits")
            if not (args.accept or args.reject or editing):
                raise BriefingError("say --accept, --reject --note REASON, or what to edit")
            action = "accept" if args.accept else "reject" if args.reject else "edit"
            if args.accept and editing:
                service.decide(args.id, args.cause, "edit", who=reviewer(), **_edit_options(args))
            options = _edit_options(args) if action == "edit" else {}
            d = service.decide(
                args.id, args.cause, action, note=args.note or "", who=reviewer(), **options
            )
            from assistant.critique.decisions import describe

            print(f"{d.action} {d.cause_id} (#{d.seq}) on {d.critique_id}: {describe(d)}")
        elif args.action == "export":
            if args.format == "docx" and not args.output:
                raise BriefingError("--format docx needs -o FILE.docx")
            text = write_review(service.review(args.id), args.format, args.output)
            if text is not None:
                print(text, end="")
            else:
                print(f"wrote {args.output}", file=sys.stderr)
    finally:
        service.close()
    return 0


def _edit_options(args: argparse.Namespace) -> dict[str, object]:
    add = []
    for doc, page, quote in args.add:
        if not page.isdigit():
            raise BriefingError(f"--add-evidence PAGE must be a page number, not {page!r}")
        add.append((doc, int(page), quote))
    return {
        "rating": args.rating,
        "rationale": args.rationale,
        "recommendation": args.recommendation,
        "drop": args.drop or None,
        "add": add or None,
    }
