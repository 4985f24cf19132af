"""Broken and hostile scripts through `gradviz render`: every one ends cleanly.

Each case is a tiny script run by the real CLI in a subprocess. What must hold
for all of them: the documented exit code (0 done, 1 the script failed, 2 bad
usage, 3 time limit, 4 memory limit), a one-line `error:` message, no traceback
of gradviz, the partial recording up to the failure, and no half-written file.

The CLI runs are started together (a few at a time) by one fixture, since each
pays about 2 s for importing torch.
"""
import json
import os
import signal
import subprocess
import textwrap
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import gradviz_cmd

BACKWARD = "import torch\nw = torch.tensor(2.0, requires_grad=True)\n(w * 3).backward()\n"

# name: (script, extra CLI args)
CASES = {
    "syntax": ("import torch\nx = (1, 2\n", []),
    "exception": (BACKWARD + "raise ValueError('boom')\n", []),
    "exception_in_function": (BACKWARD + "def f(d):\n    return d['key']\nf({})\n", []),
    "sys_exit_3": (BACKWARD + "import sys\nsys.exit(3)\n", []),
    "sys_exit_0": (BACKWARD + "import sys\nsys.exit(0)\n", []),
    "sys_exit_msg": ("import sys\nsys.exit('giving up')\n", []),
    "infinite_loop": (BACKWARD + "while True:\n    pass\n", ["--timeout", "3"]),
    "sleep_after_graph": (BACKWARD + "import time\ntime.sleep(1000)\n", ["--timeout", "12"]),
    "memory_torch": (BACKWARD + "big = torch.ones(500_000_000)\n", ["--memory-limit", "600M"]),
    "memory_python": (BACKWARD + "big = [0] * (10 ** 9)\n", ["--memory-limit", "600M"]),
    "memory_growing": (BACKWARD + "keep = []\nwhile True:\n    keep.append(torch.ones(10_000_000))\n",
                       ["--memory-limit", "600M"]),
    "os_exit": (BACKWARD + "import os\nos._exit(9)\n", []),
    "segfault": (BACKWARD + "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", []),
    "abort": (BACKWARD + "import os\nos.abort()\n", []),
    "recursion": ("def f(n):\n    return f(n + 1)\nf(0)\n", []),
    "no_backward": ("import torch\nw = torch.tensor(1.0, requires_grad=True)\na = w * 3\nl = a ** 2\n", []),
    "no_tensors": ("print('hello')\n", []),
    "closes_stdio": (BACKWARD + "import os\nos.close(1)\nos.close(2)\nraise ValueError('x')\n", []),
    "binary_junk": (b"\x00\xff\xfe garbage \x89PNG\r\n", []),
    "empty": ("", []),
    "breaks_json": (BACKWARD + "import json\njson.dumps = None\njson.dump = None\n", []),
    "keyboard_interrupt": (BACKWARD + "raise KeyboardInterrupt\n", []),
}


@dataclass
class Result:
    name: str
    code: int
    stdout: str
    stderr: str
    out: Path
    seconds: float

    def files(self) -> list[str]:
        return sorted(p.name for p in self.out.iterdir()) if self.out.exists() else []


