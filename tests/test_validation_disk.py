"""Validation on an on-disk store, for data over the memory limit (``--memory-limit``).

The on-disk store must give exactly the report the in-memory one gives, and its temporary
folder must go away after a success, an error, Ctrl-C, and (by the next command) ``kill -9``.
The memory each takes is measured by ``benchmarks/validate_benchmark.py --disk``, not here.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from rdflib.compare import isomorphic

from reports import fast_report
from test_shapes import VALID_FIXTURE
from treatykg import loading, shacl_sparql
from treatykg.cli import main
from treatykg.memory_budget import estimated_validation_memory, parse_size
from treatykg.validation import validate

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
# Fixtures whose literals the store keeps differently from how they are written (ill-typed,
# derived integer types, decimals), SPARQL-based constraints, and the valid one.
CHOSEN = [
    FIXTURES / name
    for name in (
        "DateShape-date--ill-formed-date.ttl",
        "ArticleShape-articleNumber--zero.ttl",
        "CoordinatesShape-lat--out-of-range.ttl",
        "ClaimShape-onePreferred--two-preferred-dates.ttl",
        "TreatyShape-term--integer-years.ttl",
    )
] + [VALID_FIXTURE]


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """The system's temporary folder, for this test alone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def disk_folders(monkeypatch) -> list[tuple[Path, list[str]]]:
    """Each on-disk store's folder, with what it held once loaded."""
    seen: list[tuple[Path, list[str]]] = []
    real = loading.load_validation_store

    def spy(*args, **kwargs):
        loaded = real(*args, **kwargs)
        directory = inspect.signature(real).bind(*args, **kwargs).arguments.get("directory")
        if directory is not None:
            seen.append((directory, sorted(p.name for p in directory.iterdir())))
        return loaded

    monkeypatch.setattr(loading, "load_validation_store", spy)
    return seen


def _same(disk, memory) -> None:
    assert disk.engine == memory.engine == "oxigraph"
    assert disk.to_text() == memory.to_text()
    assert disk.to_json() == memory.to_json()
    assert isomorphic(disk.graph, memory.graph)


def test_the_project_graph_gives_the_same_report_on_disk(scratch, disk_folders):
    said: list[str] = []
    disk = validate(memory_limit=0, say=said.append)
    _same(disk, validate())
    [(folder, held)] = disk_folders
    assert folder.parent == scratch and folder.name.startswith(f"treatykg-validate-{os.getpid()}-")
    assert any(name.endswith(".sst") for name in held), held  # RocksDB's tables: on disk
    assert said == [
        f"the data may need about {estimated_validation_memory(_project()) / 2**20:.0f} MB in "
        f"memory, over the memory limit (0 MB): validating on an on-disk store in {folder} "
        "(slower; removed at the end)"
    ]
    assert list(scratch.iterdir()) == []


def test_focus_nodes_in_many_small_focus_graphs_give_the_same_report(scratch, monkeypatch):
    # On disk, each compiled query runs on at most FOCUS_CHUNK focus nodes at a time (its
    # memory bounded by that): with 40, the project's graph has dozens of focus graphs.
    chunks = []
    real = shacl_sparql.Plan._fill

    def counting(plan, *args):
        made = real(plan, *args)
        chunks.extend(made)
        return made

    monkeypatch.setattr(shacl_sparql, "FOCUS_CHUNK", 40)
    monkeypatch.setattr(shacl_sparql.Plan, "_fill", counting)
    _same(validate(memory_limit=0), validate())  # its warnings, and no violation
    assert len(chunks) > 40


def _project() -> list[Path]:
    return [path for path, _graph in loading.project_files()]


@pytest.mark.parametrize("path", CHOSEN, ids=lambda p: p.stem)
def test_a_fixture_gives_the_same_report_on_disk(path, scratch, disk_folders):
    _same(validate([path], memory_limit=0), fast_report(path))
    assert len(disk_folders) == 1
    assert list(scratch.iterdir()) == []


def test_the_data_stays_in_memory_within_the_limit(disk_folders):
    said: list[str] = []
    report = validate([VALID_FIXTURE], memory_limit=parse_size("1G"), say=said.append)
    assert report.conforms and said == [] and disk_folders == []


def test_the_folder_is_removed_after_a_syntax_error(scratch, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(VALID_FIXTURE.read_text(encoding="utf-8") + "\n<a> <b> .\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad\.ttl:\d+:\d+"):
        validate([bad], memory_limit=0)
    assert list(scratch.iterdir()) == []


def test_the_folder_is_removed_after_ctrl_c(scratch, monkeypatch, disk_folders):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shacl_sparql.Plan, "check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        validate([VALID_FIXTURE], memory_limit=0)
    assert len(disk_folders) == 1
    assert list(scratch.iterdir()) == []


def test_the_folder_of_a_killed_validation_is_removed_by_the_next_command(
    scratch, capsys, monkeypatch
):
    """``kill -9`` runs no clean-up code: the folder stays until the next treatykg command."""
    process = subprocess.Popen(
        [sys.executable, "-m", "treatykg", "validate", "--memory-limit", "0", str(VALID_FIXTURE)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    note = process.stderr.readline()  # said before the store is filled
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    process.stderr.close()
    assert "validating on an on-disk store in" in note, note
    left = [p.name for p in scratch.iterdir()]
    assert left == [note.split(" in ")[-1].split()[0].rsplit("/", 1)[-1]]
    assert left[0].startswith(f"treatykg-validate-{process.pid}-")
    capsys.readouterr()
    assert main(["validate", "--memory-limit", "1G", str(VALID_FIXTURE)]) == 0
    assert capsys.readouterr().err == (
        "treatykg: removed 1 temporary file(s) left by a treatykg process that was killed\n"
    )
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("value", ["lots", "2X", "-1G", "2", ""])
def test_a_bad_memory_limit_is_a_one_line_error(value, capsys):
    assert main(["validate", f"--memory-limit={value}"]) == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: --memory-limit: {value!r} is not a size (expected a number and a "
        "unit, K, M, G or T, e.g. 2G or 500M; 0 means always on disk)\n"
    )


def test_sizes_and_estimates(tmp_path):
    assert [parse_size(s) for s in ("0", "2G", "1.5GB", "500M", "512MiB", "64k")] == [
        0, 2 * 2**30, 3 * 2**29, 500 * 2**20, 512 * 2**20, 64 * 2**10,
    ]  # fmt: skip
    triples = tmp_path / "data.nt"
    triples.write_bytes(b"x" * 1_200_000)  # N-Triples: taken as 10,000 triples
    turtle = tmp_path / "data.ttl"
    turtle.write_bytes(b"x" * 1_200_000)  # Turtle, denser: 24,000
    assert estimated_validation_memory([triples]) == 100 * 2**20 + 600 * 10_000
    assert estimated_validation_memory([triples, turtle]) == 100 * 2**20 + 600 * 34_000


def test_no_temporary_folder_for_the_store_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    assert main(["validate", "--memory-limit", "0", str(VALID_FIXTURE)]) == 2
    assert capsys.readouterr().err == (
        "treatykg: error: the data needs an on-disk store (over the memory limit), but no "
        "temporary folder could be made for it: No such file or directory (set TMPDIR to a "
        "writable folder, or raise --memory-limit)\n"
    )
