"""A classroom on one app (issue 7): many browser sessions at once against one server.

    python bench/bench_classroom.py                  # 20 lesson sessions + 2 bad code sessions
    python bench/bench_classroom.py --sessions 8 --no-bad

One `streamlit run app.py` on 127.0.0.1 (so "Your code" is on), one headless
Chromium, one browser context per student (= one Streamlit session each), all
started together with asyncio.gather. Each lesson session opens
`/?lesson=<1..6>&lang=<en|ko>`, waits for the embedded stepper at step 1 of N, clicks its Next
k times (k differs per session, each click waits for its own step number), and checks
its own title, language and step; when every session is done, every page is
checked again (another session's clicks must not have moved it). No
exception box and no "something went wrong" note may appear anywhere.

The bad sessions run, in "Your code", `while True: pass` (stopped by the
app's 20 s limit: an explained TimeLimit error), a script that raises (an
explained ValueError), and a hostile one (issue 15): it reads a file outside
its folder, starts a helper process meant to outlive it, prints 200 MB, then
touches shared memory (mmap) past the 2 GB limit (an explained MemoryLimit
error). They start with the others. After the class: no helper is left on
the machine, the hostile code saw no secret, and, run once more directly
through the runner with the app's limits, its memory use stops at the limit
and a hanging helper cannot stretch the time limit (both measured).

Before the timed run one session opens lessons 1-6 once (not counted), so the
lessons' recordings are in st.cache_data, shared by all sessions: what is
measured is serving the class, not running torch 20 times.

Completion time = from opening the page to the session's last check. Exit
status 1 if any session failed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("GRADVIZ_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 120_000  # per expectation: 20 pages on two cores are slow, not wrong
HANG = "while True:\n    pass\n"
RAISE = "import torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\nraise ValueError('boom from a student')\n"
BROKEN = ("Something went wrong", "이 부분을 보여 주다가")
HELPER_MARK = "27.1828"  # the hostile helper's sleep, found by its command line
SECRET = Path(os.environ.get("TMPDIR", "/tmp")) / "gradviz-bench-secret.txt"
HOSTILE = f"""import mmap, subprocess, sys
try:
    print("SECRET", open({str(SECRET)!r}).read())
except OSError as e:
    print("no secret:", type(e).__name__)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep({HELPER_MARK})"], start_new_session=True)
line = "x" * 999 + "\\n"
for _ in range(200_000):
    sys.stdout.write(line)
m = mmap.mmap(-1, 3 * 1024**3)
for i in range(0, len(m), 4096):
    m[i] = 1
    if i % (64 * 1024**2) == 0:
        print("TOUCHED_MB", i // 1024**2, flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str, object]:
    port = free_port()
    log = open(log_path, "w")
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {k: v for k, v in os.environ.items() if k != "GRADVIZ_ALLOW_CODE"}  # loopback turns code on
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}/", log
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_server(proc, log)
                raise RuntimeError(f"streamlit did not start; see {log_path}")
            time.sleep(0.2)


