"""Review frameworks (``prompts/frameworks/<name>.yaml``): loaded, validated, cues compiled.

A framework is data: causes (or principles) with diagnostic questions and the signals that show
a plan addresses each one or is at risk, plus optional scope questions and governance
principles. A malformed file is a ``ConfigError`` naming the file and the field, for example
``causes[2].signals.addressed[0].cues[1]``. Adding a file adds a framework; no code changes.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.core.errors import ConfigError
from assistant.core.prompts import PROMPTS_DIR

FRAMEWORKS_DIR = PROMPTS_DIR / "frameworks"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Strict):
    """One sign that a plan addresses a cause (or is at risk): text for people, cues to search."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=3)
    cues: list[str] = Field(min_length=1)

    @field_validator("cues")
    @classmethod
    def _compile(cls, cues: list[str]) -> list[str]:
        for i, cue in enumerate(cues):
            if not cue.strip():
                raise ValueError(f"cue {i} is empty")
            try:
                re.compile(cue, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(
                    f"cue {i} {cue!r} is not a valid regular expression ({exc})"
                ) from None
        return cues

    def pattern(self) -> re.Pattern[str]:
        """All cues as one case-insensitive alternation (one search per sentence)."""
        return _compiled(tuple(self.cues))


@cache
def _compiled(cues: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{c})" for c in cues), re.IGNORECASE)


class Signals(_Strict):
    addressed: list[Signal] = Field(min_length=1)
    at_risk: list[Signal] = Field(default_factory=list)


class Question(_Strict):
    id: str = Field(min_length=1)
    text: str = Field(min_length=3)
    queries: list[str] = Field(default_factory=list)


class Cause(_Strict):
    """A cause of failure (or a principle): what to ask, what to look for, what to advise."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    summary: str = ""
    description: str = ""
    origin: str = ""
    questions: list[Question] = Field(min_length=1)
    signals: Signals
    recommendation: str = Field(min_length=3)


class Lens(_Strict):
    """A scope question or governance principle: a question put to the plan, with queries."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    text: str = Field(min_length=3)
    queries: list[str] = Field(default_factory=list)
    related: list[str] = Field(
        default_factory=list, description="ids of the causes this lens bears on"
    )
    signals: list[str] = Field(
        default_factory=list, description="ids of signals that show the plan speaks to it"
    )


class Framework(_Strict):
    id: str
    name: str
    version: int
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    causes: list[Cause] = Field(min_length=1)
    scope_questions: list[Lens] = Field(default_factory=list)
    governance_principles: list[Lens] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Framework:
        seen: set[str] = set()
        items: list[tuple[str, str]] = []
        for i, cause in enumerate(self.causes):
            items.append((f"causes[{i}].id", cause.id))
            items += [
                (f"causes[{i}].questions[{j}].id", q.id) for j, q in enumerate(cause.questions)
            ]
            for kind in ("addressed", "at_risk"):
                items += [
                    (f"causes[{i}].signals.{kind}[{j}].id", s.id)
                    for j, s in enumerate(getattr(cause.signals, kind))
                ]
        items += [(f"scope_questions[{i}].id", s.id) for i, s in enumerate(self.scope_questions)]
        items += [
            (f"governance_principles[{i}].id", p.id)
            for i, p in enumerate(self.governance_principles)
        ]
        for where, ident in items:
            if ident in seen:
                raise ValueError(f"{where}: duplicate id {ident!r}")
            seen.add(ident)
        causes = {c.id for c in self.causes}
        signals = {s.id for c in self.causes for s in [*c.signals.addressed, *c.signals.at_risk]}
        for kind in ("scope_questions", "governance_principles"):
            for i, lens in enumerate(getattr(self, kind)):
                for field_name, known in (("related", causes), ("signals", signals)):
                    for j, ref in enumerate(getattr(lens, field_name)):
                        if ref not in known:
                            noun = "signal" if field_name == "signals" else "cause"
                            raise ValueError(
                                f"{kind}[{i}].{field_name}[{j}]: {ref!r} names no {noun}"
                            )
        return self

    def cause(self, cause_id: str) -> Cause:
        for cause in self.causes:
            if cause.id == cause_id:
                return cause
        raise KeyError(cause_id)


def available_frameworks(directory: Path = FRAMEWORKS_DIR) -> list[str]:
    """Names of the framework files in ``directory`` (without ``.yaml``)."""
    return sorted(p.stem for p in directory.glob("*.yaml") if _NAME.match(p.stem))


def _where(loc: tuple[object, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "file"


def load_framework(name: str, directory: Path = FRAMEWORKS_DIR) -> Framework:
    """Load and validate ``<directory>/<name>.yaml``.

    Raises:
        ConfigError: the name is unknown or unsafe, or the file is malformed; the message names
            the file and the field.
    """
    if not _NAME.match(name or ""):
        raise ConfigError(
            f"framework name {name!r} is not valid (lower-case letters, digits, '-' and '_')"
        )
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_frameworks(directory)) or "none"
        raise ConfigError(f"unknown framework {name!r}; known: {known}")
    return _load(path, path.stat().st_mtime_ns)


@cache
def _load(path: Path, _mtime: int) -> Framework:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"framework file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"framework file {path} must hold a mapping (id, name, version, causes, ...)"
        )
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"framework file {path} is invalid at {_where(first['loc'])}: {message}"
        ) from None
    if framework.id != path.stem:
        raise ConfigError(
            f"framework file {path} is invalid at id: {framework.id!r}"
            f" must match the file name {path.stem!r}"
        )
    return framework
