"""Loading RDF: the strict parser, named graphs per source, and a second parser's cross-check."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.compare import isomorphic

from treatykg import loading, rdflib_graphs
from treatykg.errors import InputError, ParseError
from treatykg.namespaces import GRAPH
from treatykg.paths import graph_dir, ontology_dir, shapes_dir

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING, XSD_DATE = URIRef(XSD + "string"), URIRef(XSD + "date")
DATA_FOLDERS = {"ontology": ontology_dir(), "graph": graph_dir(), "shapes": shapes_dir()}


def _turtle_files_that_exist() -> list[Path]:
    files: list[Path] = []
    for folder in DATA_FOLDERS.values():
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*.ttl") if not p.name.startswith("."))
    return files


PROJECT_TURTLE = _turtle_files_that_exist()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- named graphs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "graph"),
    [
        (graph_dir() / "treaties" / "treaty-1950.ttl", GRAPH + "treaties"),
        (graph_dir() / "wikidata" / "sub" / "people.ttl", GRAPH + "wikidata"),
        (graph_dir() / "places.ttl", GRAPH + "places"),
        (ontology_dir() / "treatykg.ttl", GRAPH + "ontology"),
        (ontology_dir() / "alignments.ttl", GRAPH + "ontology"),
        (shapes_dir() / "treaty.ttl", GRAPH + "shapes"),
        (Path("/somewhere/else/my-extension.ttl"), GRAPH + "user/my-extension"),
        (Path("/somewhere/else/with space.ttl"), GRAPH + "user/with%20space"),
    ],
)
def test_graph_name_for(path, graph):
    assert loading.graph_name_for(path) == graph


def test_a_relative_user_path_is_a_user_graph(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert loading.graph_name_for("notes.ttl") == GRAPH + "user/notes"


# --- strict parsing ------------------------------------------------------------------------


def test_parse_error_has_path_line_and_column(tmp_path):
    path = _write(tmp_path, "planted.ttl", '@prefix ex: <https://e/> .\n\nex:a ex:b "x" ;; ?? .\n')
    with pytest.raises(ParseError) as error:
        loading.parse_file(path)
    assert (error.value.path, error.value.line, error.value.column) == (str(path), 3, 18)
    assert str(error.value).startswith(f"{path}:3:18: ")
    assert "Parser error" not in str(error.value)  # the position is not repeated in the message
    assert error.value.exit_code == 2


def test_an_error_that_spans_lines_is_located_once(tmp_path):
    # pyoxigraph says "between line 1 column 47 and line 2 column 1" for an unclosed string; the
    # message repeated that after path:1:47 (seen in the property-based tests).
    path = _write(tmp_path, "open.ttl", '<http://example.org/a> <http://example.org/b> "c .\n')
    with pytest.raises(ParseError) as error:
        loading.parse_file(path)
    assert str(error.value) == f"{path}:1:47: Unexpected end of file"


def test_a_file_name_that_is_not_utf8_keeps_its_bytes_in_the_graph_name(tmp_path):
    # "\xff.ttl" comes in as "\udcff.ttl"; its graph name was a traceback (found by the
    # property-based tests).
    assert loading.graph_name_for(tmp_path / "caf\udce9.ttl") == GRAPH + "user/caf%E9"


def test_an_iri_with_a_space_is_refused(tmp_path):
    path = _write(tmp_path, "space.ttl", "<https://e/a> <https://e/b> <https://e/c d> .\n")
    with pytest.raises(ParseError, match="Invalid IRI") as error:
        loading.parse_file(path)
    assert (error.value.line, error.value.column) == (1, 29)


def test_a_missing_dot_is_reported_where_the_parser_notices_it(tmp_path):
    # The statement on line 2 lacks its dot; the parser finds out on line 3.
    text = "@prefix ex: <https://e/> .\nex:a ex:b ex:c\nex:d ex:e ex:f .\n"
    with pytest.raises(ParseError, match="dot is expected") as error:
        loading.parse_file(_write(tmp_path, "dot.ttl", text))
    assert error.value.line == 3


def test_a_missing_file_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(InputError, match=r"no-such\.ttl: no such file"):
        loading.parse_file(tmp_path / "no-such.ttl")


def test_a_missing_folder_is_an_input_error_naming_it(tmp_path, monkeypatch):
    missing = tmp_path / "ontology"
    monkeypatch.setattr(loading, "ontology_dir", lambda: missing)
    with pytest.raises(InputError, match=f"{missing}: no such folder"):
        loading.project_files()


def test_named_graphs_inside_a_file_are_refused(tmp_path):
    path = _write(tmp_path, "graphs.trig", "<https://e/g> { <https://e/a> <https://e/b> 1 }\n")
    with pytest.raises(ParseError):
        loading.parse_file(path)


# --- the store, the dataset, the merged graph -------------------------------------------


def test_each_file_goes_to_its_own_named_graph(tmp_path):
    a = _write(tmp_path, "a.ttl", "<https://e/a> <https://e/p> 1 , 2 .\n")
    b = _write(tmp_path, "b.ttl", "<https://e/b> <https://e/p> 1 .\n")
    assert loading.count_triples([a, b]) == {GRAPH + "user/a": 2, GRAPH + "user/b": 1}
    assert loading.count_triples([(a, "https://e/g")]) == {"https://e/g": 2}

    store = loading.load_store([a, b])
    assert {q.graph_name.value for q in store} == {GRAPH + "user/a", GRAPH + "user/b"}

    dataset = rdflib_graphs.load_rdflib_dataset([a, b])
    assert len(dataset.graph(URIRef(GRAPH + "user/a"))) == 2
    assert len(dataset.graph(URIRef(GRAPH + "user/b"))) == 1
    assert len(rdflib_graphs.merged_graph([a, b])) == 3


def test_blank_node_labels_do_not_merge_across_files(tmp_path):
    a = _write(tmp_path, "a.ttl", "_:x <https://e/p> 1 .\n")
    b = _write(tmp_path, "b.ttl", "_:x <https://e/p> 2 .\n")
    subjects = set(rdflib_graphs.merged_graph([a, b]).subjects())
    assert len(subjects) == 2
    assert all(isinstance(s, BNode) for s in subjects)


LITERALS = """\
@prefix ex: <https://e/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:t ex:title "Treaty of Friendship"@en , "中苏友好同盟互助条约"@zh-Hans ,
        "Договор о дружбе"@ru ;
    ex:signed "1950-02-14"^^xsd:date ;
    ex:term 30 ;
    ex:share 0.5 ;
    ex:flag true ;
    ex:note "plain" ;
    ex:custom "x"^^ex:myType ;
    ex:article [ ex:number 1 ] , [ ex:number 2 ] .
