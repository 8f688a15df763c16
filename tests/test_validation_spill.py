"""A report of many results keeps them in a database on disk (``SPILL_THRESHOLD``).

Its text, JSON and Turtle and its exit status must be those of the report kept in memory, byte
for byte, and its temporary folder must go away once the report is written, after an error and
after Ctrl-C. The memory it saves is measured by ``benchmarks/validate_benchmark.py
--violations``, not here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from rdflib import RDF

from treatykg import tempfiles, validation
from treatykg.cli import main
from treatykg.errors import TreatyKGError
from treatykg.validation import SH, SpilledResults, validate

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
# Ill-typed literals (one named by a shape's result), literals the store changes, SPARQL-based
# constraints, complex paths (alternative, inverse), a warning.
CHOSEN = [
    FIXTURES / name
    for name in (
        "DateShape-date--ill-formed-date.ttl",
        "ArticleShape-articleNumber--zero.ttl",
        "CoordinatesShape-lat--out-of-range.ttl",
        "ClaimShape-onePreferred--two-preferred-dates.ttl",
        "ConceptShape-label--no-label.ttl",
        "OfficeHoldingShape-holder--held-by-nobody.ttl",
        "ImageShape-subject--nothing-commemorated-or-depicted.ttl",
    )
]
ID = "https://w3id.org/treatykg/id/"
PERSON = "<https://w3id.org/treatykg/ontology#Person>"
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
DATE = "<http://www.w3.org/2001/XMLSchema#date>"


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """The system's temporary folder, for this test alone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def spill(monkeypatch):
    """Spill every report of at least one result."""
    monkeypatch.setattr(validation, "SPILL_THRESHOLD", 0)


def _spill(monkeypatch, threshold: int = 0) -> None:
    monkeypatch.setattr(validation, "SPILL_THRESHOLD", threshold)


def _same(spilled, memory) -> None:
    assert isinstance(spilled.results, SpilledResults)
    assert isinstance(memory.results, list)
    assert spilled.conforms == memory.conforms
    assert spilled.to_text() == memory.to_text()
    assert spilled.to_json() == memory.to_json()
    assert spilled.to_turtle() == memory.to_turtle()
    assert len(spilled.results) == len(memory.results)
    assert list(spilled.results) == memory.results


@pytest.mark.parametrize("path", CHOSEN, ids=lambda p: p.stem)
def test_a_fixture_gives_the_same_report_spilled(path, scratch, monkeypatch):
    # Not the session's cached report: a complex path's blank node is named as in the shapes
    # graph, parsed again when other shapes have pushed it out of the cache.
    memory = validate([path])
    _spill(monkeypatch)
    with validate([path]) as spilled:
        _same(spilled, memory)
        [folder] = scratch.iterdir()
        assert folder.name.startswith(f"treatykg-validate-{os.getpid()}-")
        assert tempfiles._NAME.match(folder.name)  # so a killed run's is removed by the next
    assert list(scratch.iterdir()) == []


def _many(tmp_path: Path, persons: int) -> Path:
    """Bare persons (three violations each), one with an ill-typed date."""
    data = tmp_path / "many.nt"
    lines = [f"<{ID}person/p{i}> {TYPE} {PERSON} .\n" for i in range(persons)]
    lines.append(f'<{ID}person/p7> <https://example.org/when> "1950-02-30"^^{DATE} .\n')
    data.write_text("".join(lines), encoding="utf-8")
    return data


def test_many_results_give_the_same_report_spilled(tmp_path, scratch, monkeypatch):
    data = _many(tmp_path, 150)
    memory = validate([data])
    assert isinstance(memory.results, list) and len(memory.results) == 451
    _spill(monkeypatch, 100)
    with validate([data]) as spilled:
        _same(spilled, memory)
        assert len(set(spilled.graph.subjects(RDF.type, SH.ValidationResult))) == 451
        results = spilled.results
        assert [results[0], results[200], results[-1]] == [
            memory.results[0], memory.results[200], memory.results[-1]
        ]  # fmt: skip
        assert results[448:] == memory.results[448:]
        with pytest.raises(IndexError):
            results[451]
        assert spilled.summary() == memory.summary() == "451 violations, 0 warnings"
        ill = [r for r in results if r.source_constraint_component.endswith("#WellTypedLiteral")]
        assert [(r.focus_node, r.value) for r in ill] == [(f"{ID}person/p7", "1950-02-30")]
    assert list(scratch.iterdir()) == []


def test_the_command_prints_the_same_spilled(tmp_path, scratch, monkeypatch, capsys):
    data = _many(tmp_path, 40)
    printed = {}
    for threshold in (100_000, 10):
        monkeypatch.setattr(validation, "SPILL_THRESHOLD", threshold)
        for fmt in ("text", "json", "turtle"):
            code = main(["validate", "--format", fmt, str(data)])
            printed[threshold, fmt] = code, capsys.readouterr()
            assert list(scratch.iterdir()) == []
    for fmt in ("text", "json", "turtle"):
        assert printed[10, fmt] == printed[100_000, fmt]
        assert printed[10, fmt][0] == 1


def test_the_folder_is_removed_after_an_error(tmp_path, scratch, spill, monkeypatch):
    def failing(*_args):
        raise TreatyKGError("the OWL 2 RL check failed")

    monkeypatch.setattr(validation, "owl_rl_inconsistencies", failing)
    with pytest.raises(TreatyKGError, match="OWL 2 RL"):
        validate([_many(tmp_path, 5)], owl_rl=True)
    assert list(scratch.iterdir()) == []


def test_the_folder_is_removed_after_ctrl_c(tmp_path, scratch, spill, monkeypatch):
    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(SpilledResults, "finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        validate([_many(tmp_path, 5)])
    assert list(scratch.iterdir()) == []


def test_no_room_for_the_database_is_a_one_line_error(tmp_path, scratch, spill, monkeypatch):
    real = SpilledResults.add
    monkeypatch.setattr(SpilledResults, "add", lambda s, part, rows: real(s, part, _full(rows)))
    with pytest.raises(TreatyKGError) as error:
        validate([_many(tmp_path, 5)])
    assert str(error.value).startswith("the report's temporary database in ")
    assert str(error.value).endswith(
        "failed: database or disk is full (set TMPDIR to a folder with more room)"
    )
    assert list(scratch.iterdir()) == []


def _full(rows):
    """Rows whose writing fails as on a full disk."""
    import sqlite3

    yield from ()
    raise sqlite3.OperationalError("database or disk is full")
