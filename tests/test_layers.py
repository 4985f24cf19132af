"""The house rules, checked from the source: which layer may import which.

    base       numbers, opnames, user_code, names, progress, words, lessons, safe_pickle
    recording  the plain-data model (a package): nothing of gradviz at module level but its
               own files; inside methods only the render façade (gradviz.render), for notebooks
    capture    -> recording, base          (the only layer that touches live torch)
    explain    -> recording, base          (words about a recording; no torch)
    render     -> recording, base          (pictures and pages; no torch)
    runner     -> capture, explain, render, recording, base   (runs a script)
    faces      -> anything: gradviz/__init__ (the library), cli, ui, the app

Nothing below a face imports a face. And with torch blocked, a saved recording
still loads, draws, explains itself and becomes an HTML stepper.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "gradviz"

BASE = {"gradviz.numbers", "gradviz.opnames", "gradviz.user_code", "gradviz.names", "gradviz.progress",
        "gradviz.words", "gradviz.lessons", "gradviz.safe_pickle"}
RUNNER = {"gradviz.runner", "gradviz.script_watch"}
FACES = {"gradviz", "gradviz.__main__", "gradviz.cli", "gradviz.ui"}

ALLOWED = {
    "base": {"base"},
    "recording": {"recording"},  # its own files only
    "capture": {"capture", "recording", "base"},
    "explain": {"explain", "recording", "base"},
    "render": {"render", "recording", "base"},
    "runner": {"runner", "capture", "explain", "render", "recording", "base"},
    "face": {"face", "runner", "capture", "explain", "render", "recording", "base"},
}
# the one lazy edge the table allows: recording's conveniences (Graph.svg, Recording.save,
# _repr_html_, to_tensorboard) go through the render façade, inside methods only
FACADE = ("recording", "gradviz.render")


def layer(module: str) -> str:
    def under(prefixes: set[str]) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    if module == "gradviz.recording" or module.startswith("gradviz.recording."):
        return "recording"
    if under(BASE):
        return "base"
    if under(RUNNER):
        return "runner"
    for name in ("capture", "explain", "render"):
        if under({f"gradviz.{name}"}):
            return name
    if under(FACES - {"gradviz"}) or module in ("gradviz", "gradviz.__main__"):
        return "face"
    raise AssertionError(f"{module} is in no layer: add it to the table in {__file__}")


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "lessons" in parts and parts[-1] != "lessons":
            continue  # lesson scripts are the learner's code, not gradviz's
        out[".".join(parts)] = path
    return out


def imports(path: Path, module: str) -> list[tuple[str, bool, int]]:
    """(imported gradviz module, at module level?, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only
            if isinstance(child, ast.Import):
                out.extend((a.name, top, child.lineno) for a in child.names if a.name.startswith("gradviz"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1]
                                    + ([base] if base else []))
                if base.startswith("gradviz"):
                    for a in child.names:
                        full = f"{base}.{a.name}"
                        out.append((full if _is_module(full) else base, top, child.lineno))
            visit(child, inner)

    visit(tree, True)
    return out


def _is_type_checking(test: ast.AST) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def test_every_module_is_in_a_layer():
    for module in modules():
        layer(module)


def test_imports_follow_the_layer_table():
    bad = []
    for module, path in modules().items():
        mine = layer(module)
        for target, top, line in imports(path, module):
            theirs = layer(target)
            if theirs in ALLOWED[mine]:
                continue
            if (mine, target) == FACADE and not top:
                continue
            bad.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {target} ({theirs})"
                       + ("" if top else " inside a function"))
    assert not bad, "imports against the layer table:\n" + "\n".join(bad)


def test_recording_imports_nothing_of_gradviz_at_module_level():
    found = [(module, target) for module, path in modules().items() if layer(module) == "recording"
             for target, top, _ in imports(path, module) if top and layer(target) != "recording"]
    assert found == []


BLOCKED = r"""
import sys
sys.modules["torch"] = None  # any `import torch` now fails
import gradviz
from gradviz.recording import Recording
from gradviz.explain import explain_recording
rec = Recording.from_json(open(sys.argv[1], encoding="utf-8").read())
for g in rec.graphs:
    for s in g.steps:
        s.explanation = s.explanation_ko = ""
explain_recording(rec)
assert "∂" in rec.graphs[0].steps[0].explanation, rec.graphs[0].steps[0].explanation
svg = rec.graphs[0].svg(step=1)
assert "<svg" in svg and "18" in svg
rec.save(sys.argv[2])
assert "torch" not in sys.modules or sys.modules["torch"] is None
print("ok")
"""


def test_a_saved_recording_needs_no_torch(tmp_path):
    from gradviz.runner import run_script

    from conftest import LESSONS_DIR

    rec = run_script(LESSONS_DIR / "01_chain_rule.py")
    rec.save(tmp_path / "rec.json")
    r = subprocess.run([sys.executable, "-c", BLOCKED, str(tmp_path / "rec.json"), str(tmp_path / "rec.html")],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]
    page = (tmp_path / "rec.html").read_text(encoding="utf-8")
    assert "<svg" in page and "MulBackward0" in page


def test_every_package_lists_its_files_one_line_each():
    """A newcomer opens a folder's __init__ and finds each file there, on a line of its own."""
    missing = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        folder = init.parent
        if folder.name == "lessons":
            continue  # the lesson scripts: its catalogue (LESSONS) names each one
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        listed = {line.split()[0].rstrip("/") for line in doc.splitlines() if line.split()}
        for entry in sorted(folder.iterdir()):
            if entry.name in ("__init__.py", "__pycache__") or entry.name.startswith("."):
                continue
            if entry.name not in listed:
                missing.append(f"{init.relative_to(ROOT)}: {entry.name}")
    assert not missing, "files no __init__ lists:\n" + "\n".join(missing)


def test_the_readme_layout_names_every_part_of_the_package():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("The layout follows one pipeline", 1)[1].split("```", 2)[1]
    named = {line.split()[0].rstrip("/") for line in block.splitlines() if line.startswith("gradviz/")}
    there = {f"gradviz/{p.name}" for p in PACKAGE.iterdir() if p.name != "__pycache__" and not p.name.startswith(".")}
    assert named == there, f"only in the README: {sorted(named - there)}; only in gradviz/: {sorted(there - named)}"
