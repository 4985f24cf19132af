"""How the child hands its recording back to the parent, and how the parent reads it without trusting it.

The child writes each graph as one JSON line the moment it is recorded
(`graphs.jsonl`, append only: cheap, and a crash or a kill loses at most the
line being written), and the whole recording once at the end (`recording.json`).
The script runs in the same process and may have written anything there, so
the parent opens both without following links, only as regular files, only up
to `MAX_BYTES`, and reads them through `Recording.from_json` / `Graph.from_dict`,
whose one error (RecordingFormatError) it turns into a note, never a traceback.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from gradviz.recording import Graph, Recording, RecordingFormatError
from gradviz.words import notes as said
from gradviz.words.notes import note

RECORDING = "recording.json"
GRAPHS = "graphs.jsonl"
MAX_BYTES = 1024**3  # a long run's timeline is a few hundred MB at most


def _utf8(text: str) -> bytes:
    # a lone surrogate (from a script's message) has no UTF-8: it becomes U+FFFD, not a crash
    return text.encode("utf-8", errors="replace")


class HandBack:
    """The child's side: where its graphs and its recording go."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._graphs = None

    def graph(self, _rec: Recording, graph: Graph) -> None:
        """on_graph: one line per graph, written as soon as it is recorded."""
        if self._graphs is None:
            self._graphs = open(self.folder / GRAPHS, "ab")
        line = json.dumps(graph.to_dict(), ensure_ascii=False, allow_nan=False)
        self._graphs.write(_utf8(line) + b"\n")
        self._graphs.flush()

    def finish(self, rec: Recording) -> None:
        from gradviz.render.files import atomic_write

        atomic_write(self.folder / RECORDING, _utf8(rec.to_json()))


def _read_own_file(path: Path) -> bytes | None:
    """The file's bytes when it is a plain file of sane size (no link, no FIFO, no device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_BYTES + 1)[:MAX_BYTES]
    finally:
        os.close(fd)


def read_back(folder: str | os.PathLike) -> tuple[Recording | None, list[str]]:
    """(the recording, notes): the full one when the child finished, else its graphs so far."""
    folder = Path(folder)
    data = _read_own_file(folder / RECORDING)
    notes: list[str] = []
    if data is not None:
        try:
            return Recording.from_json(data.decode("utf-8", errors="replace")), notes
        except RecordingFormatError:
            notes.append(note(said.HANDBACK_DAMAGED))
    lines = _read_own_file(folder / GRAPHS)
    if lines is None:
        return None, notes
    rec = Recording()
    for line in lines.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec.graphs.append(_graph(json.loads(line.decode("utf-8", errors="replace"))))
        except (ValueError, RecordingFormatError, RecursionError):
            break  # the line being written when the process died
    return rec, notes


def _graph(d: Any) -> Graph:
    if not isinstance(d, dict):
        raise RecordingFormatError("a graph is not a JSON object")
    try:
        return Graph.from_dict(d)
    except (TypeError, AttributeError, KeyError, ValueError) as e:
        raise RecordingFormatError(f"a graph could not be read: {e}") from None
