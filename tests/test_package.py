"""The package as a user installs it: sdist and wheel, twine check, a clean venv, smoke tests.

A wheel built from this checkout goes into a fresh virtual environment (torch pinned
to the local CPU wheel through constraints.txt); there, away from the checkout, it
must know its version, list lessons whose files exist, render lesson 1 by number,
serve the app, and run the example notebook.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import NOTEBOOK, ROOT

pytestmark = pytest.mark.package

TIMEOUT = 900


def _run(cmd: list, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                       timeout=TIMEOUT, env=env, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", out, ROOT], cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory) -> Path:
    """A clean venv with the wheel, torch pinned, and ipykernel for the notebook."""
    where = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", where], cwd=where.parent)
    wheel = next(dist.glob("*.whl"))
    _run([where / "bin" / "python", "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt",
          "torch==2.13.0", wheel, "ipykernel"], cwd=where.parent)
    return where


def test_sdist_and_wheel_pass_twine_check(dist: Path):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    r = _run([sys.executable, "-m", "twine", "check", "--strict", *files], cwd=dist)
    assert r.stdout.count("PASSED") == 2, r.stdout


def test_wheel_holds_the_lessons_the_assets_and_the_app(dist: Path):
    import zipfile

    names = set(zipfile.ZipFile(next(dist.glob("*.whl"))).namelist())
    from gradviz.lessons import LESSONS

    for lesson in LESSONS:
        assert f"gradviz/lessons/{lesson.script}" in names
    assert {"gradviz/ui/app.py", "gradviz/assets/stepper.js", "gradviz/assets/stepper.css"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_installed_package_works_away_from_the_checkout(venv: Path, tmp_path: Path):
    bin_ = venv / "bin"
    import gradviz

    version = _run([bin_ / "gradviz", "--version"], cwd=tmp_path).stdout.strip()
    assert version == f"gradviz {gradviz.__version__}"
    listed = _run([bin_ / "gradviz", "lessons"], cwd=tmp_path).stdout.splitlines()
    paths = [Path(line.split()[-1]) for line in listed]
    from gradviz.lessons import LESSONS

    assert len(paths) == len(LESSONS) and all(p.is_file() for p in paths), listed
    assert all(venv in p.parents for p in paths), "the lessons come from the installed package"
    out = tmp_path / "out"
    r = _run([bin_ / "gradviz", "render", "--lesson", "1", "-o", out, "-f", "svg,json"], cwd=tmp_path)
    assert (out / "01_chain_rule-1.svg").read_text().startswith("<?xml")
    rec = json.loads((out / "01_chain_rule.json").read_text())
    w = next(n for n in rec["graphs"][0]["nodes"] if n["name"] == "w")
    assert w["grad"] == 18.0, r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_installed_app_answers(venv: Path, tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([venv / "bin" / "gradviz", "app", "--server.port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=5) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body == "ok", proc.stdout.read().decode(errors="replace") if proc.poll() is not None else body
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_example_notebook_runs_against_the_installed_package(venv: Path, tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = tmp_path / "kernels" / "installed"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gradviz, installed", "language": "python",
        "env": {"PYTHONPATH": "", "IPYTHONDIR": str(tmp_path / "ipython"), "MPLBACKEND": "agg"}}))
    km = KernelManager(kernel_name="installed",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import gradviz, sys\n"
        f"assert gradviz.__file__.startswith({str(venv)!r}), gradviz.__file__\n"
        "print('installed gradviz', gradviz.__version__)"))
    nbclient.NotebookClient(nb, km=km, kernel_name="installed", timeout=120, startup_timeout=60,
                            allow_errors=False, resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "installed gradviz" in printed
