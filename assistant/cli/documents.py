"""``briefing ingest``, ``remove`` and ``status``: the document library from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.cli.console import Progress, table
from assistant.core.settings import Settings


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.storage import ensure_writable
    from assistant.core.text import display_name
    from assistant.service import build_service

    ensure_writable(settings.data_dir, "add documents")
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
        aside = {k: v for k, v in (data.get("set_aside") or {}).items() if v}
        if aside:
            kinds = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(aside.items()))
            print(f"\nset aside as page furniture (kept for quote checks, never embedded): {kinds}")
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
    from assistant.core.storage import ensure_writable
    from assistant.service import build_service

    ensure_writable(settings.data_dir, "remove documents")
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
        lexical = service.lexical_status() if rows else None
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
                {
                    "documents": [{k: getattr(r, k) for k in keys} for r in rows],
                    "lexical_index": lexical,
                },
                ensure_ascii=False,
                default=str,
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
    if lexical is not None:
        print(describe_lexical(lexical))
    return 0


def describe_lexical(status: dict[str, Any]) -> str:
    """One line on the lexical index: size, rows, segments and whether it agrees with the store."""
    size = f"{int(status.get('bytes') or 0) / 1048576:.1f} MB"
    rows = f"{int(status.get('rows') or 0):,} chunks in {status.get('segments', 0)} segment(s)"
    if status.get("healthy"):
        health = "healthy"
    else:
        problems = [
            f"{k.replace('_', ' ')}: {status[k]}"
            for k in ("missing", "extra", "chunk_count_mismatch", "broken")
            if status.get(k)
        ]
        health = "needs repair (" + "; ".join(problems) + "); run: briefing repair"
    return f"lexical index: {size}, {rows}, {health}"


def cmd_repair(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the lexical index from the store (also done automatically before a question)."""
    from assistant.service import build_service

    service = build_service(settings, writer=True)
    progress = Progress()
    try:
        status = service.repair_lexical(lambda done, total: progress("documents", done, total))
    finally:
        progress.close()
        service.close()
    print(describe_lexical(status))
    return 0