"""


def test_literals_keep_language_and_datatype_through_conversion(tmp_path):
    path = _write(tmp_path, "literals.ttl", LITERALS)
    converted = rdflib_graphs.merged_graph([path])
    reference = rdflib.Graph().parse(path, format="turtle")
    assert isomorphic(converted, reference)

    t, ex = URIRef("https://e/t"), "https://e/"
    titles = set(converted.objects(t, URIRef(ex + "title")))
    assert Literal("中苏友好同盟互助条约", lang="zh-Hans") in titles
    assert {lit.language for lit in titles} == {"en", "zh-Hans", "ru"}  # the case as written
    assert converted.value(t, URIRef(ex + "signed")) == Literal("1950-02-14", datatype=XSD_DATE)
    assert converted.value(t, URIRef(ex + "term")).datatype == URIRef(XSD + "integer")
    assert converted.value(t, URIRef(ex + "share")).datatype == URIRef(XSD + "decimal")
    assert converted.value(t, URIRef(ex + "custom")).datatype == URIRef(ex + "myType")


def test_an_explicit_xsd_string_becomes_a_plain_literal(tmp_path):
    # RDF 1.1 makes "x" and "x"^^xsd:string the same literal; rdflib's own parser tells them
    # apart, the conversion yields the plain form for both.
    path = _write(tmp_path, "s.ttl", f'<https://e/a> <https://e/p> "x"^^<{XSD_STRING}> .\n')
    (literal,) = rdflib_graphs.merged_graph([path]).objects()
    assert literal == Literal("x")
    assert literal.datatype is None


def test_an_ill_typed_literal_is_kept_quietly(tmp_path, capfd):
    path = _write(
        tmp_path,
        "date.ttl",
        f'<https://e/t> <https://e/signed> "1950-13-45"^^<{XSD_DATE}> .\n',
    )
    (literal,) = rdflib_graphs.merged_graph([path]).objects()
    assert literal.ill_typed
    assert capfd.readouterr().err == ""  # no traceback from rdflib's lexical-form converter


# --- a second, independent parser agrees on every project file ---------------------------


def test_every_existing_data_folder_has_turtle_files():
    for name, folder in DATA_FOLDERS.items():
        if folder.is_dir():
            assert any(folder.rglob("*.ttl")), f"{name}/ exists but holds no .ttl file"


def test_project_files_lists_every_ontology_and_graph_file():
    if not (ontology_dir().is_dir() and graph_dir().is_dir()):
        pytest.skip("ontology/ or graph/ is not written yet")
    expected = [p for p in PROJECT_TURTLE if not p.is_relative_to(shapes_dir())]
    listed = loading.project_files()
    assert sorted(p for p, _ in listed) == sorted(expected)
    assert listed == sorted(listed, key=lambda pair: (pair[1] != GRAPH + "ontology",))
    assert loading.project_files() == listed  # deterministic


def _without_xsd_string(term):
    if isinstance(term, Literal) and term.datatype == XSD_STRING:
        return Literal(str(term))
    return term


def _ground(graph: rdflib.Graph) -> set:
    return {
        tuple(_without_xsd_string(t) for t in triple)
        for triple in graph
        if not any(isinstance(t, BNode) for t in triple)
    }


@pytest.mark.parametrize(
    "path",
    PROJECT_TURTLE,
    ids=[p.relative_to(p.parents[1]).as_posix() for p in PROJECT_TURTLE],
)
def test_rdflib_and_pyoxigraph_read_the_same_triples(path):
    oxigraph_triples = {(q.subject, q.predicate, q.object) for q in loading.parse_file(path)}
    converted = rdflib_graphs.merged_graph([path])
    reference = rdflib.Graph().parse(path, format="turtle")
    assert len(oxigraph_triples) == len(converted) == len(reference)
    assert _ground(converted) == _ground(reference)
