"""How minikeras's modules import each other: at module level, except the real import cycles, which say so.

An import inside a function hides a dependency from the top of the file, so each one that stays (a real cycle, or a
deliberately lazy import) carries a comment saying why. And an import cycle shows only when one of its modules is
imported first, so each key module is imported on its own in a fresh interpreter.
"""
import ast
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO / "minikeras"

# Comments that silence a tool but say nothing about why the import is where it is.
_PRAGMA = re.compile(r"#\s*(noqa(:\s*[A-Z]+[0-9]+(,\s*[A-Z]+[0-9]+)*)?|type:\s*ignore\S*|pragma:\s*no cover)")


def _own_module(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name == "minikeras" or a.name.startswith("minikeras.") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or node.module == "minikeras" or (node.module or "").startswith("minikeras.")
    return False


def _has_reason(line: str) -> bool:
    """The line holds a comment that is more than a tool pragma."""
    if "#" not in line:
        return False
    comment = line[line.index("#"):]
    return bool(_PRAGMA.sub("", comment).strip("# \t"))


def uncommented_local_imports(source: str, filename: str = "<source>") -> list:
    """`file:line` of each import of minikeras's own modules inside a function (or method) that has no comment,
    neither on its own lines nor on the line above the run of import statements it stands in."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    import_lines = {i for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for i in range(node.lineno, node.end_lineno + 1)}
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if not _own_module(node):
                continue
            if any(_has_reason(lines[i - 1]) for i in range(node.lineno, node.end_lineno + 1)):
                continue
            above = node.lineno - 1
            while above in import_lines:  # a comment above a run of imports speaks for the run
                above -= 1
            if above >= 1 and lines[above - 1].strip().startswith("#") and _has_reason(lines[above - 1]):
                continue
            found.append((node.lineno, f"{filename}:{node.lineno}: {lines[node.lineno - 1].strip()}"))
    return [text for _, text in sorted(set(found))]


def test_the_import_scan_sees_the_package():
    files = list(PACKAGE.rglob("*.py"))
    assert len(files) > 50 and (PACKAGE / "layers" / "recurrent.py") in files


def test_the_import_scan_flags_what_it_should():
    source = '''
def cycle():
    # NOTE: minikeras.saving imports this module: a real cycle
    from minikeras import saving
    from minikeras.saving import keras3


def inline():
    import minikeras.layers  # NOTE: minikeras.layers imports this module: a real cycle


def bare():
    from minikeras.layers import serialize


def pragma_only():
    import minikeras  # noqa: F401


def relative():
    x = 1
    from . import sibling


def third_party():
    import numpy


class Layer:
    def method(self):
        from minikeras.engine import node
'''
    flagged = uncommented_local_imports(source)
    assert [f.split(": ", 1)[1] for f in flagged] == [
        "from minikeras.layers import serialize", "import minikeras  # noqa: F401", "from . import sibling",
        "from minikeras.engine import node"]


def test_local_imports_of_minikeras_say_why():
    """Imports of minikeras's own modules are at module level, except the real cycles (and the few deliberately lazy
    ones), each with a comment, e.g. `# NOTE: minikeras.saving imports this module: a real cycle`."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += uncommented_local_imports(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert not found, ("imports inside functions without a comment saying why (move them to the top of the file, "
                       "or name the cycle in a `# NOTE:`):\n" + "\n".join(found))


# The package itself, the modules on either side of each real cycle, and those that `import minikeras` leaves out.
KEY_MODULES = [
    "minikeras", "minikeras.backend", "minikeras.autograd.ops", "minikeras.engine.base_layer",
    "minikeras.engine.training", "minikeras.engine.functional", "minikeras.engine.sequential",
    "minikeras.layers.recurrent", "minikeras.layers.wrappers", "minikeras.layers.pooling", "minikeras.callbacks",
    "minikeras.models", "minikeras.saving.serialization", "minikeras.saving.functional", "minikeras.saving.keras3",
    "minikeras.saving.hdf5_legacy", "minikeras.streaming", "minikeras.inspect", "minikeras.check", "minikeras.bench",
]


def test_key_modules_exist():
    for name in KEY_MODULES:
        path = PACKAGE.parent.joinpath(*name.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name


def test_each_key_module_imports_first_in_a_fresh_interpreter():
    """An import cycle breaks only the module imported first, so each gets an interpreter of its own (four at a
    time: the machine has few cores, and each interpreter loads numpy and h5py)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def run(name):
        return subprocess.run([sys.executable, "-c", f"import {name}"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(KEY_MODULES, pool.map(run, KEY_MODULES)))
    failed = {name: r.stderr.strip().splitlines()[-3:] for name, r in results.items() if r.returncode != 0}
    assert not failed, failed