def stop_server(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@dataclass
class Session:
    name: str
    lesson: int | None  # None: "Your code"
    lang: str
    clicks: int = 0
    code: str = ""
    expect_error: str = ""  # for code sessions: text the error box must hold (its type, or the time-limit words)
    seconds: float = 0.0
    error: str = ""
    n_steps: int = 0
    page: object = field(default=None, repr=False)


def plan(n: int, bad: bool) -> list[Session]:
    """Lessons 1-6 spread over the sessions, languages alternating, different click counts."""
    out = [Session(f"s{i + 1:02d}", lesson=1 + i % 6, lang="en" if i % 2 == 0 else "ko", clicks=1 + (i * 7) % 5)
           for i in range(n)]
    if bad:
        out.append(Session("hang", None, "en", code=HANG, expect_error="s at line"))
        out.append(Session("raise", None, "ko", code=RAISE, expect_error="ValueError"))
        # stopped by whichever limit it meets first: memory, or time while 20 sessions share the cores
        out.append(Session("hostile", None, "en", code=HOSTILE, expect_error="MemoryLimit|ran longer than"))
    return out


def helpers_left() -> list[int]:
    """Processes on this machine that still run the hostile helper."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if HELPER_MARK in cmd and "sleep" in cmd:
                found.append(int(d.name))
    return found


def hostile_limits() -> str:
    """The hostile code once more through the runner, with the app's limits: what held, measured."""
    import tempfile

    from gradviz.runner import run_script
    from gradviz.ui.runs import CODE_MEMORY, CODE_TIMEOUT

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, code in (("memory", HOSTILE), ("time", HOSTILE.split("m = mmap")[0]
                                                   + "while True:\n    pass\n")):
            path = Path(tmp) / f"{name}.py"
            path.write_text(code)
            t0 = time.monotonic()
            rec = run_script(path, isolate=True, timeout=CODE_TIMEOUT, memory_limit=CODE_MEMORY)
            took = time.monotonic() - t0
            touched = [int(ln.split()[1]) for ln in rec.stdout.splitlines() if ln.startswith("TOUCHED_MB")]
            err = rec.error.type if rec.error else "none"
            secret = "read" if "SECRET" in rec.stdout else "not read"
            rows.append(f"| {name} | {err} | {took:.1f} s (limit {CODE_TIMEOUT:g} s) | "
                        f"{max(touched, default=0)} MB touched (limit {CODE_MEMORY // 1024**2} MB, "
                        f"with Python and torch) | secret {secret} | helpers left {len(helpers_left())} |")
    return "\n".join(["| hostile run | error | run time | shared memory | file outside | processes |",
                      "|---|---|---|---|---|---|", *rows])


def step_pattern(lang: str, k: int, n: int) -> re.Pattern:
    if lang == "ko":
        return re.compile(rf"(?<!\d){n}단계 중 {k}단계")
    return re.compile(rf"Step {k} of {n}(?!\d)")


def lesson_title(number: int, lang: str) -> str:
    from gradviz.lessons import LESSONS

    lesson = next(l for l in LESSONS if l.number == number)
    return f"{number}. {lesson.title[lang]}"


async def no_breakage(page) -> None:
    exc = await page.locator("[data-testid='stException']").count()
    if exc:
        raise AssertionError(f"exception box on the page: {await page.locator('[data-testid=stException]').first.inner_text()}")
    for text in BROKEN:
        if await page.get_by_text(text).count():
            raise AssertionError(f"'{text}' note on the page")


FRAME = "iframe[data-testid='stIFrame']"  # the app's frame around the HTML stepper


async def stepper_of(page):
    """The embedded stepper's frame (the app steps in the browser, inside it)."""
    handle = page.locator(FRAME).first
    await handle.wait_for(timeout=600_000)
    frame = await (await handle.element_handle()).content_frame()
    await frame.locator('[data-gv="k"]').wait_for(timeout=600_000)
    return frame


async def run_lesson(page, url: str, s: Session) -> None:
    from playwright.async_api import expect

    await page.goto(f"{url}?lesson={s.lesson}&lang={s.lang}")
    await expect(page.get_by_role("heading", name=lesson_title(s.lesson, s.lang))).to_be_visible()
    frame = await stepper_of(page)
    k = frame.locator('[data-gv="k"]')
    await expect(k).to_have_text("1")
    s.n_steps = int(await frame.locator('[data-gv="n"]').inner_text())
    s.clicks = min(s.clicks, s.n_steps - 1)
    nxt = frame.locator('[data-gv="next"]')
    for i in range(s.clicks):
        await nxt.click()
        await expect(k).to_have_text(str(i + 2))
    await no_breakage(page)


async def check_lesson(page, s: Session) -> None:
    """After everybody is done: still this session's lesson, language and step."""
    from playwright.async_api import expect

    await expect(page.get_by_role("heading", name=lesson_title(s.lesson, s.lang))).to_be_visible()
    frame = await stepper_of(page)
    await expect(frame.locator('[data-gv="k"]')).to_have_text(str(s.clicks + 1))
    await expect(frame.locator('[data-gv="n"]')).to_have_text(str(s.n_steps))
    await no_breakage(page)


async def run_code(page, url: str, s: Session) -> None:
    from playwright.async_api import expect

    await page.goto(f"{url}?lesson=code&lang={s.lang}")
    box = page.locator(".st-key-gv_code textarea")
    await expect(box).to_be_visible()
    await box.fill(s.code)
    await box.press("Control+Enter")  # commit the text before Run
    run = page.locator(".st-key-gv_code_run button")
    await expect(run).to_be_enabled()
    await page.wait_for_timeout(500)
    await run.click()
    err = page.locator("[data-testid='stAlert']", has_text=re.compile(s.expect_error))
    await expect(err.first).to_be_visible()
    await no_breakage(page)


async def check_code(page, s: Session) -> None:
    from playwright.async_api import expect

    await expect(page.locator("[data-testid='stAlert']", has_text=re.compile(s.expect_error)).first).to_be_visible()
    await no_breakage(page)


async def one(browser, url: str, s: Session) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    s.page = page
    t0 = time.monotonic()
    try:
        if s.lesson is None:
            await run_code(page, url, s)
        else:
            await run_lesson(page, url, s)
    except Exception as e:  # noqa: BLE001 - a failed session is a result
        s.error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    s.seconds = time.monotonic() - t0


async def classroom(url: str, sessions: list[Session], warm: bool = True, log=print) -> float:
    """Run the sessions at once; returns the wall time of the concurrent part."""
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            if warm:
                t0 = time.monotonic()
                lessons = sorted({s.lesson for s in sessions if s.lesson is not None})
                for number in lessons:
                    w = Session(f"warm{number}", number, "en", clicks=0)
                    await one(browser, url, w)
                    if w.error:
                        raise RuntimeError(f"warm-up of lesson {number} failed: {w.error}")
                    await w.page.context.close()
                log(f"warm-up (not counted): lessons {', '.join(map(str, lessons))} opened once "
                    f"in one session, {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
            await asyncio.gather(*(one(browser, url, s) for s in sessions))
            wall = time.monotonic() - t0
            # isolation: every page still shows its own lesson, language and step
            for s in sessions:
                if s.error:
                    continue
                try:
                    await (check_code(s.page, s) if s.lesson is None else check_lesson(s.page, s))
                except Exception as e:  # noqa: BLE001
                    s.error = f"after the class: {type(e).__name__}: {str(e).splitlines()[0]}"[:300]
            return wall
        finally:
            await browser.close()


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs) + 0.5)) - 1))]


