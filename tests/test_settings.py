"""Settings precedence: arguments > process environment > .env > YAML file > defaults."""

from __future__ import annotations

import pytest

from assistant import Settings, load_settings
from assistant.core.errors import ConfigError

LAYERS = ["argument", "environment", "dotenv", "yaml", "default"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for key in [k for k in __import__("os").environ if k.startswith("BRIEFING_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _layered(tmp_path, monkeypatch, present: list[str]) -> Settings:
    """retrieval_k set to a different value in each present layer; returns what wins."""
    config = tmp_path / "briefing.yaml"
    config.write_text("retrieval_k: 14\n" if "yaml" in present else "{}\n", encoding="utf-8")
    if "dotenv" in present:
        (tmp_path / ".env").write_text("BRIEFING_RETRIEVAL_K=13\n", encoding="utf-8")
    if "environment" in present:
        monkeypatch.setenv("BRIEFING_RETRIEVAL_K", "12")
    overrides = {"retrieval_k": 11} if "argument" in present else {}
    return load_settings(config, **overrides)


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (LAYERS, 11),
        (LAYERS[1:], 12),
        (LAYERS[2:], 13),
        (LAYERS[3:], 14),
        ([], Settings.model_fields["retrieval_k"].default),
        (["yaml", "environment"], 12),
        (["yaml", "dotenv"], 13),
    ],
    ids=[
        "argument",
        "environment",
        "dotenv",
        "yaml",
        "default",
        "env-over-yaml",
        "dotenv-over-yaml",
    ],
)
def test_settings_layer_wins_in_order(clean_env, monkeypatch, present, expected):
    assert _layered(clean_env, monkeypatch, present).retrieval_k == expected


def test_settings_web_page_values_come_from_the_same_layers(clean_env, monkeypatch):
    (clean_env / ".env").write_text("BRIEFING_UI_USER=dotenv-user\n", encoding="utf-8")
    config = clean_env / "c.yaml"
    config.write_text("ui_user: yaml-user\nui_password: from-yaml\n", encoding="utf-8")
    settings = load_settings(config)
    assert settings.ui_user == "dotenv-user"
    assert (
        settings.ui_password is not None and settings.ui_password.get_secret_value() == "from-yaml"
    )


def test_settings_config_env_variable_names_the_yaml_file(clean_env, monkeypatch):
    config = clean_env / "c.yaml"
    config.write_text("lexical_weight: 2.5\n", encoding="utf-8")
    monkeypatch.setenv("BRIEFING_CONFIG", str(config))
    assert load_settings().lexical_weight == 2.5


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [("retrieval_k: 0\n", "retrieval_k"), ("no_such_setting: 1\n", "no_such_setting")],
    ids=["out-of-range", "unknown"],
)
def test_settings_bad_yaml_value_names_the_field(clean_env, yaml_text, field):
    config = clean_env / "c.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=field):
        load_settings(config)


def test_settings_yaml_does_not_leak_into_later_settings(clean_env):
    config = clean_env / "c.yaml"
    config.write_text("retrieval_k: 7\n", encoding="utf-8")
    assert load_settings(config).retrieval_k == 7
    assert Settings().retrieval_k == Settings.model_fields["retrieval_k"].default
