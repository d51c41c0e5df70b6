"""Installing the project (``make run``'s ``pip install -e .``) prints no setuptools warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What pip's isolated build does first: turn pyproject.toml into a setuptools Distribution.
# Any warning there (a deprecated field, a layout caution) is a wall of text on first run.
_READ_PYPROJECT = """
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution
dist = apply_configuration(Distribution(), "pyproject.toml")
print(dist.metadata.license_expression)
"""


def test_pyproject_reads_without_a_warning_and_declares_an_spdx_license() -> None:
    proc = subprocess.run([sys.executable, "-W", "always", "-c", _READ_PYPROJECT], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.strip() == "Apache-2.0"
