"""The SHACL report: results, severities, stable order, and the three output formats."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.compare import isomorphic

from treatykg.cli import main
from treatykg.errors import InputError
from treatykg.validation import validate

FIXTURES = Path(__file__).parent / "fixtures"

SHAPES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .

ex:ThingShape a sh:NodeShape ;
    sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:date ; sh:datatype xsd:date ; sh:maxCount 1 ;
                  sh:message "ex:date: one xsd:date."@en , "ex:date：一个日期。"@zh-Hans ] ;
    sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:datatype xsd:string ;
                  sh:message "ex:name is required."@en ] ;
    sh:property [ sh:path ex:note ; sh:minCount 1 ; sh:severity sh:Warning ;
                  sh:message "ex:note is advised."@en ] ;
    sh:property [ sh:path ( ex:part ex:name ) ; sh:maxCount 1 ;
                  sh:message "a part has one name."@en ] .
"""

GOOD = """\
@prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Special rdfs:subClassOf ex:Thing .
ex:a a ex:Special ; ex:name "A" ; ex:note "n" ; ex:date "1950-02-14"^^xsd:date .
"""

# ex:b: an ill-formed date and no name; ex:c: no note (a warning only), a part with two names.
BAD = """\
@prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:c a ex:Thing ; ex:name "C" ; ex:part [ ex:name "x" , "y" ] .
ex:b a ex:Thing ; ex:note "n" ; ex:date "1950-13-45"^^xsd:date .
"""

SH = "http://www.w3.org/ns/shacl#"
EX = "https://example.org/"


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    path = tmp_path / "shapes.ttl"
    path.write_text(SHAPES, encoding="utf-8")
    return path


