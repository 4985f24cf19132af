"""Issue 15 (a): the walls around a user's script hold, shown with real processes and real bubblewrap.

Each hostile script runs through `run_script(..., isolate=True)` (what the CLI and the
app do), a few at a time from one fixture. What must hold: no network, no view of the
server's processes, environment or files, read-only files but the scratch folder, every
helper process gone when the run ends (whether it ended, timed out or was killed), the
memory cap counting shared memory, and a cap on processes. Each wall is checked against
the same thing done outside the sandbox (the test itself), so the check can fail.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import gradviz_cmd
from gradviz.runner import isolated, run_script, sandbox

pytestmark = pytest.mark.skipif(not sandbox.available(),
                                reason="bubblewrap is not installed here (bash scripts/setup.sh)")

SECRET_ENV = "GRADVIZ_TEST_SECRET"
BACKWARD = "import torch\nw = torch.tensor(2.0, requires_grad=True)\n(w * 3).backward()\n"
MARK = "31.4159"  # a helper's sleep: found by its command line on this machine


def helper(seconds: str, group: bool = False) -> str:
    """A helper process that outlives the script unless the sandbox kills it."""
    session = "" if group else ", start_new_session=True"
    return (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
            f"'import time; time.sleep({seconds})']{session})\n")


def alive_with(mark: str) -> list[int]:
    """Processes on this machine whose command line holds `mark`."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if mark in cmd and "python" in cmd and state != "Z":
                found.append(int(d.name))
    return found


WALLS = """
import json, os, socket, sys, warnings
seen = {}
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).close()
    seen["network"] = "connected"
except OSError as e:
    seen["network"] = type(e).__name__
try:
    os.kill(SERVER_PID, 0)
    seen["signal_server"] = "sent"
except OSError as e:
    seen["signal_server"] = type(e).__name__
seen["procs"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
seen["env"] = os.environ.get("SECRET_ENV")
try:
    seen["secret"] = open(SECRET_FILE).read()
except OSError as e:
    seen["secret"] = type(e).__name__
try:
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "written.txt"), "w").write("x")
    seen["write_own_folder"] = "written"
except OSError as e:
    seen["write_own_folder"] = type(e).__name__
for where in ("TMPDIR", "HOME"):
    path = os.path.join(os.environ[where], "scratch.txt")
    open(path, "w").write("ok")
    seen["write_" + where] = open(path).read()
seen["stdin"] = sys.stdin.read()
print("WALLS " + json.dumps(seen))
print("to stderr", file=sys.stderr)
warnings.warn("a warning for the learner")
""" + BACKWARD

SHM_HOG = BACKWARD + textwrap.dedent("""
    import mmap
    m = mmap.mmap(-1, 1536 * 1024 * 1024)
    for i in range(0, len(m), 4096):
        m[i] = 1
    print("the whole map was touched")
    """)

FORK_BOMB = BACKWARD + textwrap.dedent("""
    import os, time
    made = 0
    try:
        while made < 5000:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            made += 1
    except OSError as e:
        print("FORKS", made, type(e).__name__, flush=True)
    """)

FLOOD = BACKWARD + textwrap.dedent("""
    import sys
    print("first line")
    line = "x" * 999 + "\\n"
    for _ in range(200_000):
        sys.stdout.write(line)
    print("last line", file=sys.stderr)
    """)


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("server") / "secret.txt"
    path.write_text("the server's secret")
    return path


@pytest.fixture(scope="module")
def listener():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, secret, listener):
    """name -> (recording, seconds). Started together, three at a time."""
    root = tmp_path_factory.mktemp("walled")
    os.environ[SECRET_ENV] = "do-not-leak"
    walls = (WALLS.replace("SECRET_ENV", SECRET_ENV).replace("SERVER_PID", str(os.getpid()))
             .replace("SECRET_FILE", repr(str(secret))).replace("PORT", str(listener)))
    cases = {
        "walls": (walls, {}),
        "helper_timeout": (BACKWARD + helper(MARK + "1") + "while True:\n    pass\n", {"timeout": 12}),
        "helper_normal_end": (BACKWARD + helper(MARK + "2") + "print('done')\n", {"timeout": 60}),
        "helper_group": (BACKWARD + helper(MARK + "3", group=True) + "print('done')\n", {"timeout": 60}),
        "shm_hog": (SHM_HOG, {"memory_limit": 600 * 1024**2}),
        "fork_bomb": (FORK_BOMB, {"timeout": 60}),
        "flood": (FLOOD, {}),
        "named_file": ("import sys\nprint('NAMED', open(sys.argv[1]).read())\n", {"args": [str(secret)]}),
    }

    def one(name: str):
        text, limits = cases[name]
        script = root / name / f"{name}.py"
        script.parent.mkdir()
        script.write_text(text)
        t0 = time.monotonic()
        limits = dict(limits)
        rec = run_script(script, limits.pop("args", []), isolate=True, **{"timeout": 60, **limits})
        return name, (rec, time.monotonic() - t0)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            return dict(pool.map(one, cases))
    finally:
        del os.environ[SECRET_ENV]


def walls_seen(rec) -> dict:
    line = next(ln for ln in rec.stdout.splitlines() if ln.startswith("WALLS "))
    return json.loads(line[len("WALLS "):])


def test_no_network(runs, listener):
    socket.create_connection(("127.0.0.1", listener), timeout=3).close()  # open from outside
    assert walls_seen(runs["walls"][0])["network"] != "connected"


