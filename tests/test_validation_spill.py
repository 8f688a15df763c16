"""A report of many results keeps them in a database on disk (``SPILL_THRESHOLD``), and so do
the notes on many literals the store keeps in another form than written (``NOTES_THRESHOLD``).

The report's text, JSON and Turtle and its exit status must be those of the report kept in
memory, byte for byte, and the temporary folders must go away once the report is written, after
an error and after Ctrl-C. The memory it saves is measured by ``benchmarks/validate_benchmark.py
--violations``, not here.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF

from treatykg import shacl_sparql, tempfiles, validation
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
    assert _relabelled(spilled.to_turtle()) == _relabelled(memory.to_turtle())
    assert len(spilled.results) == len(memory.results)
    assert list(spilled.results) == memory.results


def _relabelled(turtle: str) -> str:
    """Turtle with the data's blank nodes named in the order they first appear (two loads of
    the same data give them other names)."""
    names: dict[str, str] = {}
    return re.sub(
        r"_:([0-9a-f]{16,32})\b", lambda m: names.setdefault(m.group(1), f"_:n{len(names)}"), turtle
    )


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
    def interrupted(*_args, **_kwargs):
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


# Fixtures with literals the store keeps in another form than written (an ill-typed date,
# article numbers of a derived integer type, judged on the literal as written).
NOTED = [
    FIXTURES / name
    for name in (
        "DateShape-date--ill-formed-date.ttl",
        "ArticleShape-articleNumber--zero.ttl",
        "ArticleShape-uniqueNumber--two-articles-numbered-1.ttl",
        "TreatyShape-articleCountMatches--six-declared-one-listed.ttl",
    )
]


@pytest.mark.parametrize("path", NOTED, ids=lambda p: p.stem)
def test_literal_notes_on_disk_give_the_same_report(path, scratch, monkeypatch):
    memory = validate([path])
    made = []
    real = shacl_sparql.SpilledNotes.__init__

    def counting(notes):
        real(notes)
        made.append(notes.folder)

    monkeypatch.setattr(shacl_sparql.SpilledNotes, "__init__", counting)
    monkeypatch.setattr(shacl_sparql, "NOTES_THRESHOLD", 0)
    on_disk = validate([path])
    assert len(made) == 1 and made[0].parent == scratch
    assert on_disk.to_text() == memory.to_text()
    assert on_disk.to_json() == memory.to_json()
    assert on_disk.to_turtle() == memory.to_turtle()
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("path", NOTED, ids=lambda p: p.stem)
def test_noted_values_found_by_their_datatypes_give_the_same_report(path, monkeypatch):
    # Past NOTED_VALUES noted literals, a shape's noted values are found by reading the values
    # of the datatypes the store changed instead of joining the noted literals.
    memory = validate([path])
    queries = []
    real = shacl_sparql._Runner._query

    def spy(runner, text):
        queries.append(text)
        return real(runner, text)

    monkeypatch.setattr(shacl_sparql._Runner, "_query", spy)
    monkeypatch.setattr(shacl_sparql, "NOTED_VALUES", 0)
    scanned = validate([path])
    assert scanned.to_text() == memory.to_text()
    assert scanned.to_json() == memory.to_json()
    assert any("datatype(?v) IN (" in q for q in queries)
    assert not any("VALUES ?v" in q for q in queries)


def test_literal_notes_on_disk_read_as_a_dict():
    notes = shacl_sparql.SpilledNotes()
    try:
        integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
        one, zero_one = ox.Literal("1", datatype=integer), ox.Literal("01", datatype=integer)
        s, blank, p = (
            ox.NamedNode("https://example.org/s"),
            ox.BlankNode("b1"),
            ox.NamedNode("urn:p"),
        )
        french = ox.Literal("un", language="fr")
        notes.add(one, (s, p, zero_one))
        notes.add(one, (blank, p, zero_one))
        notes.add(french, (s, p, french))
        assert one in notes and french in notes and zero_one not in notes and s not in notes
        assert notes[one] == [(s, p, zero_one), (blank, p, zero_one)]
        assert notes.get(zero_one, ()) == () and len(notes) == 2
        assert list(notes) == [one, french]
        assert list(notes.chunks(1)) == [[one], [french]]
    finally:
        notes.close()
    assert not notes.folder.exists()


def test_the_notes_folder_is_removed_after_ctrl_c(scratch, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shacl_sparql, "NOTES_THRESHOLD", 0)
    monkeypatch.setattr(shacl_sparql.Plan, "check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        validate([NOTED[1]])
    assert list(scratch.iterdir()) == []


# rdflib warns about the ill-typed boolean and double it reads and writes: expected here.
_RDFLIB_WARNINGS = [
    pytest.mark.filterwarnings("ignore:Parsing weird boolean:UserWarning"),
    pytest.mark.filterwarnings("ignore:Serializing weird numerical:UserWarning"),
]


def _rdflib_warnings(test):
    for mark in _RDFLIB_WARNINGS:
        test = mark(test)
    return test


def _ill_typed(tmp_path: Path) -> list[Path]:
    """Ill-typed literals of several kinds and subjects (blank, non-ASCII IRI), written with
    newlines, quotes and backslashes, two of datatypes rdflib writes its own way (a double; a
    boolean, which rdflib reads as false), one
    named by a shape's result (the ill-formed date of a signing, kept once), one in both files."""
    one, two = tmp_path / "one.ttl", tmp_path / "two.ttl"
    one.write_text(
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "@prefix ex: <https://example.org/> .\n"
        "@prefix tkg: <https://w3id.org/treatykg/ontology#> .\n"
        "<https://w3id.org/treatykg/id/event/treaty-1950-signing> a tkg:Signing ;\n"
        '    tkg:date "1950-02-30"^^xsd:date .\n'
        'ex:a ex:n "12x"^^xsd:integer , "maybe"^^xsd:boolean , "abc"^^xsd:double ,\n'
        '    """1950\n02"""^^xsd:date .\n'
        '_:b ex:n "say \\"no\\" \\\\ here"^^xsd:int .\n'
        '<https://example.org/北京> ex:n "一九五〇"^^xsd:date .\n'
        'ex:both ex:n "x1"^^xsd:decimal .\n',
        encoding="utf-8",
    )
    xsd = "http://www.w3.org/2001/XMLSchema#"
    two.write_text(
        f'<https://example.org/both> <https://example.org/n> "x1"^^<{xsd}decimal> .\n'
        f'<https://example.org/c> <https://example.org/n> "1950-13-01"^^<{xsd}date> .\n',
        encoding="utf-8",
    )
    return [one, two]