def _render(script: Path, out: Path, extra: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(gradviz_cmd() + ["render", str(script), "-o", str(out), "-f", "svg,json",
                                           *extra], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Result]:
    root = tmp_path_factory.mktemp("hostile")

    def one(name: str) -> Result:
        text, extra = CASES[name]
        script = root / f"{name}.py"
        if isinstance(text, bytes):
            script.write_bytes(text)
        else:
            script.write_text(text)
        out = root / f"out_{name}"
        t0 = time.monotonic()
        r = _render(script, out, extra)
        return Result(name, r.returncode, r.stdout, r.stderr, out, time.monotonic() - t0)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return {r.name: r for r in pool.map(one, CASES)}


def error_line(r: Result) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def recording(r: Result) -> dict:
    return json.loads((r.out / f"{r.name}.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_traceback_and_no_half_files(results, name):
    r = results[name]
    assert "Traceback" not in r.stderr, r.stderr
    assert "Traceback" not in r.stdout, r.stdout
    assert r.code in (0, 1, 3, 4), (r.code, r.stderr)
    for f in r.files():
        assert not f.endswith(".part") and not f.startswith("."), r.files()
        data = (r.out / f).read_bytes()
        if f.endswith(".svg"):
            ET.fromstring(data)  # complete XML
        elif f.endswith(".json"):
            json.loads(data)


def test_syntax_error(results):
    r = results["syntax"]
    assert r.code == 1
    assert error_line(r) == "error: syntax.py line 2: SyntaxError: '(' was never closed (line 2)"
    assert recording(r)["error"]["type"] == "SyntaxError"


def test_exception_on_a_line_keeps_the_graph_before_it(results):
    r = results["exception"]
    assert r.code == 1
    assert error_line(r) == "error: exception.py line 4: ValueError: boom"
    assert "exception-1.svg" in r.files()
    rec = recording(r)
    assert len(rec["graphs"]) == 1 and rec["error"]["line"] == 4


def test_exception_inside_a_function_points_at_its_line(results):
    r = results["exception_in_function"]
    assert r.code == 1
    assert error_line(r) == "error: exception_in_function.py line 5: KeyError: 'key'"


def test_sys_exit_nonzero_is_a_failure(results):
    r = results["sys_exit_3"]
    assert r.code == 1
    assert "sys.exit(3)" in error_line(r)
    assert "sys_exit_3-1.svg" in r.files()


def test_sys_exit_zero_is_success(results):
    r = results["sys_exit_0"]
    assert r.code == 0, r.stderr
    assert "sys_exit_0-1.svg" in r.files()


def test_sys_exit_with_message(results):
    r = results["sys_exit_msg"]
    assert r.code == 1 and "giving up" in error_line(r)


def test_infinite_loop_hits_the_time_limit(results):
    r = results["infinite_loop"]
    assert r.code == 3, r.stderr
    assert "TimeLimit" in error_line(r) and "3 s" in error_line(r)
    assert "--timeout" in r.stderr
    assert r.seconds < 30  # stopped, not left running


def test_time_limit_keeps_the_partial_recording(results):
    r = results["sleep_after_graph"]
    assert r.code == 3, r.stderr
    assert "sleep_after_graph-1.svg" in r.files()
    rec = recording(r)
    assert rec["error"]["type"] == "TimeLimit" and len(rec["graphs"]) == 1
    w = next(n for n in rec["graphs"][0]["nodes"] if n["name"] == "w")
    assert w["grad"] == 3.0


@pytest.mark.parametrize("name", ["memory_torch", "memory_python", "memory_growing"])
def test_memory_hog_hits_the_memory_limit(results, name):
    r = results[name]
    assert r.code == 4, r.stderr
    assert "MemoryLimit" in error_line(r) and "0.6 GB" in error_line(r)
    assert "--memory-limit" in r.stderr
    # what was drawn before the hog is kept
    assert f"{name}-1.svg" in r.files()


def test_os_exit_is_reported_as_a_crash(results):
    r = results["os_exit"]
    assert r.code == 1
    assert "exited with code 9" in error_line(r)
    assert "os_exit-1.svg" in r.files()


@pytest.mark.parametrize("name, sig", [("segfault", 11), ("abort", 6)])
def test_interpreter_crash(results, name, sig):
    r = results[name]
    assert r.code == 1
    assert f"crashed (signal {sig})" in error_line(r)
    assert f"{name}-1.svg" in r.files()


def test_runaway_recursion(results):
    r = results["recursion"]
    assert r.code == 1
    assert "RecursionError" in error_line(r)


def test_no_backward_draws_what_is_left(results):
    r = results["no_backward"]
    assert r.code == 0, r.stderr
    assert "note: The script never called backward()" in r.stderr
    assert "no_backward-1.svg" in r.files()
    rec = recording(r)
    names = {n["name"] for n in rec["graphs"][0]["nodes"]}
    assert {"w", "a", "l"} <= names and rec["error"] is None


def test_no_tensors_at_all(results):
    r = results["no_tensors"]
    assert r.code == 0 and "never called backward()" in r.stderr
    assert r.files() == ["no_tensors.json"]


def test_script_that_closes_its_output(results):
    r = results["closes_stdio"]
    assert r.code == 1 and "ValueError: x" in error_line(r)


@pytest.mark.parametrize("name", ["binary_junk", "empty"])
def test_junk_and_empty_files(results, name):
    r = results[name]
    assert r.code == (1 if name == "binary_junk" else 0), r.stderr
    if name == "binary_junk":
        assert "SyntaxError" in error_line(r)


def test_script_that_breaks_json_in_its_own_process(results):
    r = results["breaks_json"]
    assert r.code in (0, 1)
    if r.code == 1:
        assert error_line(r)


def test_keyboard_interrupt_raised_by_the_script(results):
    r = results["keyboard_interrupt"]
    assert r.code == 1
    assert "KeyboardInterrupt" in error_line(r) and "segmentation" not in r.stderr


# --- usage errors: exit 2, no script run ---------------------------------------------------

@pytest.mark.parametrize("args", [["missing.py"], ["{script}", "--memory-limit", "lots"],
                                  ["{script}", "-f", "gif"], ["{script}", "--timeout", "soon"],
                                  ["{script}", "--device", "tpu"]])
def test_bad_usage(tmp_path, args):
    script = tmp_path / "ok.py"
    script.write_text("print(1)\n")
    args = [a.format(script=script) for a in args]
    r = subprocess.run(gradviz_cmd() + ["render", *args], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr


def test_nonpositive_timeout_is_bad_usage(tmp_path):
    script = tmp_path / "ok.py"
    script.write_text("print(1)\n")
    r = subprocess.run(gradviz_cmd() + ["render", str(script), "--timeout", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2


# --- a killed run leaves no half file ---------------------------------------------------------

MANY_STEPS = textwrap.dedent("""
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                              torch.nn.Tanh(), torch.nn.Linear(8, 1))
    loss = ((net(torch.randn(4, 3)) - 1) ** 2).mean()
    loss.backward()
    """)


def _wait_for_files(out: Path, proc: subprocess.Popen, limit: float = 120) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        if out.exists() and any(out.iterdir()):
            return True
        time.sleep(0.01)
    return False


def _assert_only_whole_files(out: Path) -> None:
    for p in out.iterdir():
        if p.name.endswith(".part"):
            continue  # a SIGKILL cannot clean its own temporary file; it is hidden and never half a result
        data = p.read_bytes()
        if p.suffix == ".svg":
            ET.fromstring(data)
        elif p.suffix == ".json":
            json.loads(data)


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_sigkill_while_writing_leaves_only_whole_files(tmp_path, delay):
    script = tmp_path / "steps.py"
    script.write_text(MANY_STEPS)
    out = tmp_path / "out"
    proc = subprocess.Popen(gradviz_cmd() + ["render", str(script), "-o", str(out), "--steps",
                                             "-f", "svg,json,dot"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if _wait_for_files(out, proc):
            time.sleep(delay)
        proc.kill()
    finally:
        proc.wait(30)
    assert out.exists()
    _assert_only_whole_files(out)
    for p in out.iterdir():
        if p.name.endswith(".part"):
            assert p.name.startswith(".")  # hidden, beside its target


def _children_of(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            kids.append(int(d.name))
    return kids


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
def test_stopping_the_cli_stops_the_script(tmp_path):
    script = tmp_path / "forever.py"
    script.write_text("while True:\n    pass\n")
    proc = subprocess.Popen(gradviz_cmd() + ["render", str(script), "-o", str(tmp_path / "out"),
                                             "--timeout", "60"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: list[int] = []
    try:
        end = time.monotonic() + 60
        while not kids and time.monotonic() < end:
            kids = _children_of(proc.pid)
            time.sleep(0.05)
        assert kids, "no child process was started"
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        time.sleep(1.0)
        alive = [k for k in kids if Path(f"/proc/{k}").exists()
                 and "Z" not in Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]]
        assert not alive, f"child {alive} still running after the CLI was stopped"
        assert not [p for p in (tmp_path / "out").glob(".*.part")] if (tmp_path / "out").exists() else True
    finally:
        for k in kids:  # never leave our own child running
            try:
                os.kill(k, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
