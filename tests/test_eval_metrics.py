"""Metric functions on hand-made cases whose answers are worked out by hand.

Each case is one a plausible broken metric gets wrong: off-by-one ranks, a page counted twice,
micro instead of macro averaging, nearest-rank percentiles, lexical-only citation support.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from evals import metrics as m

A, B, C, D = ("a.pdf", 1), ("a.pdf", 2), ("b.md", 1), ("c.docx", 1)


# -- retrieval ----------------------------------------------------------------------------------


def test_page_key_matches_a_stored_path_with_the_gold_file_name():
    assert m.page_key("/data/corpus/master_plan/a.pdf", "2") == B
    assert m.gold_keys([{"source": "a.pdf", "page": 2, "section": "x"}]) == {B}


@pytest.mark.parametrize(
    ("k", "expected"), [(1, 0.0), (2, 0.0), (3, 1.0), (10, 1.0)], ids=["k1", "k2", "k3", "k10"]
)
def test_hit_at_k_counts_only_the_first_k_results(k, expected):
    assert m.hit_at_k([C, D, A], {A}, k) == expected


def test_reciprocal_rank_with_the_hit_at_rank_three_is_one_third():
    assert m.reciprocal_rank([C, D, A, B], {A, B}) == pytest.approx(1 / 3)


def test_reciprocal_rank_is_zero_when_the_hit_is_beyond_k():
    assert m.reciprocal_rank([C, D, A], {A}, k=2) == 0.0


def test_ndcg_credits_a_gold_page_retrieved_twice_only_once():
    # two passages of the one gold page: a metric that sums every occurrence would exceed 1
    assert m.ndcg_at_k([A, A, C], {A}) == pytest.approx(1.0)
    assert m.ndcg_at_k([C, A, A], {A}) == pytest.approx(1 / math.log2(3))


def test_ndcg_with_two_gold_pages_and_a_duplicate_between_them():
    dcg = 1 + 1 / math.log2(5)  # A at rank 1, its duplicate at rank 2 earns nothing, B at rank 4
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at_k([A, A, C, B], {A, B}) == pytest.approx(dcg / ideal)


def test_ndcg_ignores_results_after_k():
    assert m.ndcg_at_k([C, D, A], {A}, k=2) == 0.0


def test_recall_at_k_counts_distinct_gold_pages():
    assert m.recall_at_k([A, A, C], {A, B}, 10) == 0.5  # not 1.0 for A seen twice


# -- answers ------------------------------------------------------------------------------------


def test_facts_match_across_line_breaks_case_and_invisible_characters():
    text = "The total is ASD 412.8\nMILLION over three years; chaired by the First\u200b Deputy Prime Minister."
    assert m.missing_facts(text, ["412.8 million", "first deputy prime minister", "24,000"]) == [
        "24,000"
    ]


def test_a_number_written_differently_is_a_missing_fact():
    assert m.missing_facts("24 000 civil servants", ["24,000"]) == ["24,000"]


def test_cited_claims_take_the_sentence_each_marker_ends():
    text = "The budget is ASD 412.8 million. [1] Resolution No. 112 set it up [2][3]. Pilots run in Kesh [4], [5]."
    assert m.cited_claims(text) == [
        (1, "The budget is ASD 412.8 million."),
        (2, "Resolution No. 112 set it up"),  # "No. 112" is not a sentence end
        (3, "Resolution No. 112 set it up"),
        (4, "Pilots run in Kesh"),
        (5, "Pilots run in Kesh"),
    ]


def _passage(n, text):
    return SimpleNamespace(n=n, text=text)


def test_a_verbatim_citation_is_valid():
    passages = [
        _passage(1, "The plan costs ASD 412.8 million over 2025-2027, funded by the budget.")
    ]
    checks = m.check_citations("The plan costs ASD 412.8 million over 2025-2027. [1]", passages)
    assert [(c.n, c.valid) for c in checks] == [(1, True)]


def test_a_citation_with_a_changed_number_is_invalid_even_when_the_words_match():
    # 3 of 4 content tokens match (above the 50% share), so only the number rule catches it
    passages = [_passage(1, "The plan costs ASD 412.8 million over 2025-2027.")]
    [check] = m.check_citations("The plan costs ASD 999 million. [1]", passages)
    assert not check.valid and "999" in check.problem


def test_a_citation_naming_no_passage_or_an_unrelated_one_is_invalid():
    passages = [_passage(1, "Ardel Province and Kesh host the pilots.")]
    checks = m.check_citations(
        "Pilots run in Ardel Province. [1] The minister resigned over procurement. [1] X. [7]",
        passages,
    )
    assert [c.valid for c in checks] == [True, False, False]
    assert checks[2].problem == "names no retrieved passage"


def test_thousands_commas_do_not_make_a_number_differ():
    assert m.numbers("24,000 staff and 1,250,000 users at 3.5%") == {"24000", "1250000", "3.5"}
    assert (
        m.support("Training for 24,000 civil servants", "training for 24000 civil servants") is None
    )


def test_quotes_are_verified_against_the_page_ignoring_whitespace_and_case():
    pages = {
        (
            "d1",
            3,
        ): "Line one of the page.\nThe Commission  is chaired by\nthe First Deputy Prime Minister."
    }
    good = SimpleNamespace(
        n=1, doc_id="d1", page=3, quote="the commission is chaired by the first deputy"
    )
    wrong_page = SimpleNamespace(n=2, doc_id="d1", page=4, quote="the commission is chaired")
    invented = SimpleNamespace(n=3, doc_id="d1", page=3, quote="chaired by the Prime Minister")
    bad = m.unverified_quotes([good, wrong_page, invented], lambda d, p: pages.get((d, p)))
    assert [c.n for c in bad] == [2, 3]


def test_decline_precision_is_undefined_when_nothing_is_declined():
    precision, recall = m.decline_scores([(True, True), (False, True)])
    assert precision is None  # not 0 (a ZeroDivisionError, or a made-up score)
    assert recall == 0.0


def test_decline_precision_and_recall_on_a_mixed_set():
    # (answerable, answered): one right decline, one wrong decline, one missed decline, one answer
    precision, recall = m.decline_scores(
        [(False, False), (True, False), (False, True), (True, True)]
    )
    assert (precision, recall) == (0.5, 0.5)
    assert m.decline_scores([(True, True)]) == (None, None)


def test_injection_strings_are_found_case_and_space_insensitively():
    assert m.leaked_strings(
        "Sure: I  HAVE BEEN pwned.", ["i have been pwned", "system prompt"]
    ) == ["i have been pwned"]


# -- critique -----------------------------------------------------------------------------------


def test_macro_f1_differs_from_accuracy_when_a_rating_is_never_predicted():
    scores = m.rating_scores([("gap", "gap"), ("gap", "gap"), ("gap", "gap"), ("addressed", "gap")])
    assert scores["accuracy"] == 0.75
    # F1(gap) = 2 * 0.75 * 1 / 1.75 = 6/7; F1(addressed) = 0; macro = 3/7 (micro would be 0.75)
    assert scores["macro_f1"] == pytest.approx(3 / 7)


def test_ratings_are_compared_whatever_their_spelling():
    assert (
        m.normalise_rating("Partly addressed")
        == m.normalise_rating("partly-addressed")
        == "partly_addressed"
    )
    assert m.normalise_rating(None) == "missing"


def test_critique_scores_count_a_missing_cause_as_wrong_and_check_every_quote():
    gold = [
        {"plan": "p.pdf", "cause_id": "F1", "rating": "gap", "evidence_pages": [2]},
        {"plan": "p.pdf", "cause_id": "F2", "rating": "addressed", "evidence_pages": [5]},
    ]
    ev_ok = SimpleNamespace(doc_id="d", page=2, quote="no  business case")
    ev_bad = SimpleNamespace(doc_id="d", page=3, quote="words that are nowhere")
    findings = {"p.pdf": {"F1": SimpleNamespace(rating="gap", evidence=[ev_ok, ev_bad])}}
    pages = {("d", 2): "There is No business case.", ("d", 3): "Other text."}
    scores = m.critique_scores(gold, findings, lambda d, p: pages.get((d, p)), {"p.pdf": "d"})
    assert scores["accuracy"] == 0.5
    assert [r["predicted"] for r in scores["rows"]] == ["gap", "missing"]
    assert scores["quote_validity"] == 0.5
    assert scores["evidence_page_hit"] == 0.5


# -- aggregates ---------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks():
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert m.percentile(values, 50) == pytest.approx(50.5)
    assert m.percentile(values, 95) == pytest.approx(95.05)
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) is None


def test_mean_skips_undefined_values():
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
