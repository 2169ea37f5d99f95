"""The external suite: an outside team's questions over real documents, read from ../shared/peer-qa.

The CI check is a fixed sample (40 questions of the immigration procedure, seed 0), ingest
included, held to the ``suites: peerqa_ci`` floors of evals/thresholds.yaml. The documents and
questions are never copied into the project; without the folder the tests skip and say why.
"""

from __future__ import annotations

import pytest

from assistant.core.settings import Settings
from evals.peerqa import load_near_misses, load_peerqa, parts_of, presence, shared_dir
from evals.suites import THRESHOLDS, check_limits, load_limits, run_suite

CI_DOCUMENT = "Home_Affairs.pdf"
CI_SAMPLE = 40


@pytest.fixture(scope="module")
def folder():
    found = shared_dir("peer-qa", "BRIEFING_PEERQA_DIR")
    if found is None:
        pytest.skip("../shared/peer-qa is not beside the repository (or set BRIEFING_PEERQA_DIR)")
    return found


def test_key_term_presence_is_case_insensitive_and_counts_each_term():
    assert (
        presence(
            "The Border  Clearance Officer checks the VISA.", ["visa", "border clearance", "PACE"]
        )
        == 2 / 3
    )
    assert presence("anything", []) == 0.0


def test_parts_are_cut_at_their_headings():
    text = "**1. What is X?**\nX is a thing. [1]\n\n**2. What is Y?**\nThe documents do not appear to answer this part."
    assert [p.strip() for p in parts_of(text)] == [
        "X is a thing. [1]",
        "The documents do not appear to answer this part.",
    ]
    assert parts_of("plain answer [1]") == ["plain answer [1]"]


def test_questions_are_read_from_the_shared_folder(folder):
    every = load_peerqa(folder)
    assert len(every) > 350 and all(c["terms"] for c in every)
    sample = load_peerqa(folder, [CI_DOCUMENT], CI_SAMPLE, seed=0)
    assert len(sample) == CI_SAMPLE and {c["document"] for c in sample} == {CI_DOCUMENT}
    assert sample == load_peerqa(folder, [CI_DOCUMENT], CI_SAMPLE, seed=0)  # a fixed sample


def test_near_misses_are_ours_and_name_the_outside_documents(folder):
    misses = load_near_misses()
    outside = load_peerqa(folder)
    assert len(misses) == 50 and len({m["id"] for m in misses}) == 50
    assert {m["document"] for m in misses} == {c["document"] for c in outside}
    assert not {m["question"] for m in misses} & {c["question"] for c in outside}
    assert {m["document"] for m in load_near_misses([CI_DOCUMENT])} == {CI_DOCUMENT}


def test_ci_sample_meets_its_floors(folder, tmp_path, embedder):
    settings = Settings(data_dir=tmp_path / "unused")
    result = run_suite(
        "peerqa", settings, embedder, store_dir=tmp_path, documents=[CI_DOCUMENT], sample=CI_SAMPLE
    )
    assert result["ingest"]["failed"] == []
    metrics = result["metrics"]
    assert metrics["cases"] == CI_SAMPLE
    limits = load_limits(THRESHOLDS)
    assert "peerqa_ci" in limits, "evals/thresholds.yaml has no suites: peerqa_ci floors"
    assert check_limits("peerqa_ci", metrics, limits) == [], metrics
    for row in result["cases"] + result["near_misses"]:  # no contents or running-header junk
        assert not row["junk"], row["text"]
    assert metrics["near_misses"] == len(load_near_misses([CI_DOCUMENT]))
