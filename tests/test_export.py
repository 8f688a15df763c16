"""``treatykg export``: one file that a store's bulk loader, or another parser, reads back."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from processes import run_treatykg
from treatykg.catalogue import ENTITY_TYPES
from treatykg.cli import main
from treatykg.export import FORMATS, dataset_quads
from treatykg.loading import load_store
from treatykg.server import oxigraph_binary

BAD_TURTLE = "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c\nex:d ex:e ex:f .\n"


@pytest.fixture(scope="module")
def local() -> list[ox.Quad]:
    """The project's quads as the files write them (what the export must hold)."""
    return dataset_quads()


def test_literals_keep_their_datatype_and_lexical_form(local, tmp_path):
    """Not as Oxigraph's store keeps them (by value): the shapes require the datatypes."""
    out = tmp_path / "treatykg.nq"
    assert main(["export", "-o", str(out)]) == 0
    back = list(ox.parse(path=out, format=ox.RdfFormat.N_QUADS))
    article = ox.NamedNode("https://w3id.org/treatykg/id/article/treaty-1950-article-6")
    number = ox.NamedNode("https://w3id.org/treatykg/ontology#articleNumber")
    six = ox.Literal("6", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#positiveInteger"))
    assert {q.object for q in back if (q.subject, q.predicate) == (article, number)} == {six}
    assert six not in {q.object for q in load_store()}  # what the store would have written


def _graph_counts(quads) -> Counter:
    return Counter(q.graph_name.value for q in quads)


def _without_blank_nodes(quads) -> set:
    return {
        q
        for q in quads
        if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }


@pytest.mark.parametrize("suffix", [".trig", ".nq"])
def test_a_dataset_file_keeps_every_named_graph_and_every_quad(local, tmp_path, capsys, suffix):
    out = tmp_path / f"treatykg{suffix}"
    assert main(["export", "-o", str(out)]) == 0
    rdf_format = FORMATS["trig" if suffix == ".trig" else "nquads"][0]
    back = list(ox.parse(path=out, format=rdf_format))
    assert len(back) == len(local)
    assert _graph_counts(back) == _graph_counts(local)
    # Blank nodes get new names in a new parse; everything else is the same quad.
    assert _without_blank_nodes(back) == _without_blank_nodes(local)
    err = capsys.readouterr().err
    assert f"wrote {len(local)} quads in {len(_graph_counts(local))} named graphs" in err


def test_the_trig_file_reads_the_same_in_rdflib(local, tmp_path):
    out = tmp_path / "treatykg.trig"
    assert main(["export", "-o", str(out)]) == 0
    dataset = rdflib.Dataset()
    dataset.parse(out, format="trig")
    counts = {
        str(graph.identifier): len(graph)
        for graph in dataset.graphs()
        if str(graph.identifier).startswith("https://w3id.org/treatykg/graph/")
    }
    assert counts == dict(_graph_counts(local))


@pytest.mark.parametrize("name", ["turtle", "ntriples"])
def test_a_graph_file_holds_the_union_of_the_named_graphs(local, tmp_path, name):
    out = tmp_path / "union.out"
    assert main(["export", "-o", str(out), "--format", name]) == 0
    back = list(ox.parse(path=out, format=FORMATS[name][0]))
    union = {(q.subject, q.predicate, q.object) for q in local}
    assert len(back) == len(union) < len(local)  # some triples are stated by two sources
    named = {(t.subject, t.predicate, t.object) for t in _without_blank_nodes(back)}
    assert named == {(q.subject, q.predicate, q.object) for q in _without_blank_nodes(local)}


def test_standard_output_gets_trig_and_the_summary_goes_to_stderr(tmp_path, local):
    result = run_treatykg("export", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    back = list(ox.parse(result.stdout.encode("utf-8"), format=ox.RdfFormat.TRIG))
    assert len(back) == len(local)
    assert result.stderr.startswith("treatykg: wrote ") and result.stderr.count("\n") == 1


def test_oxigraph_bulk_loads_the_nquads_file_to_the_local_count(local, tmp_path):
    """The real store's own loader (`oxigraph load`) takes the file and holds every quad."""
    out = tmp_path / "treatykg.nq"
    assert main(["export", "-o", str(out)]) == 0
    location = tmp_path / "store"
    subprocess.run(
        [oxigraph_binary(), "load", "--location", str(location), "--file", str(out)],
        check=True,
        capture_output=True,
    )
    store = ox.Store(str(location))
    try:
        assert len(store) == len(local)
        assert _graph_counts(store) == _graph_counts(local)
    finally:
        del store


def test_the_file_has_the_mode_of_any_new_file(tmp_path):
    # The temporary file it is written to is private (mkstemp: 0600); the export is not.
    out = tmp_path / "treatykg.trig"
    assert main(["export", "-o", str(out)]) == 0
    mask = os.umask(0o022)
    try:
        assert main(["export", "-o", str(out)]) == 0
    finally:
        os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path):
    out = tmp_path / "treatykg.nq"
    out.write_text("# the previous export\n", encoding="utf-8")
    out.chmod(0o640)
    assert main(["export", "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sum(1 for _ in ox.parse(path=out, format=ox.RdfFormat.N_QUADS)) > 1000


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    # dist/latest.trig -> releases/treatykg.trig: the release gets the new content.
    (tmp_path / "releases").mkdir()
    real = tmp_path / "releases" / "treatykg.trig"
    real.write_text("# the previous export\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "latest.trig"
    link.symlink_to(Path("releases") / "treatykg.trig")
    assert main(["export", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("releases") / "treatykg.trig")
    assert real.read_text(encoding="utf-8").startswith("@prefix")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.trig", "releases"]
    assert [p.name for p in (tmp_path / "releases").iterdir()] == ["treatykg.trig"]


def test_a_dangling_link_is_written_through_to_a_new_file(tmp_path):
    link = tmp_path / "latest.nt"
    link.symlink_to(tmp_path / "new.nt")
    assert main(["export", "-o", str(link)]) == 0
    assert link.is_symlink() and (tmp_path / "new.nt").stat().st_size > 0
    assert stat.S_IMODE((tmp_path / "new.nt").stat().st_mode) == 0o666 & ~_umask()


def test_a_link_into_a_missing_folder_is_one_line(tmp_path, capsys):
    link = tmp_path / "latest.nt"
    link.symlink_to(tmp_path / "gone" / "new.nt")
    assert main(["export", "-o", str(link)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatykg: error: {link}: links to ") and "no such folder" in err
    assert err.count("\n") == 1 and link.is_symlink()


def test_bad_input_leaves_a_linked_file_and_the_link_as_they_were(tmp_path, capsys):
    real = tmp_path / "real.trig"
    real.write_text("# the previous export\n", encoding="utf-8")
    link = tmp_path / "latest.trig"
    link.symlink_to(real)
    bad = tmp_path / "bad.ttl"
    bad.write_text(BAD_TURTLE, encoding="utf-8")
    assert main(["export", str(bad), "-o", str(link)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "# the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ttl", "latest.trig", "real.trig"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_user_file_is_exported_in_its_own_graph(tmp_path):
    mine = tmp_path / "mine.ttl"
    mine.write_text("<https://example.org/a> <https://example.org/b> 1 .\n", encoding="utf-8")
    out = tmp_path / "mine.nq"
    assert main(["export", str(mine), "-o", str(out)]) == 0
    (quad,) = ox.parse(path=out, format=ox.RdfFormat.N_QUADS)
    assert quad.graph_name.value == "https://w3id.org/treatykg/graph/user/mine"


# --- bad input: one line, exit status 2, and what was there stays --------------------------------


def test_bad_input_leaves_an_existing_file_as_it_was(tmp_path, capsys):
    out = tmp_path / "treatykg.trig"
    out.write_text("# the previous export\n", encoding="utf-8")
    bad = tmp_path / "bad.ttl"
    bad.write_text(BAD_TURTLE, encoding="utf-8")
    assert main(["export", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatykg: error: {bad}:3:") and err.count("\n") == 1
    assert out.read_text(encoding="utf-8") == "# the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ttl", "treatykg.trig"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("missing-folder/treatykg.trig", "no such folder"),
        ("treatykg.rdfx", "cannot tell the format from the suffix"),
        (".", "is a folder"),
    ],
)
def test_a_bad_output_is_one_line(tmp_path, capsys, monkeypatch, output, message):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "-o", output]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatykg: error: {output}") and message in err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["export", "--format", "rdfxml"])
    assert stop.value.code == 2
    assert "invalid choice: 'rdfxml'" in capsys.readouterr().err


def test_formats_and_suffixes_are_documented_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "treatykg export" in readme
    for _, _, suffixes in FORMATS.values():
        assert any(suffix in readme for suffix in suffixes)


def test_there_is_a_prefix_for_every_type_of_the_iri_policy():
    common = Path(__file__).resolve().parents[1] / "shapes" / "common.ttl"
    (types,) = re.findall(r"treatykg/id/\(([a-z|]+)\)/", common.read_text(encoding="utf-8"))
    assert set(types.split("|")) == set(ENTITY_TYPES)
