"""dist/gmail-oneclick.zip: what WordPress's "Upload Plugin" form is given.

WordPress unpacks an upload into wp-content/plugins/ and looks for the plugin in the folder at
the zip's root, so a zip with files at its root, or in another folder, installs a broken plugin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "wordpress" / "gmail-oneclick"
SCRIPT = ROOT / "scripts" / "build_wordpress_zip.py"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_zip(output: Path, source: Path = SOURCE) -> Path:
    """``make wordpress-plugin`` into ``output``; the source folder only through the script."""
    if source == SOURCE:
        command = ["make", "-s", "-C", str(ROOT), "wordpress-plugin",
                   f"WORDPRESS_ZIP={output}", f"PYTHON={sys.executable}"]
    else:
        command = [sys.executable, str(SCRIPT), "--source", str(source), "--output", str(output)]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return output


def plugin_sources() -> dict[str, bytes]:
    return {
        f"gmail-oneclick/{p.relative_to(SOURCE).as_posix()}": p.read_bytes()
        for p in SOURCE.rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                   for part in p.relative_to(SOURCE).parts)
    }


def test_the_zip_holds_the_plugin_folder_at_its_root(tmp_path: Path) -> None:
    with zipfile.ZipFile(make_zip(tmp_path / "plugin.zip")) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert all(name.startswith("gmail-oneclick/") for name in names), names
    assert "gmail-oneclick/gmail-oneclick.php" in names
    assert "gmail-oneclick/uninstall.php" in names
    assert not any(".." in name.split("/") or name.startswith("/") for name in names)


def test_the_zip_carries_every_plugin_file_byte_for_byte(tmp_path: Path) -> None:
    with zipfile.ZipFile(make_zip(tmp_path / "plugin.zip")) as archive:
        packed = {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}
    assert packed == plugin_sources()


def test_the_main_file_declares_the_plugin(tmp_path: Path) -> None:
    with zipfile.ZipFile(make_zip(tmp_path / "plugin.zip")) as archive:
        main = archive.read("gmail-oneclick/gmail-oneclick.php").decode("utf-8")
    # WordPress reads these headers to list the plugin; without "Plugin Name" it is not one.
    assert "Plugin Name:" in main
    assert "Text Domain: gmail-oneclick" in " ".join(main.split())


def test_two_builds_of_the_same_sources_are_identical(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(SOURCE, source)
    first = make_zip(tmp_path / "first.zip", source).read_bytes()
    for path in source.rglob("*"):  # a later checkout: same bytes, other times
        os.utime(path, (1_900_000_000, 1_900_000_000))
    second = make_zip(tmp_path / "second.zip", source).read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "first.zip") as archive:
        names = archive.namelist()
        times = {i.date_time for i in archive.infolist()}
    assert names == sorted(names)
    assert times == {(1980, 1, 1, 0, 0, 0)}


def test_a_source_without_the_main_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "empty"
    source.mkdir()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(source), "--output", str(tmp_path / "x.zip")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "gmail-oneclick.php" in result.stderr
    assert not (tmp_path / "x.zip").exists()
