"""Briefing: an offline assistant for national e-government strategy documents."""

__version__ = "0.1.0"