@_rdflib_warnings
def test_many_ill_typed_literals_give_the_same_report_on_disk(tmp_path, scratch, monkeypatch):
    files = _ill_typed(tmp_path)
    memory = validate(files)
    ill = [r for r in memory.results if r.source_constraint_component.endswith("#WellTypedLiteral")]
    # Each once; the signing's date is named by DateShape's result instead.
    assert sorted(r.value for r in ill) == [
        "12x", "1950\n02", "1950-13-01", "abc", "false", 'say "no" \\ here', "x1", "一九五〇",
    ]  # fmt: skip
    assert any(r.value == "1950-02-30" and "DateShape" in r.source_shape for r in memory.results)
    # Past the thresholds the ill-typed literals are noted on disk and written to the report's
    # database before the shapes are checked.
    monkeypatch.setattr(shacl_sparql, "NOTES_THRESHOLD", 2)
    _spill(monkeypatch, 3)
    made = []
    real = validation._ill_typed_rows

    def counting(triples, maker):
        for row in real(triples, maker):
            made.append(row)
            yield row

    monkeypatch.setattr(validation, "_ill_typed_rows", counting)
    with validate(files) as spilled:
        _same(spilled, memory)
    assert len(made) == 9  # the eight and the signing's, dropped in the database
    assert list(scratch.iterdir()) == []


def test_ill_typed_notes_are_kept_once_in_the_order_first_seen(monkeypatch):
    date = ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
    p = ox.NamedNode("urn:p")
    triples = [
        (ox.NamedNode(f"urn:s{i % 4}"), p, ox.Literal(f"x{i % 4}", datatype=date))
        for i in (3, 1, 3, 0, 2, 1, 0)
    ] + [(ox.BlankNode("b"), p, ox.Literal("x", language="en"))] * 2
    expected = [triples[0], triples[1], triples[3], triples[4], triples[-1]]
    for threshold in (100, 2):
        monkeypatch.setattr(shacl_sparql, "NOTES_THRESHOLD", threshold)
        notes = shacl_sparql.LiteralNotes()
        try:
            for triple in triples:
                notes.add(triple[2], triple, ill=True)
            notes.add(ox.Literal("01", datatype=date), (triples[0][0], p, triples[0][2]))
            count, entries = notes.ill_typed()
            assert (count, list(entries)) == (5, expected)
            assert isinstance(notes.by_stored, shacl_sparql.SpilledNotes) == (threshold == 2)
        finally:
            notes.close()


@_rdflib_warnings
def test_writing_many_ill_typed_literals_and_sorting_are_progress_lines(
    tmp_path, scratch, monkeypatch
):
    ticks = iter(range(0, 10_000, 2))  # every look at the clock: two seconds later
    monkeypatch.setattr(validation.time, "monotonic", lambda: float(next(ticks)))
    lines = []
    monkeypatch.setattr(validation, "print", lambda *a, **k: lines.append(a[0]), raising=False)
    _spill(monkeypatch, 3)
    with validate(_ill_typed(tmp_path), progress=True) as report:
        assert isinstance(report.results, SpilledResults)
    statuses = [re.sub(r" \(\d+ s\)$", "", line) for line in lines]
    assert "treatykg: validate: writing 9 ill-typed literals into the report on disk" in statuses
    assert statuses.index("treatykg: validate: sorting the results on disk") > statuses.index(
        "treatykg: validate: writing 9 ill-typed literals into the report on disk"
    )
