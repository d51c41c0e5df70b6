"""A stranger reading the README, the changelog or docs/ can follow every link: each relative
link and each ``*.md`` file named in code spans is a file of this repository, and no page
sends the reader to a file the repository does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "gmail_oneclick" / "entrypoints" / "web" / "openapi.json"
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])

# [text](target) and ![alt](target); the alt text may run over lines.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_MD = re.compile(r"`([^`\s]+\.md)`")
# Names of working notes that live beside a clone, never in it.
OUTSIDE = re.compile(r"CONTRACT|GOOGLE\.md|STYLE\.md|HELPERS|shared/|/work/")


def _relative_targets(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    links = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]
    return [t.split("#")[0] for t in links] + CODE_MD.findall(text)


def _resolves(page: Path, target: str) -> bool:
    for base in (page.parent, ROOT):  # a code span names a path from the repository's root
        path = (base / target).resolve()
        if path.is_relative_to(ROOT) and path.exists():
            return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_of_the_repository(page: Path) -> None:
    broken = [t for t in _relative_targets(page) if not _resolves(page, t)]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


@pytest.mark.parametrize("page", [*PAGES, OPENAPI],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_names_a_file_outside_the_repository(page: Path) -> None:
    found = OUTSIDE.findall(page.read_text(encoding="utf-8"))
    assert not found, f"{page.relative_to(ROOT)} names files outside the repository: {found}"


def test_no_code_comment_names_a_file_outside_the_repository() -> None:
    sources = [p for folder in ("gmail_oneclick", "token_store", "bench", "tests", "wordpress",
                                "scripts")
               for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".php", ".sh", ".html"}]
    found = [str(p.relative_to(ROOT)) for p in sources if p != Path(__file__).resolve()
             and OUTSIDE.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert not found, f"name files outside the repository: {found}"