def table(sessions: list[Session], wall: float) -> str:
    good = [s for s in sessions if s.lesson is not None]
    bad = [s for s in sessions if s.lesson is None]
    rows = ["| group | sessions | errors | min s | median s | p95 s | max s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, group in [("lesson sessions", good), ("bad code sessions", bad)]:
        if not group:
            continue
        t = [s.seconds for s in group]
        rows.append(f"| {name} | {len(group)} | {sum(1 for s in group if s.error)} | {min(t):.1f} | "
                    f"{statistics.median(t):.1f} | {p95(t):.1f} | {max(t):.1f} |")
    rows.append(f"\nwall time, all sessions at once: {wall:.1f} s")
    return "\n".join(rows)


def details(sessions: list[Session]) -> str:
    rows = ["| session | lesson | lang | clicks | steps | s | result |", "|---|---:|---|---:|---:|---:|---|"]
    for s in sessions:
        lesson = s.lesson if s.lesson is not None else "code"
        what = s.error or (f"{s.expect_error} shown" if s.lesson is None else "ok")
        rows.append(f"| {s.name} | {lesson} | {s.lang} | {s.clicks} | {s.n_steps or ''} | {s.seconds:.1f} | {what} |")
    return "\n".join(rows)


def versions() -> str:
    from importlib.metadata import version

    import streamlit
    import torch

    try:
        chrome = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:  # noqa: BLE001
        chrome = "?"
    return (f"Python {platform.python_version()}, streamlit {streamlit.__version__}, torch {torch.__version__}, "
            f"playwright {version('playwright')}, {chrome}; "
            f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}; "
            f"load average {os.getloadavg()[0]:.2f} at start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20, help="lesson sessions (default 20)")
    ap.add_argument("--no-bad", action="store_true", help="leave out the hanging and raising code sessions")
    ap.add_argument("--log", default=str(ROOT / "test-artifacts" / "classroom_server.log"))
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    Path(args.log).parent.mkdir(exist_ok=True)
    print(time.strftime("%Y-%m-%d %H:%M"), "·", versions())
    sessions = plan(args.sessions, not args.no_bad)
    SECRET.write_text("the server's secret")
    proc, url, log = start_server(Path(args.log))
    try:
        wall = asyncio.run(classroom(url, sessions))
    finally:
        stop_server(proc, log)
    print(details(sessions))
    print()
    print(table(sessions, wall))
    if not args.no_bad:
        left = helpers_left()
        print(f"\nhostile helpers left on the machine after the class: {len(left)}")
        print()
        print(hostile_limits())
        if left:
            sessions[-1].error = f"{len(left)} helper process(es) outlived the hostile run"
    SECRET.unlink()
    failed = [s for s in sessions if s.error]
    print(f"\n{len(failed)} session(s) failed" if failed else "\nall sessions finished without errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
