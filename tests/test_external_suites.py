"""The two external suites, whole, held to their floors in evals/thresholds.yaml (``suites:``).

Both read real documents from ../shared (never copied into the project): all 399 outside
questions over ../shared/peer-qa, and our own 121-question development set over
../shared/realdocs, ingest included (about two minutes together). Without a folder its test
skips and says why.
"""

from __future__ import annotations

import pytest

from assistant.core.settings import Settings
from evals.suites import THRESHOLDS, check_limits, load_limits, run_suite


@pytest.mark.parametrize("suite", ["peerqa", "realdocs"])
def test_the_whole_suite_meets_its_floors(suite, tmp_path, embedder):
    result = run_suite(suite, Settings(data_dir=tmp_path / "unused"), embedder, store_dir=tmp_path)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result["ingest"]["failed"] == []
    limits = load_limits(THRESHOLDS)
    assert suite in limits, f"evals/thresholds.yaml has no suites: {suite} floors"
    assert check_limits(suite, result["metrics"], limits) == [], result["metrics"]
    assert not [row["text"] for row in result["cases"] if row["junk"]]
