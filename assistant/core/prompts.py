"""Prompt files (``prompts/*.yaml``): loaded, validated, turned into LangChain templates.

Each file has ``name``, ``version``, ``description``, ``input_variables``, ``system`` and
``human``. The placeholders used must be exactly ``input_variables``: a missing or an extra one is
an error naming the file. User and document text only ever enter as variable values, so braces
in a question stay literal.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from assistant.core.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


class PromptSpec(BaseModel):
    name: str
    version: int
    description: str
    input_variables: list[str]
    system: str
    human: str

    def to_template(self) -> Any:
        from langchain_core.prompts import ChatPromptTemplate

        return ChatPromptTemplate.from_messages([("system", self.system), ("human", self.human)])


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> PromptSpec:
    """Load and validate ``<directory>/<name>.yaml``.

    Raises:
        ConfigError: naming the file and the field that is wrong.
    """
    path = directory / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = PromptSpec.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"prompt file not found: {path}") from None
    except (yaml.YAMLError, ValueError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(map(str, detail["loc"])) if detail else "file"
        raise ConfigError(
            f"prompt file {path} is invalid at {where}: {detail['msg'] if detail else exc}"
        ) from None
    try:
        used = _placeholders(spec.system) | _placeholders(spec.human)
    except ValueError as exc:
        raise ConfigError(f"prompt file {path} has a malformed placeholder: {exc}") from None
    declared = set(spec.input_variables)
    if used != declared:
        missing, extra = sorted(declared - used), sorted(used - declared)
        raise ConfigError(
            f"prompt file {path}: input_variables do not match the text (unused: {missing}, "
            f"undeclared: {extra})"
        )
    return spec
