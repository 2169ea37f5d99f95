"""Check evals/datasets/*.jsonl against the pages the product's loader actually produces.

Usage (from the repo root, after ingesting the corpus into a data dir):

    .venv/bin/briefing --data-dir /tmp/evaldata ingest corpus/documents
    .venv/bin/python evals/datasets/verify.py --data-dir /tmp/evaldata

Exit code 0 when every check passes, 1 otherwise. Checks: schema, kind counts, follow-up pairs,
gold source/page exist, gold section heading starts a line on the gold page (or the page before,
for a section that continues), every fact string appears on a gold page (case-insensitive, NFKC,
invisible characters dropped, whitespace collapsed), cross_document cases cite two documents,
injection cases carry must_not_contain, and the critique gold has one row per plan and cause with
evidence sections that are headings on the cited pages.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIN_COUNTS = {
    "single_fact": 18,
    "numeric": 12,
    "cross_document": 8,
    "follow_up": 16,
    "absent": 10,
    "adversarial": 8,
}
RATINGS = {"addressed", "partly_addressed", "gap"}
CAUSES = [f"F{i}" for i in range(1, 9)]
INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")


def norm(text: str) -> str:
    text = INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.split()).casefold()


def load_pages(data_dir: Path) -> dict[tuple[str, int], str]:
    from assistant.core.manifest import Manifest

    m = Manifest(data_dir / "manifest.sqlite3")
    pages = {}
    for r in m.all():
        for p in range(1, r.pages + 1):
            pages[(Path(r.source).name, p)] = m.page_text(r.doc_id, p)
    return pages


def heading_on_page(section: str, text: str) -> bool:
    """True if `section` (a heading, or a bare number like "6.2") starts a line of `text`."""
    want = norm(section)
    for line in text.splitlines():
        line = norm(line.lstrip("#").strip())
        if not line:
            continue
        if re.fullmatch(r"[\d.]+", want):
            if line.split(" ", 1)[0].rstrip(".") == want:
                return True
        elif line.startswith(want):
            return True
    return False


def check_questions(path: Path, pages: dict, errors: list[str]) -> Counter:
    kinds: Counter = Counter()
    ids: set[str] = set()
    facts_checked = 0
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            c = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: bad JSON: {exc}")
            continue
        cid = c.get("id", "?")
        where = f"{where} {cid}"
        for key, typ in (
            ("id", str),
            ("kind", str),
            ("question", str),
            ("history", list),
            ("gold", list),
            ("facts", list),
            ("answerable", bool),
        ):
            if not isinstance(c.get(key), typ):
                errors.append(f"{where}: '{key}' missing or not {typ.__name__}")
        if cid in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(cid)
        kind = c.get("kind")
        if kind not in MIN_COUNTS:
            errors.append(f"{where}: unknown kind {kind!r}")
        kinds[kind] += 1
        gold, facts = c.get("gold", []), c.get("facts", [])
        if c.get("answerable"):
            if not gold or not 1 <= len(facts) <= 3:
                errors.append(f"{where}: answerable needs gold and 1-3 facts")
        elif gold or facts:
            errors.append(f"{where}: unanswerable case must have empty gold and facts")
        if kind == "absent" and c.get("answerable"):
            errors.append(f"{where}: absent case marked answerable")
        texts = []
        for gd in gold:
            key = (gd.get("source"), gd.get("page"))
            if key not in pages:
                errors.append(f"{where}: gold {key} is not a loaded page")
                continue
            texts.append(pages[key])
            # a section may start on the previous page and continue on the gold page
            near = [pages[key], pages.get((key[0], key[1] - 1), "")]
            if not any(heading_on_page(gd.get("section", ""), t) for t in near):
                errors.append(f"{where}: section {gd.get('section')!r} not a heading on {key}")
        for fact in facts:
            facts_checked += 1
            if not any(norm(fact) in norm(t) for t in texts):
                errors.append(f"{where}: fact {fact!r} not found on any gold page")
        if kind == "cross_document" and len({gd.get("source") for gd in gold}) < 2:
            errors.append(f"{where}: cross_document must cite two documents")
        hist = c.get("history", [])
        if kind == "follow_up" and cid.endswith("b"):
            roles = [h.get("role") for h in hist]
            if roles != ["user", "assistant"] or not all(h.get("content") for h in hist):
                errors.append(f"{where}: follow-up needs user+assistant history")
            if f"{cid[:-1]}a" not in ids:
                errors.append(f"{where}: first turn {cid[:-1]}a missing or after it")
        elif hist:
            errors.append(f"{where}: only follow-up 'b' cases carry history")
        mnc = c.get("must_not_contain")
        if mnc is not None:
            if not isinstance(mnc, list) or not all(isinstance(s, str) and s for s in mnc):
                errors.append(f"{where}: must_not_contain must be a list of strings")
            elif any(norm(s) in norm(f) for s in mnc for f in facts):
                errors.append(f"{where}: a must_not_contain string is also a fact")
        if (
            kind == "adversarial"
            and re.search(r"ignore|reveal|instructions|system", c["question"], re.I)
            and not mnc
        ):
            errors.append(f"{where}: injection case without must_not_contain")
    for kind, need in MIN_COUNTS.items():
        if kinds[kind] < need:
            errors.append(f"{path.name}: {kind} has {kinds[kind]} cases, needs {need}")
    kinds["facts checked"] = facts_checked
    return kinds


def check_critique(path: Path, pages: dict, errors: list[str]) -> int:
    seen = set()
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    for r in rows:
        where = f"{path.name} {r.get('plan')} {r.get('cause_id')}"
        seen.add((r.get("plan"), r.get("cause_id")))
        if r.get("rating") not in RATINGS:
            errors.append(f"{where}: bad rating {r.get('rating')!r}")
        cited = []
        for p in r.get("evidence_pages", []):
            if (r.get("plan"), p) not in pages:
                errors.append(f"{where}: page {p} not loaded")
            else:
                cited.append(pages[(r["plan"], p)])
        for s in r.get("evidence_sections", []):
            if not any(heading_on_page(s, t) for t in cited):
                errors.append(f"{where}: section {s!r} is not a heading on the cited pages")
    plans = {r.get("plan") for r in rows}
    want = {(p, c) for p in plans for c in CAUSES}
    if seen != want or len(rows) != len(want):
        errors.append(f"{path.name}: expected one row per plan x cause, got {len(rows)} rows")
    return len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/evaldata"))
    args = ap.parse_args()
    pages = load_pages(args.data_dir)
    errors: list[str] = []
    kinds = check_questions(HERE / "questions.jsonl", pages, errors)
    n_crit = check_critique(HERE / "critique_gold.jsonl", pages, errors)
    for k, v in kinds.items():
        print(f"{k:16} {v}")
    print(f"{'critique rows':16} {n_crit}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