def test_own_process_namespace(runs):
    seen = walls_seen(runs["walls"][0])
    assert seen["signal_server"] == "ProcessLookupError"  # the test's pid is not there
    assert len(seen["procs"]) < 10 and os.getpid() not in seen["procs"], seen["procs"]


def test_clean_environment(runs):
    assert walls_seen(runs["walls"][0])["env"] is None


def test_files_outside_are_unseen_and_read_only(runs, secret, tmp_path):
    assert secret.read_text()  # readable from outside
    seen = walls_seen(runs["walls"][0])
    assert seen["secret"] in ("FileNotFoundError", "PermissionError"), seen["secret"]
    assert seen["write_own_folder"] == "OSError", seen  # EROFS: read-only file system
    assert seen["write_TMPDIR"] == seen["write_HOME"] == "ok"
    assert seen["stdin"] == ""  # /dev/null


def test_a_file_the_arguments_name_is_readable(runs):
    rec = runs["named_file"][0]
    assert rec.error is None, rec.error
    assert "NAMED the server's secret" in rec.stdout


def test_stderr_and_warnings_are_kept(runs):
    rec = runs["walls"][0]
    assert rec.error is None, rec.error
    assert "to stderr" in rec.stdout and "a warning for the learner" in rec.stdout


def test_time_limit_is_not_stretched_by_a_helper(runs):
    rec, seconds = runs["helper_timeout"]
    assert rec.error is not None and rec.error.type == "TimeLimit"
    assert seconds < 25, seconds  # the helper's pipe would hold it past 31 s


@pytest.mark.parametrize("name", ["helper_normal_end", "helper_group"])
def test_a_run_that_ends_normally_is_not_a_time_out(runs, name):
    rec, seconds = runs[name]
    assert rec.error is None, rec.error
    assert seconds < 25, seconds
    assert "done" in rec.stdout


def test_no_helper_outlives_its_run(runs):
    assert not alive_with(MARK), alive_with(MARK)


def test_shared_memory_counts_against_the_memory_limit(runs):
    rec, _ = runs["shm_hog"]
    assert "the whole map was touched" not in rec.stdout
    assert rec.error is not None and rec.error.type == "MemoryLimit", rec.error
    assert len(rec.graphs) == 1  # the graph before the hog is kept


def test_processes_are_capped(runs):
    rec, _ = runs["fork_bomb"]
    line = next(ln for ln in rec.stdout.splitlines() if ln.startswith("FORKS "))
    made = int(line.split()[1])
    assert made < isolated.PROCESS_CAP, line
    assert rec.error is None and len(rec.graphs) == 1


def test_output_is_bounded_with_head_tail_and_what_was_cut(runs):
    rec, _ = runs["flood"]
    assert rec.error is None
    assert len(rec.stdout) < 200_000
    assert rec.stdout.startswith("first line") and rec.stdout.rstrip().endswith("last line")
    cut = next(ln for ln in rec.stdout.splitlines() if "bytes of output cut" in ln)
    n = int(cut.split("…")[1].split("bytes")[0].replace(",", ""))
    total = len("first line\n") + 200_000 * 1000 + len("last line\n")
    assert 0 < n < total and total - n <= 128 * 1024 + 2 * 1000


def test_killing_the_cli_kills_every_helper(tmp_path):
    script = tmp_path / "helpers.py"
    mark = MARK + "4"
    script.write_text(BACKWARD + helper(mark) + helper(mark, group=True) + "while True:\n    pass\n")
    proc = subprocess.Popen(gradviz_cmd() + ["render", str(script), "-o", str(tmp_path / "out"),
                                             "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 90
        while len(alive_with(mark)) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        assert len(alive_with(mark)) == 2, "the helpers did not start"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        end = time.monotonic() + 10
        while alive_with(mark) and time.monotonic() < end:
            time.sleep(0.1)
        assert not alive_with(mark), alive_with(mark)
    finally:
        for pid in alive_with(mark):  # never leave our own processes behind
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_without_bubblewrap_it_says_so_once(tmp_path, monkeypatch):
    """GRADVIZ_SANDBOX=off stands for a machine without bubblewrap."""
    script = tmp_path / "s.py"
    script.write_text("print('hi')\n")
    code = ("import sys; from gradviz.runner import run_script\n"
            f"a = run_script({str(script)!r}, isolate=True); b = run_script({str(script)!r}, isolate=True)\n"
            "print(sum('No sandbox here' in n for n in a.notes + b.notes))\n")
    env = {**os.environ, "GRADVIZ_SANDBOX": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "1", out.stdout + out.stderr


def test_a_script_run_from_the_machines_tmp_sees_a_private_tmp(tmp_path):
    """A script kept in /tmp and run from there (cwd /tmp) reads its own file and writes temporary
    files, but never sees what else the machine keeps in /tmp (other users' files)."""
    import tempfile

    top = Path(tempfile.gettempdir())
    other = top / f"gradviz-test-other-{os.getpid()}.txt"
    script = top / f"gradviz-test-script-{os.getpid()}.py"
    other.write_text("someone else's file")
    script.write_text(BACKWARD + textwrap.dedent(f"""
        import os, tempfile
        print("OTHER", os.path.exists({str(other)!r}))
        handle, name = tempfile.mkstemp()
        print("TEMP", name)
        """))
    try:
        done = subprocess.run(gradviz_cmd() + ["render", str(script), "-f", "json", "-o", str(tmp_path),
                                               "--no-progress"],
                              cwd=top, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert os.path.exists(other)  # (outside, it is there)
        said = done.stdout + done.stderr  # (the script's output is echoed on stderr)
        assert "OTHER False" in said, said
        assert "TEMP /tmp/" in said, said
    finally:
        other.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
