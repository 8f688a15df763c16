"""Validation reports shared by the shape and engine tests (computed once per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from treatykg.validation import Report, validate


@cache
def fast_report(path: Path) -> Report:
    """The default engine's report on one fixture, validated with the ontology."""
    return validate([path])
