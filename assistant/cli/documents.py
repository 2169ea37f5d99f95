"""``briefing ingest``, ``remove`` and ``status``: the document library from the terminal."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.cli.console import Progress, table
from assistant.core.settings import Settings


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.text import display_name
    from assistant.service import build_service

    service = build_service(settings, writer=True)
    progress = Progress()
    try:
        report = service.ingest(
            args.paths,
            doc_type=args.doc_type,
            prune=args.prune,
            retry_failed=args.retry_failed,
            progress=progress,
        )
    finally:
        progress.close()
        service.close()
    data = report.to_json()
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        docs = data["documents"]
        print(
            table(
                [
                    [
                        docs["added"],
                        docs["updated"],
                        docs["unchanged"],
                        docs["removed"],
                        len(docs["failed"]),
                        data["pages"],
                        data["chunks_added"],
                        data["chunks_total"],
                        f"{data['seconds']:.1f}",
                    ]
                ],
                [
                    "added",
                    "updated",
                    "unchanged",
                    "removed",
                    "failed",
                    "pages",
                    "chunks added",
                    "chunks total",
                    "seconds",
                ],
            )
        )
        if docs["failed"]:
            print("\nskipped:")
            print(
                table(
                    [[display_name(f["path"]), f["reason"]] for f in docs["failed"]],
                    ["file", "reason"],
                )
            )
        if data["notes"]:
            print("\nnotes:")
            print(
                table(
                    [[display_name(n["path"]), n["note"]] for n in data["notes"]], ["file", "note"]
                )
            )
    if args.strict and data["documents"]["failed"]:
        print(
            f"briefing: {len(data['documents']['failed'])} file(s) skipped (--strict)",
            file=sys.stderr,
        )
        return 3
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service

    service = build_service(settings, writer=True)
    try:
        for ref in args.refs:
            row = service.remove(ref)
            print(f"removed {row.doc_id[:12]}  {row.title or row.source}")
    finally:
        service.close()
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.service import build_service

    service = build_service(settings)
    try:
        rows = service.status()
    finally:
        service.close()
    if args.json:
        keys = (
            "doc_id",
            "title",
            "source",
            "doc_type",
            "year",
            "pages",
            "chunks",
            "status",
            "reason",
            "notes",
        )
        print(
            json.dumps(
                {"documents": [{k: getattr(r, k) for k in keys} for r in rows]}, ensure_ascii=False
            )
        )
        return 0
    if not rows:
        print(f"no documents in {settings.data_dir}; try: briefing ingest corpus/documents")
        return 0
    print(
        table(
            [
                [
                    r.doc_id[:12],
                    r.doc_type,
                    r.pages,
                    r.chunks,
                    r.status,
                    (r.title or "")[:60],
                    r.reason,
                ]
                for r in rows
            ],
            ["doc_id", "type", "pages", "chunks", "status", "title", "reason"],
        )
    )
    return 0
