"""Apache Jena for the tests: find it, build a class path that works, run a batch of jobs.

The tests use the Jena that Debian packages (``apt-get install libapache-jena-java
default-jre-headless``: Jena 4.5, jars only, no start scripts). Two things stop it from starting
as shipped, and :func:`classpath` works around both:

1. ``java -cp '/usr/share/java/*'`` fails: that folder holds both ``log4j-over-slf4j.jar`` and
   ``slf4j-log4j12.jar`` (from other packages), and SLF4J loops between them ("Detected both
   log4j-over-slf4j.jar AND bound slf4j-log4j12.jar", then a StackOverflowError). So the class
   path lists only the jars of Jena's package and of the packages it depends on, plus
   ``slf4j-api`` with the simple logger.
2. Debian relocated Jena's shaded Xerces classes to the package ``xerces.`` but left their message
   ``.properties`` files under ``org/apache/jena/ext/xerces/``, so ``JenaSystem.init`` dies with
   an ExceptionInInitializerError ("internal error" in ``XSSimpleTypeDecl.applyFacets1``) at the
   first typed literal it checks. The properties are copied out of ``jena-core.jar`` to
   ``xerces/`` in an overlay folder placed first on the class path.

A Jena command is a JVM of its own and a JVM takes seconds to start, so the tests do not call the
commands one by one: ``jena_batch.java`` (beside this file, run by Java's source launcher) loads
the store with ``tdb2.tdbloader`` and runs every validation and query in one JVM.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

BATCH = Path(__file__).with_name("jena_batch.java")

# Jena's package and the Debian packages whose jars it needs at run time.
PACKAGES = [
    "libapache-jena-java", "libcommons-cli-java", "libcommons-codec-java",
    "libcommons-compress-java", "libcommons-csv-java", "libcommons-io-java",
    "libcommons-lang3-java", "libdexx-java", "libgoogle-gson-java", "libguava-java",
    "libhttpclient-java", "libhttpcore-java", "libjackson2-core-java", "libjackson2-databind-java",
    "libjackson2-annotations-java", "libjsonld-java", "libjsonp2-java", "libprotobuf-java",
    "libthrift-java", "libtitanium-json-ld-java",
]  # fmt: skip
JAVA_DIR = Path("/usr/share/java")
LOGGING = [JAVA_DIR / "slf4j-api.jar", JAVA_DIR / "slf4j-simple.jar"]
INSTALL = "apt-get install libapache-jena-java default-jre-headless"


def missing() -> str | None:
    """Why Jena cannot run here (a reason to skip), or None when it can."""
    if shutil.which("java") is None:
        return f"no java on PATH ({INSTALL})"
    if shutil.which("dpkg") is None or not (JAVA_DIR / "jena-core.jar").is_file():
        return f"Debian's Apache Jena is not installed ({INSTALL})"
    missing_jars = [str(jar) for jar in LOGGING if not jar.is_file()]
    if missing_jars:
        return f"no {', '.join(missing_jars)} (libslf4j-java)"
    return None


def classpath(overlay: Path) -> str:
    """The class path for Debian's Jena; ``overlay`` is a folder for the Xerces messages."""
    if not (overlay / "xerces").is_dir():
        prefix = "org/apache/jena/ext/xerces/"
        with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
            for name in jar.namelist():
                if name.startswith(prefix) and name.endswith(".properties"):
                    target = overlay / "xerces" / name.removeprefix(prefix)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(jar.read(name))
    # dpkg -L lists each installed package's files (and complains about the others on stderr).
    listing = subprocess.run(
        ["dpkg", "-L", *PACKAGES], capture_output=True, text=True, check=False
    ).stdout.split()
    jars = sorted(
        {
            str(Path(line).resolve())
            for line in listing
            if line.endswith(".jar") and Path(line).parent == JAVA_DIR
        }
    )
    return ":".join([str(overlay), *jars, *map(str, LOGGING)])


class Batch:
    """Jobs for ``jena_batch.java`` (see its header), run in one JVM in the background.

    >>> batch = Batch(tmp)                                      # doctest: +SKIP
    >>> batch.add("load", store_dir, "treatykg.trig")           # doctest: +SKIP
    >>> batch.start(classpath(tmp / "overlay")); batch.wait()  # doctest: +SKIP
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.jobs: list[list[str]] = []
        self.process: subprocess.Popen | None = None

    def add(self, *fields: str | Path) -> None:
        self.jobs.append([str(f) for f in fields])

    def start(self, cp: str) -> None:
        """Start the JVM; it works while the caller computes its own side of the comparison."""
        jobs = self.folder / "jobs.tsv"
        jobs.write_text("".join("\t".join(job) + "\n" for job in self.jobs), encoding="utf-8")
        self.log = (self.folder / "jena.log").open("w", encoding="utf-8")
        # Short-lived JVM: the C1 compiler alone starts faster, and a serial GC needs no threads.
        command = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp]
        self.process = subprocess.Popen(
            [*command, str(BATCH), str(jobs)], stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float = 300) -> None:
        """Wait for the JVM; raise with the end of its log if it failed."""
        assert self.process is not None, "start() first"
        status = self.process.wait(timeout=timeout)
        self.log.close()
        if status != 0:
            tail = (self.folder / "jena.log").read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"jena_batch.java exited with {status}:\n{tail}")

    def stop(self) -> None:
        """Stop the JVM if it still runs (by its pid: it is our own child)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
