"""`gradviz ...`: render a script's autograd graphs to files, list the lessons, start the app."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gradviz.recording import Recording
from gradviz.render.files import FORMATS
from gradviz.words import N_, languages, pick, tr
from gradviz.words.notes import shown

DRAW_TIME = 300.0  # seconds for all the pictures of one run; JSON and HTML come first
SCRIPT_TIMEOUT = 60.0  # seconds, for a script of the learner's own
LESSON_TIMEOUT = 600.0  # a built-in lesson: the full restoration and Lightning runs take minutes

EPILOG = """exit codes: 0 done, 1 the script failed, 2 bad usage, 3 time limit, 4 memory limit

The script runs in a sandbox (bubblewrap, where installed): no network, its
stdin is /dev/null, and it may write only to its scratch folder (its TMPDIR and
HOME) and to folders given with --writable.

examples:
  gradviz render train.py
  gradviz render --lesson 1                  (a built-in lesson: see gradviz lessons)
  gradviz render train.py -f svg,json,html -o out/ --steps
  gradviz render train.py -- --epochs 3      (arguments after -- go to the script)
  gradviz app --server.port 8600             (options after app go to streamlit run)
"""


MAX_MEMORY = 2**50  # 1 PiB: any larger number is a typo, not a machine
MAX_TIMEOUT = 7 * 24 * 3600.0  # a week


def _parse_size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    t = text.strip().lower().rstrip("b")
    mult = units.get(t[-1:], 1)
    num = t[:-1] if t[-1:] in units else t
    try:
        value = float(num) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a size: {text} (try 2G or 512M)", "en",
                                            text=repr(text))) from None
    if not value == value or value > MAX_MEMORY:  # NaN, inf, 1e30G
        raise argparse.ArgumentTypeError(tr("the memory limit must be a size up to 1024T, like 2G or "
                                            "512M, not {text}", "en", text=repr(text)))
    if value < 256 * 1024**2:
        raise argparse.ArgumentTypeError(tr("the memory limit must be at least 256M: "
                                            "Python and torch need about that much to start", "en"))
    return int(value)


def _disk_size(text: str) -> int:
    try:
        return _parse_size(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(tr("the disk limit must be a size from 256M to 1024T, like "
                                            "2G or 512M, not {text}", "en", text=repr(text))) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a number of seconds: {text}", "en",
                                            text=repr(text))) from None
    if not 0 < value <= MAX_TIMEOUT:  # also NaN and inf
        raise argparse.ArgumentTypeError(tr("the time limit must be more than 0 seconds and at most "
                                            "a week ({most:g} s)", "en", most=MAX_TIMEOUT))
    return value


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a whole number: {text}", "en", text=repr(text))) from None
    if value < 1:
        raise argparse.ArgumentTypeError(tr("--max-graphs must be at least 1 (each graph is one "
                                            "backward() call)", "en"))
    return value


def _formats(text: str) -> list[str]:
    out = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(bad) or text!r}: choose from {', '.join(FORMATS)}")
    return out


def _at(text: str) -> str:
    """`1,100,last`: checked here without importing torch (capture/training.py parses it)."""
    for item in (i.strip().lower() for i in text.split(",")):
        if item and item not in ("first", "last") and not (item.isdigit() and int(item) >= 1):
            raise argparse.ArgumentTypeError(
                f"--at takes iteration numbers from 1 and 'last', not {item!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    from gradviz import __version__

    p = argparse.ArgumentParser(prog="gradviz", description="See PyTorch autograd at work.",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    p.add_argument("--version", action="version", version=f"gradviz {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="run a script and draw the graph of each backward() call",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("script", nargs="?", help="a Python script that uses PyTorch")
    what.add_argument("--lesson", metavar="N", help="a built-in lesson, by number or id (gradviz lessons)")
    r.add_argument("-o", "--out", default=".", help="output folder (default: the current folder)")
    r.add_argument("-f", "--format", type=_formats, default=["svg"],
                   help=f"comma list of {', '.join(FORMATS)} (default: svg)")
    r.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    r.add_argument("--steps", action="store_true", help="also write one SVG per backward step")
    r.add_argument("--tensorboard", metavar="DIR", default=None,
                   help="also write the training curves and graph pictures as TensorBoard events "
                        "in DIR (needs the tensorboard package)")
    r.add_argument("--timeout", type=_positive, default=None,
                   help=f"seconds before the script is stopped (default {SCRIPT_TIMEOUT:g}; "
                        f"{LESSON_TIMEOUT:g} for a built-in lesson)")
    r.add_argument("--memory-limit", type=_parse_size, default="4G", help="memory for the script (default 4G)")
    r.add_argument("--disk-limit", type=_disk_size, default="2G",
                   help="bytes the script may write: its scratch folder in all, and any one file "
                        "(default 2G)")
    r.add_argument("--max-graphs", type=_at_least_one, default=100,
                   help="record at most this many backward() calls (at least 1)")
    r.add_argument("--writable", metavar="DIR", action="append", default=[],
                   help="a folder the script may write to (repeatable); everything else but its "
                        "scratch folder is read-only to it")
    r.add_argument("--draw-time", type=_positive, default=DRAW_TIME, metavar="SECONDS",
                   help=f"total time for drawing pictures after the run (default {DRAW_TIME:g}); "
                        "the JSON and HTML are written first")
    r.add_argument("--at", type=_at, default=None, metavar="LIST",
                   help="iterations (backward() calls, from 1) that keep their full graph besides "
                        "the first, e.g. 1,100,last")
    r.add_argument("--total", type=int, default=None, metavar="N",
                   help="how many backward() calls to expect (progress bar, and 'last' in --at)")
    r.add_argument("--no-progress", action="store_true", help="no progress report on stderr")
    r.add_argument("--depth", type=int, default=None,
                   help="collapse nn.Modules nested deeper than N into one node each (0: whole top-level modules)")
    r.add_argument("--budget", type=int, default=300,
                   help="above N visible nodes, collapse to the deepest depth that fits (default 300; 0: show all)")
    r.add_argument("--fold", action="store_true", help="fold repeated blocks (6 layers, 50 unrolled steps) into one xN node")
    r.add_argument("--no-constants", action="store_true", help="hide constant inputs")
    r.add_argument("--no-values", action="store_true", help="hide tensor values")
    r.add_argument("--lang", choices=list(languages()), default="en", help="language of explanations")
    r.add_argument("--rankdir", choices=["auto", "LR", "TB"], default="auto",
                   help="layout direction (default auto: left to right for short chains, top down for long)")
    sub.add_parser("lessons", help="list the built-in lessons")
    a = sub.add_parser("app", help="start the app in the browser (options go to streamlit run)",
                       description="Start the gradviz app at http://localhost:8501. Every option "
                                   "is passed to `streamlit run`, e.g. --server.port 8600.")
    a.add_argument("streamlit_options", nargs="*", metavar="STREAMLIT_OPTION",
                   help="passed to streamlit run, e.g. --server.port 8600")
    return p


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the child is killed and no .part file stays."""
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (called as a library): leave signals alone
        pass


