"""Answering: retrieval, lexical index, conversation, answerers, citations, the chat engine."""
