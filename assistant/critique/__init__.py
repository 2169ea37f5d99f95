"""Critique drafts: frameworks, the sweep and ratings, evidence, the draft, LLM prose and export.

The entry point is :class:`assistant.critique.critic.Critic`; nothing is imported here, so
importing the package loads nothing heavy.
"""
