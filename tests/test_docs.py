"""docs/api.md is generated from the docstrings and must be current; the docs link only to files that exist."""
from __future__ import annotations

import importlib.util
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def test_api_reference_is_current():
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (DOCS / "api.md").read_text() == gen.render(), "docs/api.md is stale: run python docs/gen_api.py"


def test_docs_links_and_images_exist():
    nav = re.findall(r":\s*([\w-]+\.md)", (DOCS.parent / "mkdocs.yml").read_text())
    assert nav and all((DOCS / page).exists() for page in nav)
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
