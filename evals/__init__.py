"""Benchmarks and evaluations of Briefing (run through ``briefing bench``)."""
