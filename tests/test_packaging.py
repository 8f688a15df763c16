"""The wheel: after `pip install .` the command works from any folder, data included."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from processes import run_treatykg

REPO = Path(__file__).resolve().parents[1]
DATA_FOLDERS = ("ontology", "graph", "shapes", "queries")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel (with the installed hatchling, no download) and return its path."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("treatykg-*.whl")
    return path


@pytest.fixture(scope="module")
def unpacked(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked: what `pip install` puts in site-packages."""
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_carries_every_data_file(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {
        f"treatykg/_data/{path.relative_to(REPO).as_posix()}"
        for folder in DATA_FOLDERS
        for path in (REPO / folder).rglob("*")
        if path.is_file() and path.suffix in {".ttl", ".rq"}
    }
    assert len(expected) > 100
    assert expected - names == set()
    # and the site's templates, style sheet, script and map outlines (treatykg docs)
    site = REPO / "scripts" / "treatykg" / "site"
    shipped = {
        f"treatykg/site/{path.relative_to(site).as_posix()}"
        for folder in ("templates", "static")
        for path in (site / folder).iterdir()
    }
    assert len(shipped) > 20 and shipped - names == set()


def test_the_wheel_has_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "treatykg = treatykg.cli:main" in text


def test_the_installed_package_reads_its_own_data_from_any_folder(unpacked, tmp_path):
    probe = run_treatykg("query", "list", cwd=tmp_path, first_on_path=unpacked)
    assert probe.returncode == 0, probe.stderr
    where = subprocess.run(
        [sys.executable, "-c", "import treatykg.paths as p; print(p.repo_or_data_root())"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == unpacked / "treatykg" / "_data"


def test_the_installed_package_validates_and_answers(unpacked, tmp_path):
    validate = run_treatykg("validate", cwd=tmp_path, first_on_path=unpacked)
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.rstrip().endswith("warnings")
    assert validate.stdout.splitlines()[-1].startswith("0 violations")
    signers = run_treatykg(
        "query",
        "run",
        "who-signed-the-treaty",
        "--format",
        "csv",
        cwd=tmp_path,
        first_on_path=unpacked,
    )
    assert signers.returncode == 0, signers.stderr
    assert "Zhou Enlai" in signers.stdout
