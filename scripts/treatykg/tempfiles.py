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
from typing import Any

_NAME = re.compile(r"^treatykg-[a-z]+-(?P<pid>\d+)-")


def private_dir(kind: str, *, parent: Path | None = None) -> Path:
    """Create and return a new folder ``treatykg-<kind>-<pid>-<random>`` (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=f"treatykg-{kind}-{os.getpid()}-", dir=parent))


def private_file(kind: str, suffix: str = "") -> tuple[int, Path]:
    """Create a new file ``treatykg-<kind>-<pid>-<random><suffix>``; return (fd, path)."""
    handle, name = tempfile.mkstemp(prefix=f"treatykg-{kind}-{os.getpid()}-", suffix=suffix)
    return handle, Path(name)


def private_database(owner: object, name: str, purpose: str) -> tuple[Path, Any, Any]:
    """Open the SQLite database ``name`` in a new private folder (of kind ``validate``) kept for
    ``owner``; return the folder, the connection (usable from any thread, one at a time) and a
    finalizer that closes it and removes the folder: call it to close; it also runs when
    ``owner`` is collected and at the process's exit, and after a ``kill -9`` the next treatykg
    command removes the folder. ``purpose`` starts the one-line error (TreatyKGError) when no
    folder can be made, e.g. "the report has too many results to keep in memory"."""
    import sqlite3
    import weakref

    from treatykg.errors import TreatyKGError

    try:
        folder = private_dir("validate")
    except OSError as error:
        raise TreatyKGError(
            f"{purpose}, but no temporary folder could be made for them: "
            f"{error.strerror or error} (set TMPDIR to a writable folder)"
        ) from None
    db = sqlite3.connect(folder / name, check_same_thread=False)
    return folder, db, weakref.finalize(owner, _drop_database, db, folder)


def _drop_database(db: Any, folder: Path) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)


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
