"""How much memory a validation may take, and how much it would take in memory.

``treatykg validate`` holds the data in an in-memory store when its estimate of the peak
(:func:`estimated_validation_memory`) is within the memory limit, and in an on-disk store in a
temporary folder otherwise (see :func:`treatykg.validation.validate`). The limit is the user's
(``--memory-limit 2G``) or, by default, half the memory the machine has available when the
command starts (:func:`default_memory_limit`).

The estimate is the input's size in bytes turned into triples by a typical size per triple for
its format (dense files hold more triples per byte, so the sizes are on the small side), times
the peak memory per triple measured with ``benchmarks/validate_benchmark.py`` (574 MB for 1.0M
triples, 1,177 MB for 2.3M: about 475 bytes a triple; 600 kept here, for a margin), plus the
process's own (about 100 MB with its libraries and the shapes).

>>> parse_size("2G"), parse_size("1.5 GB"), parse_size("500M"), parse_size("0")
(2147483648, 1610612736, 524288000, 0)
>>> format_size(1610612736), format_size(524288000)
('1.5 GB', '500 MB')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from treatykg.errors import InputError

MEMORY_PER_TRIPLE = 600
"""Peak bytes per triple of a validation on an in-memory store (measured: about 475)."""

BASE_MEMORY = 100 * 2**20
"""The process's own memory: Python, rdflib, pyoxigraph and the compiled shapes."""

BYTES_PER_TRIPLE = {
    ".nt": 120,
    ".nq": 120,
    ".ttl": 50,
    ".trig": 50,
    ".n3": 50,
    ".rdf": 100,
    ".owl": 100,
    ".jsonld": 100,
}
"""A file's typical size per triple by its extension, on the small side (more triples per byte
means a larger estimate). Measured: the benchmark's N-Triples copies 190 bytes a triple, the
project's Turtle files 124 (many long texts); dense Turtle of short values, about 40."""

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]?)(?:I?B)?\s*$", re.I)


def parse_size(text: str) -> int:
    """Return the bytes of a size such as ``2G``, ``1.5GB``, ``500M``, ``512MiB`` (units are
    powers of 1024) or ``0``. Raises :class:`InputError` naming the value otherwise."""
    match = _SIZE.match(text)
    if match is not None:
        number = float(match["number"])
        unit = match["unit"].upper()
        if unit or number == 0:
            return int(number * _UNITS[unit])
    raise InputError(
        f"--memory-limit: {text!r} is not a size (expected a number and a unit, K, M, G or T, "
        "e.g. 2G or 500M; 0 means always on disk)"
    )


def format_size(size: float) -> str:
    """Return bytes in MB or GB, as in the command's messages."""
    if size >= 2**30:
        return f"{size / 2**30:.1f} GB"
    return f"{size / 2**20:.0f} MB"


def available_memory() -> int | None:
    """Return the memory the system has available now (bytes), or None if it cannot tell.

    Linux's ``MemAvailable`` (free memory plus what the page cache can give back), lowered to
    what a cgroup v2 limit leaves; elsewhere the free physical pages.
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            available = min(available, max(0, int(limit) - int(used)))
    except (OSError, ValueError):
        pass
    return available


def default_memory_limit() -> int:
    """Half the memory available now (2 GB if the system does not say)."""
    available = available_memory()
    return available // 2 if available is not None else 2 * 2**30


def estimated_triples(files: Iterable[Path]) -> int:
    """Return an estimate (on the high side) of the number of triples in ``files``."""
    total = 0
    for path in files:
        try:
            size = Path(path).stat().st_size
        except OSError:
            continue  # reported as missing when it is read
        total += size // BYTES_PER_TRIPLE.get(Path(path).suffix.lower(), 50)
    return total


def estimated_validation_memory(files: Iterable[Path]) -> int:
    """Return the estimated peak memory (bytes) of validating ``files`` on an in-memory store."""
    return BASE_MEMORY + MEMORY_PER_TRIPLE * estimated_triples(files)
