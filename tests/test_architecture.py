"""The dependency rules hold: chromadb only in the store, nothing heavy happens at import."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGES = ["assistant", "ingest", "evals"]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize(("library", "allowed"), [("chromadb", {"assistant/store.py"}), ("gradio", {"assistant/ui.py"})])
def test_library_is_imported_in_one_module_only(library, allowed):
    offenders = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if any(name.split(".")[0] == library for name in _imports(path))
    }
    assert offenders <= allowed


def test_core_never_imports_evals():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("assistant", "ingest")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "cli.py" and any(name.split(".")[0] == "evals" for name in _imports(path))
    ]
    assert offenders == []


def test_importing_modules_loads_no_model_store_or_settings(tmp_path):
    code = (
        "import sys, assistant.cli, assistant.service, ingest.pipeline, ingest.worker;"
        "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'pypdf') if m in sys.modules];"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.stdout.strip() == "[]", proc.stderr
    assert list(tmp_path.iterdir()) == []  # no data dir made at import
