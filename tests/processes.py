"""Run ``python -m treatykg`` in a child process, as a user would: shared by the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import treatykg

CHECKOUT_PACKAGE_PARENT = Path(treatykg.__file__).resolve().parents[1]
"""The folder that holds the treatykg package these tests import (scripts/ in a checkout)."""


def run_treatykg(
    *args: str, cwd: Path, first_on_path: Path = CHECKOUT_PACKAGE_PARENT, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -m treatykg ARGS`` in ``cwd`` with ``first_on_path`` first on PYTHONPATH.

    The default imports the same package as the tests; an unpacked wheel there wins over an
    editable install of the checkout.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(first_on_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "treatykg", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