def main(argv: list[str] | None = None) -> int:
    _stop_on_sigterm()
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8 print as their bytes
        try:
            stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if "--" in argv:  # everything after -- belongs to the user's script
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    if argv[:1] == ["app"] and not {"-h", "--help"} & set(argv[1:2]):
        return _app(argv[1:] + script_args)  # every option is streamlit's
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.script_args = script_args
    try:
        if args.command == "lessons":
            return _lessons()
        return _render(args)
    except BrokenPipeError:  # `gradviz lessons | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _lessons() -> int:
    from gradviz.lessons import LESSONS, lessons_dir

    for lesson in LESSONS:
        print(f"{lesson.number:2d}  {lesson.title['en']:<45} {lessons_dir() / lesson.script}")
    return 0


def _app(streamlit_args: list[str]) -> int:
    """`streamlit run` on the app inside the package, on localhost unless told otherwise."""
    import subprocess

    from gradviz.ui.app import streamlit_command

    try:
        return subprocess.call(streamlit_command(streamlit_args))
    except KeyboardInterrupt:
        return 130


def _script_of(args: argparse.Namespace) -> Path | None:
    """The script to run: the one named, or a lesson's (None, with a message, when unknown)."""
    if args.lesson is None:
        if Path(args.script).is_file():
            return Path(args.script)
        print(f"gradviz: no such script: {args.script}", file=sys.stderr)
        return None
    from gradviz.lessons import LESSONS, get

    try:
        return get(args.lesson).path
    except KeyError:
        known = ", ".join(str(lesson.number) for lesson in LESSONS)
        print(f"gradviz: no lesson {args.lesson!r}; the lessons are {known} (gradviz lessons)",
              file=sys.stderr)
        return None


