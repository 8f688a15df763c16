"""The ontology: its metadata, its documented terms, and OWL 2 RL consistency with the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from treatykg.cli import main
from treatykg.loading import ontology_files, project_files
from treatykg.namespaces import TKG
from treatykg.rdflib_graphs import merged_graph
from treatykg.reasoning import owl_rl_inconsistencies

ONTOLOGY = URIRef("https://w3id.org/treatykg/ontology")
VANN = "http://purl.org/vocab/vann/"
ROOT = Path(__file__).resolve().parents[1]

# A person who is also an organisation: tkg:Person owl:disjointWith tkg:Organization.
DISJOINT_TTL = """\
@prefix tkg: <https://w3id.org/treatykg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/treatykg/id/person/both> a tkg:Person , tkg:Organization ;
    rdfs:label "both"@en .
"""


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return merged_graph(ontology_files())


def _terms(ontology: Graph) -> list[URIRef]:
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    return sorted(
        {
            term
            for kind in kinds
            for term in ontology.subjects(RDF.type, kind)
            if isinstance(term, URIRef) and term.startswith(str(TKG))
        }
    )


def test_ontology_metadata(ontology):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    version_iri = ontology.value(ONTOLOGY, OWL.versionIRI)
    assert version_iri is not None and str(version_iri).startswith(str(ONTOLOGY) + "/")
    assert ontology.value(ONTOLOGY, DCTERMS.license) is not None
    assert ontology.value(ONTOLOGY, DCTERMS.creator) is not None
    assert ontology.value(ONTOLOGY, URIRef(VANN + "preferredNamespacePrefix")) == Literal("tkg")
    assert ontology.value(ONTOLOGY, URIRef(VANN + "preferredNamespaceUri")) == Literal(str(TKG))


def test_the_vocabulary_has_classes_and_properties(ontology):
    terms = _terms(ontology)
    assert TKG.Treaty in terms and TKG.signatory in terms
    assert len(terms) > 50


@pytest.mark.parametrize("predicate", [RDFS.label, SKOS.definition], ids=["label", "definition"])
def test_every_term_is_documented_in_english_and_chinese(ontology, predicate):
    missing = []
    for term in _terms(ontology):
        languages = {o.language for o in ontology.objects(term, predicate)}
        missing += [
            f"{term} {predicate} @{lang}" for lang in ("en", "zh-Hans") if lang not in languages
        ]
    assert missing == []


def test_ontology_and_graph_are_consistent_under_owl_rl():
    assert owl_rl_inconsistencies(merged_graph()) == []


def test_a_planted_disjointness_clash_is_found(ontology):
    data = Graph()
    for triple in ontology:
        data.add(triple)
    data.parse(data=DISJOINT_TTL, format="turtle")
    (message,) = owl_rl_inconsistencies(data)
    assert "Disjoint classes" in message
    assert message.endswith("https://w3id.org/treatykg/id/person/both")
    assert str(TKG.Person) in message and str(TKG.Organization) in message


def test_the_check_leaves_its_input_unchanged(ontology):
    before = len(ontology)
    owl_rl_inconsistencies(ontology)
    assert len(ontology) == before


def test_validate_owl_rl_reports_the_clash_for_its_individual(tmp_path, capsys):
    bad = tmp_path / "clash.ttl"
    bad.write_text(DISJOINT_TTL, encoding="utf-8")
    assert main(["validate", "--owl-rl", "--format", "json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    owl_results = [
        r
        for r in report["results"]
        if r["source_constraint_component"] == str(TKG.OwlRlConsistency)
    ]
    assert [r["focus_node"] for r in owl_results] == ["https://w3id.org/treatykg/id/person/both"]
    assert owl_results[0]["severity"] == "Violation"
    assert owl_results[0]["message"].startswith("OWL 2 RL: Disjoint classes")


def test_validate_without_owl_rl_does_not_reason(tmp_path, capsys):
    bad = tmp_path / "clash.ttl"
    bad.write_text(DISJOINT_TTL, encoding="utf-8")
    main(["validate", "--format", "json", str(bad)])
    report = json.loads(capsys.readouterr().out)
    components = {r["source_constraint_component"] for r in report["results"]}
    assert str(TKG.OwlRlConsistency) not in components


def test_the_dataset_describes_itself_under_the_ontology_licence(ontology):
    data = merged_graph()
    void = "http://rdfs.org/ns/void#"
    (dataset,) = data.subjects(RDF.type, URIRef(void + "Dataset"))
    assert str(dataset) == "https://w3id.org/treatykg/id/dataset/treatykg"
    licence = data.value(dataset, DCTERMS.license)
    assert licence is not None and licence == ontology.value(ONTOLOGY, DCTERMS.license)
    assert str(licence) in (ROOT / "LICENSE").read_text(encoding="utf-8")
    # Every entity IRI of the graph lies in the IRI space it declares.
    space = str(data.value(dataset, URIRef(void + "uriSpace")))
    minted = {s for s in data.subjects() if isinstance(s, URIRef) and "/treatykg/id/" in s}
    assert minted and all(s.startswith(space) for s in minted)

    # The vocabularies it names are those whose terms the graph uses as predicates or classes.
    def namespace(iri: URIRef) -> str:
        return str(iri)[: max(str(iri).rfind("#"), str(iri).rfind("/")) + 1]

    graph_only = merged_graph([f for f in project_files() if "ontology" not in str(f)])
    used = {namespace(p) for p in graph_only.predicates()} - {str(RDF)}
    used |= {namespace(c) for c in graph_only.objects(None, RDF.type)}
    named = {str(v) for v in data.objects(dataset, URIRef(void + "vocabulary"))}
    assert named == used
    # The root resource is the 1950 treaty, and it is in the graph.
    root = data.value(dataset, URIRef(void + "rootResource"))
    assert (root, RDF.type, TKG.Treaty) in data
