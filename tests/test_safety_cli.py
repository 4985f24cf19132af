"""Issue 15 (b, c) through `gradviz render`: output shown and bounded, partial graphs kept,
odd names and encodings, usage errors before the run, files and pictures.

The runs that need a script are started together, three at a time, by one fixture.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import gradviz_cmd

BACKWARD = "import torch\nw = torch.tensor(2.0, requires_grad=True)\n(w * 3).backward()\n"
FIVE = "import torch\nw = torch.tensor(2.0, requires_grad=True)\nfor i in range(5):\n    (w * (i + 1)).backward()\n"

FLOOD = BACKWARD + textwrap.dedent("""
    import sys, warnings
    print("to stderr", file=sys.stderr)
    warnings.warn("mind the learning rate")
    print("first line")
    line = "x" * 999 + "\\n"
    for _ in range(200_000):
        sys.stdout.write(line)
    print("last line")
    """)

ODD_ERRORS = {
    "newline": "raise RuntimeError('\\n')\n",
    "str_raises": "class E(Exception):\n    def __str__(self):\n        raise ValueError('no')\nraise E()\n",
    "surrogate": "raise ValueError('bad \\udcff name')\n",
}

LATIN1 = "# -*- coding: latin-1 -*-\n".encode() + "s = 'café'\n".encode("latin-1") + BACKWARD.encode()


def _cli(args: list, cwd=None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(gradviz_cmd() + [str(a) for a in args], capture_output=True,
                          timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    stale = root / "out_stale"
    stale.mkdir()
    for name in ("stale-2.svg", "stale-3.svg", "stale-notes.txt"):
        (stale / name).write_text("<svg/>")
    euc = os.fsdecode("그래프".encode("euc-kr"))  # EUC-KR bytes: the script is <these bytes>.py
    shadow = root / "shadow"
    shadow.mkdir()
    (shadow / "json.py").write_text("print('STUDENT JSON RAN')\n")
    (shadow / "math.py").write_text("print('STUDENT MATH RAN')\n")
    cases = {
        "flood": (FLOOD, ["-f", "svg,json,html"], None),
        "five_exit": (FIVE + "import os\nos._exit(3)\n", ["--at", "1,2,3,4,5", "-f", "svg,json"], None),
        "five_loop": (FIVE + "while True:\n    pass\n", ["--at", "1,2,3,4,5", "--timeout", "45"], None),
        "stale": (BACKWARD, ["-f", "svg", "-o", stale], None),
        "bom": (b"\xef\xbb\xbf" + BACKWARD.encode(), ["-f", "json"], None),
        "latin1": (LATIN1, ["-f", "json"], None),
        euc: (BACKWARD, ["-f", "svg,json"], None),
        "shadowed": (BACKWARD, ["-f", "svg"], shadow),
        "steps_budget": (textwrap.dedent("""
            import torch
            x = torch.ones(3, requires_grad=True)
            y = x
            for _ in range(30):
                y = torch.sin(y) * 1.1
            y.sum().backward()
            """), ["--steps", "--draw-time", "0.001", "-f", "svg,json,html"], None),
        **{f"odd_{k}": (BACKWARD + v, ["-f", "json"], None) for k, v in ODD_ERRORS.items()},
    }

    def one(name: str):
        text, extra, cwd = cases[name]
        folder = cwd or root / "scripts"
        folder.mkdir(exist_ok=True)
        script = folder / f"{name}.py"
        script.write_bytes(text if isinstance(text, bytes) else text.encode())
        out = root / f"out_{name}"
        args = ["render", script, "-o", out, "--no-progress", *extra]
        logs = root / "logs"
        logs.mkdir(exist_ok=True)
        stdout_f, stderr_f = open(logs / f"{name}.out", "w+b"), open(logs / f"{name}.err", "w+b")
        proc = subprocess.Popen(gradviz_cmd() + [str(a) for a in args], stdout=stdout_f,
                                stderr=stderr_f, cwd=cwd)
        peak = 0
        while proc.poll() is None:  # the CLI's own peak memory (VmHWM), read while it runs
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak = max(peak, int(next(ln for ln in status.splitlines()
                                          if ln.startswith("VmHWM")).split()[1]) * 1024)
            except (OSError, StopIteration):
                pass
            time.sleep(0.1)
        stdout_f.seek(0)
        stderr_f.seek(0)
        stdout, stderr = stdout_f.read(), stderr_f.read()
        stdout_f.close()
        stderr_f.close()
        return name, dict(code=proc.returncode, stdout=stdout, stderr=stderr.decode("utf-8", "replace"),
                          out=out if "-o" not in extra else stale, peak=peak, script=script)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, cases))


def test_output_and_warnings_are_shown_and_bounded(runs):
    r = runs["flood"]
    assert r["code"] == 0, r["stderr"][-2000:]
    err = r["stderr"]
    assert "to stderr" in err and "mind the learning rate" in err  # stderr and warnings shown
    assert "first line" in err and "last line" in err and "bytes of output cut" in err
    assert len(err) < 300_000
    assert r["peak"] < 200 * 1024**2, r["peak"]  # not the 200 MB it printed
    doc = json.loads((r["out"] / "flood.json").read_text())
    assert "to stderr" in doc["stdout"] and "bytes of output cut" in doc["stdout"]
    assert len(doc["stdout"]) < 200_000


@pytest.mark.parametrize("name, code", [("five_exit", 1), ("five_loop", 3)])
def test_every_graph_before_a_crash_or_time_out_is_kept(runs, name, code):
    r = runs[name]
    assert r["code"] == code, r["stderr"]
    svgs = sorted(p.name for p in r["out"].glob("*.svg"))
    assert svgs == [f"{name}-{i}.svg" for i in range(1, 6)], svgs


def test_a_time_out_names_the_line_the_script_was_on(runs):
    """The loop that never ends is at lines 5-6 of the script: the message says so."""
    r = runs["five_loop"]
    assert r["code"] == 3, r["stderr"]
    assert re.search(r"five_loop\.py line [56]: .*longer than 45 s", r["stderr"]), r["stderr"][-1500:]


def test_stale_pictures_go_and_files_are_readable(runs):
    r = runs["stale"]
    assert r["code"] == 0, r["stderr"]
    names = sorted(p.name for p in r["out"].iterdir())
    assert names == ["stale-1.svg", "stale-notes.txt"], names
    mode = stat.S_IMODE((r["out"] / "stale-1.svg").stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask, oct(mode)


@pytest.mark.parametrize("name", ["bom", "latin1"])
def test_source_encodings_python_accepts(runs, name):
    r = runs[name]
    assert r["code"] == 0, r["stderr"]
    doc = json.loads((r["out"] / f"{name}.json").read_text())
    assert doc["error"] is None and len(doc["graphs"]) == 1
    if name == "latin1":
        assert "café" in doc["source"]


def test_a_file_name_that_is_not_utf8(runs):
    name = os.fsdecode("그래프".encode("euc-kr"))
    r = runs[name]
    assert r["code"] == 0, r["stderr"]
    assert "Traceback" not in r["stderr"]
    stem = os.fsencode(name)
    written = {os.fsencode(p.name) for p in r["out"].iterdir()}
    assert {stem + b"-1.svg", stem + b".json"} <= written
    assert stem + b"-1.svg" in r["stdout"]


def test_modules_in_the_current_folder_do_not_shadow_gradviz(runs):
    r = runs["shadowed"]
    assert r["code"] == 0, r["stderr"]
    assert "STUDENT" not in r["stderr"] and b"STUDENT" not in r["stdout"]


def test_json_and_html_first_and_a_drawing_budget(runs):
    r = runs["steps_budget"]
    assert r["code"] == 0, r["stderr"]
    printed = r["stdout"].decode().split()
    assert printed[0].endswith("steps_budget.json") and printed[1].endswith("steps_budget.html")
    doc = json.loads((r["out"] / "steps_budget.json").read_text())
    steps = len(doc["graphs"][0]["steps"])
    drawn = len(list(r["out"].glob("*-step-*.svg")))
    assert drawn < steps
    note = next(n for n in doc["notes"] if "Picture-making stopped" in n)
    assert f"of {steps + 1} pictures" in note
    assert "Picture-making stopped" in r["stderr"]


@pytest.mark.parametrize("kind", sorted(ODD_ERRORS))
def test_odd_exception_messages_keep_the_real_error(runs, kind):
    r = runs[f"odd_{kind}"]
    assert r["code"] == 1, r["stderr"]
    assert "Traceback" not in r["stderr"] and "os._exit" not in r["stderr"]
    doc = json.loads((r["out"] / f"odd_{kind}.json").read_text())
    assert doc["error"]["type"] == {"newline": "RuntimeError", "str_raises": "E",
                                    "surrogate": "ValueError"}[kind]
    raise_line = len((BACKWARD + ODD_ERRORS[kind]).splitlines())
    assert doc["error"]["line"] == raise_line and len(doc["graphs"]) == 1


# --- usage errors: exit 2 before anything runs -------------------------------------------------

@pytest.mark.parametrize("args", [["--timeout", "inf"], ["--timeout", "1e10"], ["--timeout", "nan"],
                                  ["--memory-limit", "1e30G"], ["--memory-limit", "nan"],
                                  ["--max-graphs", "0"], ["--max-graphs", "-3"]])
def test_limits_out_of_range_are_usage_errors(tmp_path, args):
    script = tmp_path / "ran.py"
    script.write_text("print('THE SCRIPT RAN')\n")
    r = _cli(["render", script, "-o", tmp_path / "out", *args], timeout=60)
    assert r.returncode == 2, r.stderr
    assert b"Traceback" not in r.stderr and b"THE SCRIPT RAN" not in r.stderr + r.stdout


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_a_bad_output_folder_is_found_before_the_run(tmp_path, kind):
    script = tmp_path / "ran.py"
    script.write_text("print('THE SCRIPT RAN')\n")
    if kind == "file":
        out = tmp_path / "taken"
        out.write_text("a file")
    else:
        out = Path("/proc/gradviz-out")  # no folder can be made there, even as root
    r = _cli(["render", script, "-o", out], timeout=60)
    assert r.returncode == 2, r.stderr
    assert b"THE SCRIPT RAN" not in r.stderr + r.stdout and b"Traceback" not in r.stderr
    assert b"output folder" in r.stderr
