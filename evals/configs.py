"""What the harness runs and what it must reach: named configurations and the threshold gate.

A configuration is a retrieval mode plus settings overrides. ``hybrid`` is the default (and
the one the floors in ``thresholds.yaml`` apply to); ``llm`` exists only when an LLM answer
backend is configured, and is otherwise listed as skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.errors import ConfigError
from assistant.core.settings import read_yaml_mapping

if TYPE_CHECKING:
    from assistant.answer.retrieval import Mode
    from assistant.core.settings import Settings

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"
DEFAULT_CONFIG = "hybrid"


@dataclass(frozen=True)
class EvalConfig:
    """One configuration: a name, a retrieval mode and the settings it changes."""

    name: str
    mode: Mode
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)
    critique: bool = False  # the critique does not use the retrieval mode: run it once per backend

    def settings(self, base: Settings) -> Settings:
        return base.model_copy(update=self.overrides)


def all_configs(settings: Settings) -> tuple[list[EvalConfig], dict[str, str]]:
    """Every configuration this installation can run, and the skipped ones with the reason."""
    extractive = {"answer_backend": "extractive"}
    configs = [
        EvalConfig(
            "hybrid",
            "hybrid",
            "dense + BM25 fused (RRF), extractive answers",
            extractive,
            critique=True,
        ),
        EvalConfig("dense", "dense", "MiniLM dense search only, extractive answers", extractive),
        EvalConfig("lexical", "lexical", "BM25 only, extractive answers", extractive),
    ]
    skipped: dict[str, str] = {}
    backend = settings.answer_backend
    if backend == "extractive":
        skipped["llm"] = (
            "no LLM answer backend is configured (answer_backend is 'extractive'); "
            "set BRIEFING_ANSWER_BACKEND=llamacpp|ollama|openai to compare"
        )
    else:
        configs.append(
            EvalConfig("llm", "hybrid", f"hybrid retrieval, {backend} answers", {}, critique=True)
        )
    return configs, skipped


def select_configs(names: list[str], settings: Settings) -> tuple[list[EvalConfig], dict[str, str]]:
    """The configurations asked for (none: the default; ``all``: every available one).

    Raises:
        ConfigError: for a name that is not a configuration.
    """
    available, skipped = all_configs(settings)
    by_name = {c.name: c for c in available}
    wanted = names or [DEFAULT_CONFIG]
    if "all" in wanted:
        return available, skipped
    known = [*by_name, *skipped, "all"]
    chosen = []
    for name in dict.fromkeys(wanted):
        if name in by_name:
            chosen.append(by_name[name])
        elif name not in skipped:
            raise ConfigError(f"unknown eval configuration {name!r}; known: {', '.join(known)}")
    return chosen, {k: v for k, v in skipped.items() if k in wanted}


# -- the gate -----------------------------------------------------------------------------------


@dataclass
class Thresholds:
    """Floors (``min``) and ceilings (``max``) for the metrics of one configuration."""

    config: str
    minimum: dict[str, float]
    maximum: dict[str, float]
    path: Path | None = None


def load_thresholds(path: Path = THRESHOLDS) -> Thresholds:
    """Read ``thresholds.yaml``: ``config``, then ``min:`` and ``max:`` maps of metric -> value."""
    data = read_yaml_mapping(path, "thresholds file")
    unknown = set(data) - {"config", "min", "max", "suites"}  # suites: see evals.peerqa
    if unknown:
        raise ConfigError(
            f"thresholds file {path}: unknown key(s) {', '.join(sorted(unknown))}; known: config, "
            f"min, max, suites"
        )
    limits = {}
    for key in ("min", "max"):
        values = data.get(key) or {}
        if not isinstance(values, dict) or not all(
            isinstance(v, int | float) for v in values.values()
        ):
            raise ConfigError(f"thresholds file {path}: '{key}' must map metric names to numbers")
        limits[key] = {str(k): float(v) for k, v in values.items()}
    return Thresholds(
        str(data.get("config", DEFAULT_CONFIG)), limits["min"], limits["max"], Path(path)
    )


@dataclass
class GateResult:
    config: str
    ran: bool
    failures: list[str] = field(default_factory=list)
    not_measured: list[str] = field(default_factory=list)
    checked: int = 0
    note: str = ""  # why the gate did not run

    @property
    def passed(self) -> bool:
        return not self.failures


def check_gate(
    metrics_by_config: dict[str, dict[str, float | None]], thresholds: Thresholds
) -> GateResult:
    """Compare the gated configuration's metrics with the floors and ceilings.

    A metric the run could not measure (no such cases in the datasets) is listed, not failed;
    a metric name the run does not know fails, so a typo in the file cannot silence the gate.
    """
    metrics = metrics_by_config.get(thresholds.config)
    result = GateResult(thresholds.config, metrics is not None)
    if metrics is None:
        result.note = f"the '{thresholds.config}' configuration did not run"
        return result
    for limits, below in ((thresholds.minimum, True), (thresholds.maximum, False)):
        for name, limit in limits.items():
            if name not in metrics:
                result.failures.append(
                    f"{name}: not a metric of the harness (thresholds file typo?)"
                )
                continue
            value = metrics[name]
            if value is None:
                result.not_measured.append(name)
                continue
            result.checked += 1
            if (below and value < limit) or (not below and value > limit):
                word = "below the floor" if below else "above the ceiling"
                result.failures.append(f"{name} = {value:.3f} is {word} {limit:.3f}")
    return result
