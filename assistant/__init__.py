"""Briefing: an offline assistant for national e-government strategy documents.

The public surface::

    from assistant import Settings, build_service, load_settings

    service = build_service(load_settings())
    answer = service.ask("What is the total budget of the plan?")

Names resolve on first use, so ``import assistant`` loads no model, store or settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BriefingService", "Settings", "build_service", "load_settings"]

if TYPE_CHECKING:
    from assistant.core.settings import Settings, load_settings
    from assistant.service import BriefingService, build_service

_WHERE = {
    "Settings": "assistant.core.settings",
    "load_settings": "assistant.core.settings",
    "build_service": "assistant.service",
    "BriefingService": "assistant.service",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
