"""``briefing serve`` (the web page) and ``briefing feedback``."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.core.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.web.server import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
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