def _data(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.ttl"
    path.write_text(text, encoding="utf-8")
    return path


def test_conforming_data_follows_the_asserted_class_hierarchy(tmp_path, shapes):
    report = validate([_data(tmp_path, GOOD)], [shapes], with_ontology=False)
    assert report.conforms is True
    assert report.results == []
    assert report.to_text() == "0 violations, 0 warnings\n"


def test_violations_are_found_sorted_and_described(tmp_path, shapes, capfd):
    report = validate([_data(tmp_path, BAD)], [shapes], with_ontology=False)
    assert report.conforms is False
    found = [
        (r.severity, r.focus_node, r.path, r.source_constraint_component.removeprefix(SH))
        for r in report.results
    ]
    part_name = "<https://example.org/part>/<https://example.org/name>"
    assert found == [
        ("Violation", EX + "b", EX + "date", "DatatypeConstraintComponent"),
        ("Violation", EX + "b", EX + "name", "MinCountConstraintComponent"),
        ("Violation", EX + "c", part_name, "MaxCountConstraintComponent"),
        ("Warning", EX + "c", EX + "note", "MinCountConstraintComponent"),
    ]
    date = report.results[0]
    assert date.value == "1950-13-45"
    assert date.message == "ex:date: one xsd:date."  # the English message only
    assert capfd.readouterr().err == ""  # rdflib's traceback for the bad date stays quiet


def test_warnings_alone_do_not_make_the_data_non_conforming(tmp_path, shapes):
    text = GOOD.replace(' ; ex:note "n"', "")
    report = validate([_data(tmp_path, text)], [shapes], with_ontology=False)
    assert report.conforms is True
    assert [r.severity for r in report.results] == ["Warning"]
    assert report.summary() == "0 violations, 1 warnings"


def test_text_report_has_one_block_per_result_then_the_summary(tmp_path, shapes):
    text = validate([_data(tmp_path, BAD)], [shapes], with_ontology=False).to_text()
    blocks = text.rstrip("\n").split("\n\n")
    assert len(blocks) == 5
    assert blocks[0].splitlines() == [
        "Violation: <https://example.org/b>",
        "  path:    <https://example.org/date>",
        '  value:   "1950-13-45"^^xsd:date',
        "  message: ex:date: one xsd:date.",
        "  shape:   " + blocks[0].splitlines()[4].split("shape:   ", 1)[1],
    ]
    assert blocks[0].endswith("(sh:DatatypeConstraintComponent)")
    assert blocks[-1] == "3 violations, 1 warnings"


def test_json_and_turtle_reports(tmp_path, shapes):
    report = validate([_data(tmp_path, BAD)], [shapes], with_ontology=False)
    data = json.loads(report.to_json())
    assert (data["conforms"], data["violations"], data["warnings"]) == (False, 3, 1)
    assert data["results"][0]["focus_node"] == EX + "b"
    assert set(data["results"][0]) == {
        "focus_node",
        "path",
        "message",
        "severity",
        "source_shape",
        "source_constraint_component",
        "value",
    }
    turtle = report.to_turtle()
    assert "sh:ValidationReport" in turtle
    assert turtle.count("sh:ValidationResult") == 4


def test_the_same_input_gives_the_same_report(tmp_path, shapes):
    data = _data(tmp_path, BAD)
    first = validate([data], [shapes], with_ontology=False)
    second = validate([data], [shapes], with_ontology=False)
    assert first.to_json() == second.to_json()
    assert first.to_text() == second.to_text()


# --- both engines ----------------------------------------------------------------------------

ENGINES = ["oxigraph", "pyshacl"]
WELL_TYPED = "https://w3id.org/treatykg/ontology#WellTypedLiteral"


@pytest.mark.parametrize("engine", ENGINES)
def test_every_ill_typed_literal_is_reported_even_without_a_shape(tmp_path, shapes, engine):
    text = GOOD + 'ex:a ex:born "abc"^^xsd:date ; ex:count "12x"^^xsd:integer .\n'
    report = validate([_data(tmp_path, text)], [shapes], with_ontology=False, engine=engine)
    assert report.conforms is False
    found = [
        (r.focus_node, r.path, r.value, r.source_constraint_component, r.severity)
        for r in report.results
    ]
    assert found == [
        (EX + "a", EX + "born", "abc", WELL_TYPED, "Violation"),
        (EX + "a", EX + "count", "12x", WELL_TYPED, "Violation"),
    ]
    assert report.results[0].message == '"abc" is not a valid xsd:date: an ill-typed literal'
    assert '  value:   "12x"^^xsd:integer' in report.to_text()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_literal_the_store_would_rewrite_is_judged_as_written(tmp_path, engine):
    shapes = tmp_path / "count.ttl"
    shapes.write_text(
        SHAPES.replace("sh:datatype xsd:date", "sh:datatype xsd:nonNegativeInteger"),
        encoding="utf-8",
    )
    # "5"^^xsd:int is an integer but not an xsd:nonNegativeInteger; "-1" is ill-typed as one;
    # "007" is a well-typed one. A store that keeps values would call all three integers.
    text = """\
@prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a a ex:Thing ; ex:name "A" ; ex:note "n" ; ex:date "5"^^xsd:int .
ex:b a ex:Thing ; ex:name "B" ; ex:note "n" ; ex:date "-1"^^xsd:nonNegativeInteger .
ex:c a ex:Thing ; ex:name "C" ; ex:note "n" ; ex:date "007"^^xsd:nonNegativeInteger .
"""
    report = validate([_data(tmp_path, text)], [shapes], with_ontology=False, engine=engine)
    found = [(r.focus_node, r.value, r.value_display) for r in report.results]
    assert found == [
        (EX + "a", "5", '"5"^^xsd:int'),
        (EX + "b", "-1", '"-1"^^xsd:nonNegativeInteger'),
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_without_triples_is_refused(tmp_path, shapes, engine):
    empty = _data(tmp_path, "@prefix ex: <https://example.org/> .\n# nothing else\n")
    with pytest.raises(InputError, match=r"data\.ttl: holds no triples"):
        validate([empty], [shapes], with_ontology=False, engine=engine)


def test_shapes_the_fast_engine_does_not_compile_are_checked_by_pyshacl(tmp_path):
    shapes = tmp_path / "equals.ttl"
    shapes.write_text(
        SHAPES.replace("sh:maxCount 1 ;\n", "sh:maxCount 1 ; sh:equals ex:date ;\n", 1),
        encoding="utf-8",
    )
    report = validate([_data(tmp_path, BAD)], [shapes], with_ontology=False)
    assert report.engine == "pyshacl"
    assert "sh:equals" in report.note
    assert not report.conforms


def test_an_unknown_engine_is_refused(tmp_path, shapes):
    with pytest.raises(InputError, match="unknown validation engine"):
        validate([_data(tmp_path, GOOD)], [shapes], with_ontology=False, engine="jena")


def test_the_command_refuses_an_empty_file_in_one_line(tmp_path, capsys):
    empty = _data(tmp_path, "")
    assert main(["validate", str(empty)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == f"treatykg: error: {empty}: holds no triples, so there is nothing to validate\n"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_the_command_takes_an_engine_and_reports_progress_on_request(tmp_path, capsys, engine):
    bad = _data(
        tmp_path,
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<https://example.org/x> <https://example.org/d> "1950-13-45"^^xsd:date .\n',
    )
    assert main(["validate", str(bad), "--engine", engine, "--format", "json", "--progress"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [r["source_constraint_component"] for r in data["results"]] == [WELL_TYPED]


def test_progress_lines_appear_once_the_work_takes_over_a_second(tmp_path, shapes, monkeypatch):
    import treatykg.validation as validation

    ticks = iter(range(0, 10_000, 2))  # every look at the clock: two seconds later
    monkeypatch.setattr(validation.time, "monotonic", lambda: float(next(ticks)))
    lines = []
    monkeypatch.setattr(validation, "print", lambda *a, **k: lines.append(a[0]), raising=False)
    validate([_data(tmp_path, BAD)], [shapes], with_ontology=False, progress=True)
    assert any(
        re.fullmatch(r"treatykg: validate: \d+ triples read into memory \(data\.ttl\) \(\d+ s\)", x)
        for x in lines
    ), lines
    assert any(
        re.fullmatch(r"treatykg: validate: \d+/\d+ shapes checked \(\d+ s\)", x) for x in lines
    ), lines
    assert lines[-1].startswith("treatykg: validate: done in ")


def test_a_long_step_repeats_its_progress_line(tmp_path, shapes, monkeypatch):
    # The search for focus nodes is reported, and a step that goes on (here a shape's queries,
    # made to take 0.3 s while the clock says two seconds pass at each look) repeats its line.
    import time as real_time

    import treatykg.validation as validation
    from treatykg import shacl_sparql

    ticks = iter(range(0, 10_000, 2))
    monkeypatch.setattr(validation.time, "monotonic", lambda: float(next(ticks)))
    monkeypatch.setattr(validation._Progress, "TICK", 0.02)
    lines = []
    monkeypatch.setattr(validation, "print", lambda *a, **k: lines.append(a[0]), raising=False)
    check_shape = shacl_sparql._Runner.shape

    def slow(runner, compiled_shape, target, **parts):
        if compiled_shape.path is not None and str(compiled_shape.path).endswith("/note"):
            real_time.sleep(0.3)
        check_shape(runner, compiled_shape, target, **parts)

    monkeypatch.setattr(shacl_sparql._Runner, "shape", slow)
    validate([_data(tmp_path, BAD)], [shapes], with_ontology=False, progress=True)
    found = [re.fullmatch(r"treatykg: validate: (.*) \(\d+ s\)", x) for x in lines[:-1]]
    statuses = [m.group(1) for m in found if m]
    assert len(statuses) == len(lines) - 1, lines
    assert "finding the focus nodes of <https://example.org/ThingShape>" in statuses
    assert any(a == b for a, b in itertools.pairwise(statuses)), statuses  # repeated
    assert lines[-1].startswith("treatykg: validate: done in ")


def test_the_focus_nodes_found_are_counted_in_the_progress_line(monkeypatch):
    import treatykg.validation as validation

    ticks = iter(range(0, 10_000, 2))
    monkeypatch.setattr(validation.time, "monotonic", lambda: float(next(ticks)))
    lines = []
    monkeypatch.setattr(validation, "print", lambda *a, **k: lines.append(a[0]), raising=False)
    progress = validation._Progress(True)
    progress.found(0, URIRef("https://w3id.org/treatykg/shapes#EntityShape"))
    progress.found(50_000, URIRef("https://w3id.org/treatykg/shapes#EntityShape"))
    progress.found(50_000, BNode())
    progress.stop()
    assert [re.sub(r" \(\d+ s\)$", "", line) for line in lines] == [
        "treatykg: validate: finding the focus nodes of tkgsh:EntityShape",
        "treatykg: validate: 50,000 focus nodes of tkgsh:EntityShape found",
        "treatykg: validate: 50,000 focus nodes of [] found",
    ]


@pytest.mark.parametrize("copies, workers", [(1, 1), (3, None)])
def test_small_data_is_checked_on_one_thread(tmp_path, shapes, monkeypatch, copies, workers):
    import treatykg.validation as validation
    from treatykg import shacl_sparql

    monkeypatch.setattr(validation, "SMALL_DATA", 10)  # BAD holds 7 triples
    asked = []
    check = shacl_sparql.Plan.check

    def spy(plan, notes, progress=None, workers=None, results=None):
        asked.append(workers)
        return check(plan, notes, progress, workers, results)

    monkeypatch.setattr(shacl_sparql.Plan, "check", spy)
    validate([_data(tmp_path, BAD * copies)], [shapes], with_ontology=False)
    assert asked == [workers]


def test_no_progress_line_unless_asked(tmp_path, shapes, monkeypatch, capfd):
    import treatykg.validation as validation

    ticks = iter(range(0, 10_000, 2))
    monkeypatch.setattr(validation.time, "monotonic", lambda: float(next(ticks)))
    validate([_data(tmp_path, BAD)], [shapes], with_ontology=False)
    assert capfd.readouterr().err == ""


def test_the_command_says_when_it_falls_back_to_pyshacl(tmp_path, capsys, monkeypatch):
    from treatykg import loading

    shapes = tmp_path / "equals.ttl"
    shapes.write_text(
        SHAPES.replace("sh:maxCount 1 ;\n", "sh:maxCount 1 ; sh:equals ex:date ;\n", 1),
        encoding="utf-8",
    )
    monkeypatch.setattr(loading, "shape_files", lambda: [shapes])  # shapes/ using sh:equals
    assert main(["validate", str(_data(tmp_path, BAD))]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "treatykg: note: the shapes use sh:equals, which the oxigraph engine does not compile; "
        "checked with pyshacl\n"
    )
    assert captured.out.endswith("violations, 1 warnings\n")


@pytest.mark.parametrize(
    "files, owl_rl",
    [
        (None, False),  # a complex result path (an alternative path's blank nodes)
        ([FIXTURES / "shapes" / "DateShape-date--ill-formed-date.ttl"], False),  # ill-typed
        ([FIXTURES / "owl-rl" / "prp-irp--a-treaty-replacing-itself.ttl"], True),
        ([FIXTURES / "shapes" / "ClaimShape-onePreferred--two-preferred-dates.ttl"], False),
    ],
    ids=["project", "ill-typed", "owl-rl", "sparql"],
)
def test_the_turtle_report_written_a_result_at_a_time_is_the_report_graph(files, owl_rl):
    report = validate(files, owl_rl=owl_rl)
    written = report.to_turtle()  # before .graph: the graph, once built, is what is written
    assert report._graph is None
    parsed = Graph().parse(data=written, format="turtle")
    assert isomorphic(parsed, report.graph)
    assert len(parsed) == len(report.graph) > 10
