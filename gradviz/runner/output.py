"""What a script prints, streamed as it comes and kept within a bound: the head and the tail.

A script may print 200 MB; the server must not hold it. `BoundedOutput` keeps the
first `head` bytes and the last `tail` bytes, counts what fell between, and says
so in the text it gives back. `read_stream` feeds it from a pipe in a thread and
passes each chunk of the head on as it arrives (the CLI shows it live).
"""
from __future__ import annotations

import re
import threading
from typing import IO, Callable

from gradviz.words import N_, tr

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024
CUT = N_("[… {n} bytes of output cut here …]")
# terminal control sequences (colours, bold, cursor moves) and any stray ESC
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]?")


def strip_ansi(text: str) -> str:
    """Text without terminal escape codes: they are noise in JSON, HTML and a log file."""
    return _ANSI.sub("", text) if "\x1b" in text else text


class BoundedOutput:
    """The head and tail of a byte stream, and how much was cut between them."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES,
                 on_head: Callable[[bytes], None] | None = None):
        self.head_size, self.tail_size = head, tail
        self.head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self.on_head = on_head
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            room = self.head_size - len(self.head)
            if room > 0:
                part, data = data[:room], data[room:]
                self.head += part
                if self.on_head is not None:
                    try:
                        self.on_head(part)
                    except Exception:  # a closed terminal must not stop the run
                        self.on_head = None
            if data:
                self._tail += data
                if len(self._tail) > 2 * self.tail_size:
                    del self._tail[:-self.tail_size]

    @property
    def tail(self) -> bytes:
        return bytes(self._tail[-self.tail_size:])

    @property
    def cut(self) -> int:
        """Bytes kept neither in the head nor in the tail."""
        return max(0, self.total - len(self.head) - min(len(self._tail), self.tail_size))

    def text(self, lang: str = "en") -> str:
        """Head, a line saying how much was cut (when anything was), and tail."""
        with self._lock:
            head, tail, cut = bytes(self.head), self.tail, self.cut
        text = head.decode("utf-8", errors="replace")
        if cut:
            text += "\n" + tr(CUT, lang, n=format(cut, ",")) + "\n"
        return strip_ansi(text + tail.decode("utf-8", errors="replace"))

    def after_head(self, lang: str = "en") -> str:
        """What the live head did not show: the cut line and the tail (empty when all was shown)."""
        with self._lock:
            tail, cut = self.tail, self.cut
        if not tail:
            return ""
        text = tr(CUT, lang, n=format(cut, ",")) + "\n" if cut else ""
        return text + tail.decode("utf-8", errors="replace")


def read_stream(stream: IO[bytes], into: BoundedOutput) -> threading.Thread:
    """Feed `into` from `stream` until end of file, in a daemon thread (started)."""

    def run() -> None:
        try:
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                into.feed(chunk)
        except (OSError, ValueError):  # closed under us when the run was given up
            pass

    thread = threading.Thread(target=run, name="gradviz-output", daemon=True)
    thread.start()
    return thread