def _out_folder(out: Path) -> str | None:
    """Why `-o` cannot take the files (checked before the script runs), or None."""
    if out.exists() and not out.is_dir():
        return tr("the output folder {out} is a file", "en", out=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return tr("cannot make the output folder {out}: {why}", "en", out=str(out), why=e.strerror or e)
    probe = out / f".gradviz-probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        return tr("cannot write in the output folder {out}: {why}", "en", out=str(out), why=e.strerror or e)
    return None


class _Echo:
    """The script's output, shown live on stderr as it comes (its head; the tail at the end)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, data: bytes) -> None:
        from gradviz.runner.output import strip_ansi

        text = data.decode("utf-8", errors="replace")
        self.stream.write(text if self.tty else strip_ansi(text))
        self.stream.flush()


def _render(args: argparse.Namespace) -> int:
    from gradviz.runner import EXIT_MEMORY, EXIT_SCRIPT, EXIT_TIMEOUT, EXIT_USAGE, run_script
    from gradviz.runner.output import BoundedOutput

    script = _script_of(args)
    if script is None:
        return EXIT_USAGE
    for folder in args.writable:
        if not Path(folder).is_dir():
            print("gradviz: " + tr("--writable {dir} is not a folder", args.lang, dir=folder), file=sys.stderr)
            return EXIT_USAGE
    problem = _out_folder(Path(args.out))
    if problem is not None:
        print(f"gradviz: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.tensorboard is not None:
        import importlib.util

        from gradviz.render.tensorboard import INSTALL_HINT

        if importlib.util.find_spec("tensorboard") is None:
            print(f"gradviz: {INSTALL_HINT}", file=sys.stderr)
            return EXIT_USAGE
    from gradviz.progress import TqdmProgress

    bar = None if args.no_progress else TqdmProgress(sys.stderr, desc=script.name)
    output = BoundedOutput(on_head=_Echo(sys.stderr))
    rec = run_script(script, args.script_args, device=args.device, isolate=True,
                     timeout=args.timeout or (LESSON_TIMEOUT if args.lesson else SCRIPT_TIMEOUT),
                     memory_limit=args.memory_limit, disk_limit=args.disk_limit,
                     max_graphs=args.max_graphs,
                     at=args.at, total=args.total, progress=bar, writable=args.writable, output=output,
                     on_start=lambda: _warm_writers(args.format))  # their imports overlap the run
    if bar is not None:
        bar.close()
    rest = output.after_head(args.lang)
    if rest:
        sys.stderr.write(rest if rest.endswith("\n") else rest + "\n")
    options = {"constants": not args.no_constants, "values": not args.no_values,
               "lang": args.lang, "rankdir": args.rankdir,
               "depth": args.depth, "budget": args.budget or None, "fold": args.fold}
    try:
        written = write_outputs(rec, script.stem, Path(args.out), args.format, args.steps, options,
                                draw_time=args.draw_time, progress=not args.no_progress)
    except (OSError, RuntimeError) as e:
        print("gradviz: " + tr("could not write the output: {why}", args.lang, why=e), file=sys.stderr)
        return EXIT_SCRIPT
    if rec.error is not None and rec.error.type == "DeviceError":
        print(f"gradviz: {rec.error.message}", file=sys.stderr)
        return EXIT_USAGE
    if args.tensorboard is not None:
        from gradviz.render.tensorboard import write_tensorboard

        try:
            written.append(write_tensorboard(rec, args.tensorboard))
        except (OSError, RuntimeError) as e:
            print("gradviz: " + tr("could not write the TensorBoard events: {why}", args.lang, why=e),
                  file=sys.stderr)
            return EXIT_SCRIPT
    for path in written:
        print(path)
    for note in rec.notes:
        print(f"note: {shown(note, args.lang)}", file=sys.stderr)
    if rec.error is None:
        return 0
    err = rec.error
    where = f"{script.name} line {err.line}: " if err.line else f"{script.name}: "
    print(f"error: {where}{err.type}: {err.message}", file=sys.stderr)
    text = pick(err.explanation, err.explanation_ko, args.lang)
    if text:
        print(f"  {text}", file=sys.stderr)
    hint = pick(err.hint, err.hint_ko, args.lang)
    if hint:
        print("  " + tr("fix: {hint}", args.lang, hint=hint), file=sys.stderr)
    return {"TimeLimit": EXIT_TIMEOUT, "MemoryLimit": EXIT_MEMORY}.get(err.type, EXIT_SCRIPT)


def _warm_writers(formats: list[str]) -> None:
    """Import what writes the outputs in a thread once the child runs (the parent only waits then;
    before, it would slow the child's start): the stepper page's modules take ~0.1 s to import."""
    import threading

    def imports() -> None:
        import gradviz.render.files  # noqa: F401
        if "html" in formats:
            import gradviz.render.html  # noqa: F401
        if set(formats) - {"json", "html"}:
            import gradviz.render.svg  # noqa: F401

    threading.Thread(target=imports, name="gradviz-warm", daemon=True).start()


def _readable(path: Path) -> Path:
    """Output files get the usual permissions (as the umask says), not a temporary file's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(path, 0o666 & ~umask)
    except OSError:
        pass
    return path


def _stale(out: Path, stem: str, formats: list[str], steps: bool, written: set[Path]) -> None:
    """Remove `<stem>-N` pictures of an earlier, longer run that this run did not write again."""
    import re

    kinds = [f for f in formats if f not in ("json", "html")]
    if not kinds:
        return
    pattern = re.compile(re.escape(stem) + r"-\d+(-step-\d+)?\.(" + "|".join(kinds) + ")")
    for path in out.iterdir():
        m = pattern.fullmatch(path.name)
        if m and path not in written and (not m.group(1) or steps) and path.is_file():
            try:
                path.unlink()
            except OSError:
                pass


def write_outputs(rec: Recording, stem: str, out: Path, formats: list[str], steps: bool,
                  options: dict, draw_time: float = DRAW_TIME, progress: bool = False) -> list[Path]:
    """OUT/<stem>.json and .html first, then OUT/<stem>-<n>.<ext> per graph and the step pictures.

    Pictures share one time budget (`draw_time` seconds): what it leaves undrawn is said in a
    note, and the HTML stepper holds every step anyway.
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    from gradviz.render.files import atomic_write, graph_bytes

    written: list[Path] = []
    jobs: list[tuple[Path, object, str, int | None]] = []
    for g in rec.graphs:
        n = g.index + 1
        for fmt in formats:
            if fmt not in ("json", "html"):
                jobs.append((out / f"{stem}-{n}.{fmt}", g, fmt, None))
    if steps:
        for g in rec.graphs:
            jobs += [(out / f"{stem}-{g.index + 1}-step-{k + 1}.svg", g, "svg", k) for k in range(len(g.steps))]
    note = N_("Picture-making stopped after {s:g} s (--draw-time): {done} of {total} pictures "
              "were drawn; the rest were skipped.")
    if "json" in formats or "html" in formats:
        note = N_("Picture-making stopped after {s:g} s (--draw-time): {done} of {total} pictures "
                  "were drawn; the rest were skipped (every step is in the JSON and HTML).")
    with ThreadPoolExecutor(max_workers=1) as pool:  # the page's `dot` runs while the JSON is encoded
        page = pool.submit(rec.save, out / f"{stem}.html") if "html" in formats else None
        if "json" in formats:
            written.append(_readable(rec.save(out / f"{stem}.json")))
        if page is not None:
            written.append(_readable(page.result()))
    bar = None
    if progress and jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=tr("pictures", options.get("lang", "en")), unit="pic",
                   file=sys.stderr, delay=1.0, dynamic_ncols=True)
    start = time.monotonic()
    done = 0
    for path, g, fmt, step in jobs:
        if time.monotonic() - start > draw_time:
            break
        kw = dict(options) if step is None else {**options, "step": step}
        atomic_write(path, graph_bytes(g, fmt, **kw))
        written.append(_readable(path))
        done += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if done < len(jobs):
        said = tr(note, "en", s=draw_time, done=done, total=len(jobs))
        rec.notes.append(said)
        for fmt in ("json", "html"):  # say it in the files that were written before
            if fmt in formats:
                rec.save(out / f"{stem}.{fmt}")
    _stale(out, stem, formats, steps, set(written))
    return written


if __name__ == "__main__":
    sys.exit(main())
