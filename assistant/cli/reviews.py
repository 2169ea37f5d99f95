"""``briefing critique``: a framework-driven review draft of a plan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.cli.console import Progress
from assistant.core.errors import BriefingError
from assistant.core.settings import Settings


def cmd_critique(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.critique.export import write_critique
    from assistant.service import build_service

    if args.format == "docx" and not args.output:
        raise BriefingError("--format docx needs -o FILE.docx")
    path = Path(args.plan)
    service = build_service(settings, writer=path.is_file())
    progress = Progress()
    try:
        if path.is_file():
            report = service.ingest([path], doc_type="master_plan")
            if report.failed:
                raise BriefingError(f"{path} could not be ingested: {report.failed[0]['reason']}")
        critique = service.critique(
            str(path.resolve()) if path.is_file() else args.plan, args.framework, progress
        )
    finally:
        progress.close()
        service.close()
    text = write_critique(critique, args.format, args.output)
    if text is not None:
        print(text)
    else:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
