"""How far long work has got: iterations done (of a total, when known), rate, time.

The recorder ticks a ProgressMeter once per backward() call; the meter calls a
callback at most a few times a second with a Progress. Faces choose the
callback: the CLI shows a tqdm bar (TqdmProgress), the app updates a widget, and
the child-process runner writes one JSON line per report to a file that the
parent follows (ProgressFile / follow_progress). No torch here.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Callable

ProgressCallback = Callable[["Progress"], None]


@dataclass
class Progress:
    """One report: `done` iterations of `total` (None when unknown)."""

    done: int
    total: int | None = None
    elapsed: float = 0.0  # seconds since recording started
    rate: float = 0.0  # iterations per second
    loss: float | None = None  # the latest loss, when there is one
    finished: bool = False
    logged: list[dict] = field(default_factory=list)  # numbers the script logged since the last report

    @property
    def remaining(self) -> float | None:
        """Seconds left at the current rate; None without a total."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)

    def to_line(self) -> str:
        return json.dumps(asdict(self), allow_nan=False, default=str)

    @classmethod
    def from_line(cls, line: str) -> "Progress | None":
        try:
            d = json.loads(line)
            return cls(**{k: d[k] for k in d if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return None


class ProgressMeter:
    """Counts iterations; reports to `callback` at most every `interval` seconds.

    tick() is what runs once per iteration, so it is one clock read and a compare
    when no report is due.
    """

    def __init__(self, callback: ProgressCallback | None, total: int | None = None,
                 interval: float = 0.25):
        self.callback = callback
        self.total = total
        self.interval = interval
        self.start = time.monotonic()
        self._first: tuple[float, int] | None = None  # (time, done) at the first tick
        self._next = 0.0
        self.done = 0
        self.logged: list[dict] | None = None  # the recording's logged numbers: new ones go with a report
        self._sent = 0

    def tick(self, done: int, loss: float | None = None) -> None:
        self.done = done
        if self.callback is None:
            return
        now = time.monotonic()
        if self._first is None:
            self._first = (now, done)
        if now < self._next:
            return
        self._next = now + self.interval
        self._report(now, loss, finished=False)

    def finish(self, loss: float | None = None) -> None:
        if self.callback is not None:
            self._report(time.monotonic(), loss, finished=True)

    def _report(self, now: float, loss: float | None, finished: bool) -> None:
        rate = 0.0
        if self._first is not None and now > self._first[0] and self.done > self._first[1]:
            rate = (self.done - self._first[1]) / (now - self._first[0])
        if loss is not None and loss != loss:  # NaN is not JSON
            loss = None
        logged: list[dict] = []
        if self.logged is not None:
            logged, self._sent = [dict(d) for d in self.logged[self._sent:]], len(self.logged)
            logged = [d for d in logged if not _not_json(d.get("value"))]
        p = Progress(done=self.done, total=self.total, elapsed=now - self.start, rate=rate,
                     loss=loss if loss is None or abs(loss) != float("inf") else None,
                     finished=finished, logged=logged)
        try:
            self.callback(p)
        except Exception:  # a broken progress display must never stop a recording
            self.callback = None


def _not_json(x: object) -> bool:
    return isinstance(x, float) and (x != x or abs(x) == float("inf"))


class TqdmProgress:
    """A callback that shows progress with tqdm, the bar training scripts already show.

    The meter reports a few times a second; tqdm redraws one line on a terminal and,
    on a pipe or a log file, writes an update every `log_every` seconds.
    """

    def __init__(self, stream: IO[str] | None = None, desc: str = "", log_every: float = 5.0):
        self.stream = stream if stream is not None else sys.stderr
        self.desc = desc
        self.log_every = log_every
        self.bar = None

    def __call__(self, p: Progress) -> None:
        if self.bar is None:
            from tqdm import tqdm

            tty = bool(getattr(self.stream, "isatty", lambda: False)())
            # delay: no empty "0it" line at creation; the clock starts when the work did
            self.bar = tqdm(total=p.total, desc=self.desc, unit="it", file=self.stream, delay=1e-9,
                            mininterval=0.25 if tty else self.log_every, dynamic_ncols=True)
            self.bar.start_t -= p.elapsed
            self.bar.last_print_t -= p.elapsed
            first = True
        else:
            first = False
        bar = self.bar
        if p.total is not None and bar.total != p.total:
            bar.total = p.total
        if p.loss is not None:
            bar.set_postfix_str(f"loss {p.loss:.6g}", refresh=False)
        bar.update(max(0, p.done - bar.n))
        if first:
            bar.refresh()
        if p.finished:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ProgressFile:
    """A callback that appends one JSON line per report to a file (the child's side)."""

    def __init__(self, path: str | Path):
        self._f = open(path, "a", encoding="utf-8")

    def __call__(self, p: Progress) -> None:
        self._f.write(p.to_line() + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def follow_progress(path: str | Path, callback: ProgressCallback,
                    poll: float = 0.1) -> Callable[[], None]:
    """Read the lines a ProgressFile writes, as they come (the parent's side).

    Returns stop(): it reads what is left, then ends the reader thread.
    """
    path = Path(path)
    done = threading.Event()

    def read_new(f, buf: str) -> str:
        buf += f.read()
        *lines, buf = buf.split("\n")
        for line in lines:
            p = Progress.from_line(line)
            if p is not None:
                try:
                    callback(p)
                except Exception:
                    pass
        return buf

    def run() -> None:
        while not path.exists():
            if done.wait(poll):
                if not path.exists():
                    return
                break
        with open(path, encoding="utf-8") as f:
            buf = ""
            while not done.wait(poll):
                buf = read_new(f, buf)
            read_new(f, buf)

    thread = threading.Thread(target=run, name="gradviz-progress", daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join(timeout=2)

    return stop
