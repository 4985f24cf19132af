"""The runner's hook: while a script runs, explain its warnings; when it ends, its dead gradients.

`watch(recording)` changes the Recording (notes, pitfalls, node notes) while the
script runs, which is the runner's job, so it lives next to gradviz.runner; the
words come from the pure functions in gradviz.explain (warning_notes, dead_grads).
No torch.
"""
from __future__ import annotations

import linecache
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

from gradviz.explain.dead_grads import dead_grad_findings
from gradviz.user_code import is_user_file
from gradviz.explain.warning_notes import explain_warning
from gradviz.recording import Recording

__all__ = ["watch"]


@contextmanager
def watch(recording: Recording) -> Iterator[Recording]:
    """While a script runs: explain its warnings; when it ends: explain dead gradients.

    Warnings still reach whoever showed them before (they are passed on, not eaten).
    """
    seen: set[tuple] = set()
    found: list[dict] = []  # added to recording.pitfalls at the end, after the recorder's own
    with warnings.catch_warnings():
        shown_before = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            try:
                _note_warning(recording, str(message), filename, lineno, seen, found)
            except Exception:
                pass
            shown_before(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield recording
        finally:
            warnings.showwarning = shown_before
            recording.pitfalls.extend(found)
            try:
                _note_dead_grads(recording)
            except Exception:
                pass


def _note_warning(rec: Recording, message: str, filename: str, lineno: int, seen: set,
                  pitfalls: list[dict]) -> None:
    if not filename or not is_user_file(filename):  # raised inside torch: find the user's line
        f = sys._getframe(2)
        while f is not None and not is_user_file(f.f_code.co_filename):
            f = f.f_back
        if f is not None:
            filename, lineno = f.f_code.co_filename, f.f_lineno
    text = linecache.getline(filename, lineno).strip() if filename else ""
    found = explain_warning(message, text)
    if found is None or (found["id"], filename, lineno) in seen:
        return
    seen.add((found["id"], filename, lineno))
    if rec.script and os.path.abspath(filename) == os.path.abspath(rec.script):
        found["line"] = lineno
    where = f"line {lineno}: " if found.get("line") else ""
    rec.notes.append(f"{where}{found['explanation']} Fix: {found['hint']}")
    found.update(kind=found["id"], iteration=None,
                 explanation=f"{found['explanation']} Fix: {found['hint']}")
    if rec.graphs and found["name"]:
        g = rec.graphs[-1]
        for n in g.nodes:
            if n.kind == "tensor" and n.name == found["name"] and not n.is_leaf:
                n.note = found["explanation"]
                found["node"], found["graph"] = n.id, g.index
                break
    pitfalls.append(found)


def _note_dead_grads(rec: Recording) -> None:
    """Add the dead-gradient findings to each graph's notes (once per text) and nodes."""
    for g in rec.graphs:
        for f in dead_grad_findings(g, rec.source):
            if f["en"] in g.notes:
                continue
            g.notes.append(f["en"])
            try:
                node = g.node(f["node"])
                if not node.note:
                    node.note = f["en"]
            except KeyError:
                pass
            rec.pitfalls.append({"kind": "dead_grad", "id": f["id"], "iteration": g.iteration,
                                 "graph": g.index, "node": f["node"], "title": f["title"],
                                 "title_ko": f["title_ko"], "explanation": f["en"],
                                 "explanation_ko": f["ko"]})
