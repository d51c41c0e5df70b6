"""Build dist/gmail-oneclick.zip, the file WordPress's "Upload Plugin" takes.

WordPress unpacks the upload into wp-content/plugins/ and expects one folder at the zip's root,
so every entry sits under ``gmail-oneclick/``. The zip is reproducible: entries sorted, one
fixed timestamp, fixed permissions, so the same sources always give the same bytes.

Usage: python3 scripts/build_wordpress_zip.py [--source DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = "gmail-oneclick"
MAIN_FILE = "gmail-oneclick.php"
# The earliest time a zip can hold: no build's clock ends up in the file.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o40755


def plugin_files(source: Path) -> list[Path]:
    """Every file of the plugin, sorted; hidden files and Python caches are not part of it."""
    found = []
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(source).as_posix())


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.external_attr = mode << 16
    info.create_system = 3  # Unix, so the permissions above are honoured
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info


def build(source: Path, output: Path) -> Path:
    """Write the zip of ``source`` to ``output`` (atomically). Raises SystemExit when the
    plugin's main file is missing."""
    if not (source / MAIN_FILE).is_file():
        raise SystemExit(f"error: {source / MAIN_FILE} not found: nothing to package")
    contents = {f"{FOLDER}/{f.relative_to(source).as_posix()}": f for f in plugin_files(source)}
    # Folder entries too: some unzip tools (and WordPress's PclZip fallback) want them.
    folders = {f"{FOLDER}/"} | {name[: name.rindex("/") + 1] for name in contents}
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(folders | contents.keys()):
            if name in folders:
                archive.writestr(_entry(name, DIR_MODE), b"")
            else:
                archive.writestr(_entry(name, FILE_MODE), contents[name].read_bytes())
    os.replace(partial, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "wordpress" / FOLDER)
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / f"{FOLDER}.zip")
    args = parser.parse_args(argv)
    written = build(args.source, args.output)
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
