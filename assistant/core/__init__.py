"""The shared core: settings, errors, models, embeddings, store, manifest and text helpers.

Imports nothing from the rest of ``assistant``.
"""
