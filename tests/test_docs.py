"""The user documentation (README.md, docs/, the examples' docstrings): current, linked, and written for users.

docs/api.md is generated from the docstrings and must be current; links point to files that exist; every page is in
the site's nav; install commands are the ones that work from a clone; no machine paths, issue numbers or the
project's private words. (`mkdocs build --strict` itself runs in `.ci/run`, after the tests.)
"""
from __future__ import annotations

import importlib.util
import pathlib
import re
import tomllib

REPO = pathlib.Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"
USER_TEXTS = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
# Pages exempt from the user-docs check while they are rewritten (none now: every page is checked).
NOT_YET_REWRITTEN: set = set()


def test_api_reference_is_current():
    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert (DOCS / "api.md").read_text() == gen.render(), "docs/api.md is stale: run python docs/gen_api.py"


def test_every_module_is_in_the_api_reference_or_said_to_be_internal():
    import pkgutil

    import minikeras

    spec = importlib.util.spec_from_file_location("gen_api", DOCS / "gen_api.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    documented = {name for name, _ in gen.MODULES}
    assert not documented & set(gen.INTERNAL)
    modules = {m.name for m in pkgutil.walk_packages(minikeras.__path__, "minikeras.")
               if not m.ispkg and not m.name.rsplit(".", 1)[1].startswith("_")}
    missing = sorted(modules - documented - set(gen.INTERNAL))
    assert not missing, f"add these modules to docs/gen_api.py's MODULES or INTERNAL: {missing}"
    assert not (set(gen.INTERNAL) - modules), "INTERNAL names a module that no longer exists"


def test_docs_links_and_images_exist():
    nav = re.findall(r":\s*([\w-]+\.md)", (DOCS.parent / "mkdocs.yml").read_text())
    assert nav and all((DOCS / page).exists() for page in nav)
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def _nav_pages() -> list:
    return re.findall(r":\s*([\w-]+\.md)", (REPO / "mkdocs.yml").read_text())


def test_every_page_is_in_the_nav_and_the_generator_is_not_in_the_site():
    assert sorted(_nav_pages()) == sorted(p.name for p in DOCS.glob("*.md"))
    config = (REPO / "mkdocs.yml").read_text()
    assert re.search(r"exclude_docs:\s*\|\s*\n\s+gen_api\.py", config), "docs/gen_api.py would be copied into the site"


def test_install_commands_work_from_a_clone():
    """minikeras is not on PyPI: `pip install minikeras[...]` would fail; every extra named exists."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    texts = USER_TEXTS + sorted(EXAMPLES.glob("*.py")) + sorted((REPO / "minikeras").rglob("*.py"))
    named = set()
    for path in texts:
        text = path.read_text()
        assert not re.search(r"pip install\s+['\"]?minikeras", text), f"{path.name}: install from the clone (-e .)"
        for group in re.findall(r"pip install -e '\.\[([\w,]+)\]'", text):
            named.update(group.split(","))
    assert named and named <= set(extras), named - set(extras)
    assert {"test", "plot", "docs"} <= named  # each extra is explained somewhere


def test_docs_are_written_for_users():
    """No machine paths, issue numbers or scripts outside the repo; no private words without an explanation."""
    for path in USER_TEXTS:
        if path.name in NOT_YET_REWRITTEN:
            continue
        text = path.read_text()
        for pattern, what in [(r"/work/|/root/|/home/\w|/tmp/[\w.-]+/", "a machine's path"),
                              (r"(?i)\bissues?\s*#?\d+|\(#\d+\)", "an issue number"),
                              (r"(?i)\bthe seed\b|\bseed's\b|\bseed model\b", "'the seed' (say: Keras 2's two-LSTM example)")]:
            hit = re.search(pattern, text)
            assert not hit, f"{path.relative_to(REPO)} mentions {what}: {hit.group(0)!r}"


def test_every_example_is_listed_and_says_what_it_shows():
    readme, index = (REPO / "README.md").read_text(), (DOCS / "index.md").read_text()
    for example in sorted(EXAMPLES.glob("*.py")):
        text = example.read_text()
        assert text.startswith('"""') and "What it shows" in text, example.name
        assert f"`{example.name}`" in readme and f"`{example.name}`" in index, f"{example.name} is not listed"


def test_the_life_of_a_fit_step_names_real_files_and_functions():
    """DEVELOPERS.md's call chain stays true: every file it names exists, every `Class.method` / `module.function`
    it names is defined there."""
    import minikeras  # noqa: F401 - the package the names below live in

    text = (REPO / "DEVELOPERS.md").read_text()
    section = text.split("## The life of a `fit` step", 1)[1].split("\n## ", 1)[0]
    files = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", section))
    assert len(files) >= 8, files
    for name in files:
        assert (REPO / "minikeras" / name).exists(), f"DEVELOPERS.md names minikeras/{name}, which does not exist"
    source = "\n".join(p.read_text() for p in (REPO / "minikeras").rglob("*.py"))
    names = set(re.findall(r"`(?:[\w.]+\.)?([A-Za-z_]\w*)\.([a-z_]\w*)(?:\([^`]*\))?`", section))
    checked = 0
    for owner, attr in names:
        if owner in {"self", "loss", "optimizer", "model", "backend", "ops", "data_adapter", "compile_utils"} \
                or attr == "py":
            if owner in {"data_adapter", "ops", "backend"}:
                assert re.search(rf"^def {attr}\b", source, re.M), f"DEVELOPERS.md names {owner}.{attr}"
                checked += 1
            continue
        assert re.search(rf"^class {owner}\b", source, re.M), f"DEVELOPERS.md names class {owner}"
        assert re.search(rf"^    def {attr}\b", source, re.M), f"DEVELOPERS.md names {owner}.{attr}"
        checked += 1
    assert checked >= 10, checked
