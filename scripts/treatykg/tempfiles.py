"""Temporary files and folders that do not outlive a killed process.

A process killed with SIGKILL (the out-of-memory killer, ``kill -9``, a power cut of the shell)
runs no clean-up code, so its temporary files would stay in the system's temporary folder for
good. Every temporary file or folder treatykg makes is therefore named after the process that
made it, ``treatykg-<kind>-<pid>-<random>``, and :func:`remove_stale` — run at the start of every
command — removes the ones whose process no longer runs, and says so.

>>> path = private_dir("doc")
>>> path.name.startswith(f"treatykg-doc-{os.getpid()}-")
True
>>> remove_stale()  # the folder's process (this one) still runs: kept
[]
>>> shutil.rmtree(path)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

_NAME = re.compile(r"^treatykg-[a-z]+-(?P<pid>\d+)-")


def private_dir(kind: str, *, parent: Path | None = None) -> Path:
    """Create and return a new folder ``treatykg-<kind>-<pid>-<random>`` (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=f"treatykg-{kind}-{os.getpid()}-", dir=parent))


def private_file(kind: str, suffix: str = "") -> tuple[int, Path]:
    """Create a new file ``treatykg-<kind>-<pid>-<random><suffix>``; return (fd, path)."""
    handle, name = tempfile.mkstemp(prefix=f"treatykg-{kind}-{os.getpid()}-", suffix=suffix)
    return handle, Path(name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def remove_stale(folder: Path | None = None) -> list[Path]:
    """Remove the temporary files and folders left by treatykg processes that no longer run.

    Only entries owned by this user are touched. Returns what was removed.
    """
    where = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(where.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or _running(int(match["pid"])):
            continue
        try:
            if entry.lstat().st_uid != os.getuid():
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed
