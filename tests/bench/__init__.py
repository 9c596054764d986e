"""Tests of the benchmark tools in ``bench/``.

pytest imports this folder as the package ``bench`` (``tests/`` has no ``__init__.py``), a
name that hides the project's own ``bench`` package; adding the project's folder to this
package's path makes ``bench.seed`` and its helpers importable from these tests.
"""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "bench"))  # noqa: F821
