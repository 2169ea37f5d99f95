"""Ingest: load documents, split them along their structure, embed, and store them durably."""
