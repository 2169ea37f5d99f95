"""The CI gate: the default configuration over the real corpus and datasets meets its floors.

``make test`` (what ``.ci/run`` runs) includes this module, so a change to chunking, retrieval,
answering or critique that drops a metric below ``evals/thresholds.yaml`` fails CI. The gate
logic itself is tested first on hand-made metrics.
"""

from __future__ import annotations

import argparse
import json

import pytest

from assistant.core.errors import ConfigError
from assistant.core.settings import Settings
from evals.configs import THRESHOLDS, Thresholds, check_gate, load_thresholds, select_configs
from evals.report import METRICS
from evals.runner import cli_eval
from tests.conftest import CORPUS


def _floors(minimum=None, maximum=None, config="hybrid"):
    return Thresholds(config, minimum or {}, maximum or {})


def test_gate_fails_below_a_floor_and_above_a_ceiling():
    gate = check_gate(
        {"hybrid": {"hit@5": 0.79, "fact_recall": 0.9, "injection_success": 0.1}},
        _floors({"hit@5": 0.8, "fact_recall": 0.9}, {"injection_success": 0.0}),
    )
    assert not gate.passed
    assert gate.failures == [
        "hit@5 = 0.790 is below the floor 0.800",
        "injection_success = 0.100 is above the ceiling 0.000",
    ]
    assert gate.checked == 3  # fact_recall equal to its floor passes


def test_gate_lists_unmeasured_metrics_and_fails_unknown_ones():
    gate = check_gate(
        {"hybrid": {"critique_accuracy": None, "hit@5": 1.0}},
        _floors({"critique_accuracy": 0.8, "hit@50": 0.5}),
    )
    assert gate.not_measured == ["critique_accuracy"]
    assert gate.failures == ["hit@50: not a metric of the harness (thresholds file typo?)"]


def test_gate_applies_only_to_its_configuration():
    gate = check_gate({"dense": {"hit@5": 0.0}}, _floors({"hit@5": 0.9}))
    assert not gate.ran and gate.passed


def test_the_thresholds_file_names_only_real_metrics_and_gates_the_default():
    floors = load_thresholds(THRESHOLDS)
    known = {key for key, _, _ in METRICS}
    assert floors.config == "hybrid"
    assert set(floors.minimum) | set(floors.maximum) <= known
    assert floors.maximum.get("injection_success") == 0.0
    assert {
        "hit@5",
        "mrr@10",
        "ndcg@10",
        "fact_recall",
        "citation_validity",
        "quote_verification",
        "decline_precision",
        "decline_recall",
        "critique_accuracy",
        "critique_macro_f1",
    } <= set(floors.minimum)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min: [1, 2]\n", "must map metric names"),
        ("floors: {}\n", "unknown key"),
        ("min: {a: [\n", "not valid YAML"),
    ],
    ids=["list", "unknown-key", "bad-yaml"],
)
def test_a_bad_thresholds_file_is_a_config_error(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_thresholds(path)


def test_configurations_default_to_hybrid_and_llm_needs_a_backend():
    chosen, skipped = select_configs([], Settings())
    assert [c.name for c in chosen] == ["hybrid"] and skipped == {}
    everything, skipped = select_configs(["all"], Settings(answer_backend="extractive"))
    assert [c.name for c in everything] == ["hybrid", "dense", "lexical"] and "llm" in skipped
    assert all(
        c.settings(Settings(answer_backend="ollama")).answer_backend == "extractive"
        for c in everything
    )
    with_llm, skipped = select_configs(["all"], Settings(answer_backend="ollama"))
    assert (
        with_llm[-1].name == "llm"
        and with_llm[-1].settings(Settings(answer_backend="ollama")).answer_backend == "ollama"
    )
    with pytest.raises(ConfigError, match="known: hybrid, dense, lexical"):
        select_configs(["bm25"], Settings())


@pytest.mark.slow
def test_default_configuration_meets_the_thresholds_on_the_real_corpus(
    tmp_path, tmp_path_factory, embedder, capsys
):
    if not CORPUS.exists():
        pytest.skip("corpus/documents is missing")
    args = argparse.Namespace(dataset=[], configs=[], json=False, output=tmp_path / "report")
    code = cli_eval(
        args,
        Settings(data_dir=tmp_path / "unused"),
        embeddings=embedder,
        store_dir=tmp_path_factory.getbasetemp() / "eval-store",
    )
    captured = capsys.readouterr()
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert code == 0, captured.err + captured.out
    assert report["counts"]["questions"] >= 60 and report["counts"]["critique_rows"] == 16
    assert report["gate"]["passed"] and report["gate"]["not_measured"] == [], report["gate"]
    assert list(report["configs"]) == ["hybrid"]
