"""Recording: everything captured from one run (graphs, timeline, pitfalls, an error) and its JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from gradviz.recording.graph import Graph
from gradviz.recording.later import _Later, _Settled
from gradviz.recording.pitfalls import Pitfall, _Pitfalls
from gradviz.recording.plain import _clean, _known, paused_gc
from gradviz.recording.tangents import TangentStep
from gradviz.recording.timeline import Iteration, TimelineFacts

JSON_VERSION = 1


class RecordingFormatError(ValueError):
    """Text that Recording.from_json cannot read as a recording (the one error it raises)."""


@dataclass
class ErrorInfo:
    type: str
    message: str
    explanation: str = ""
    explanation_ko: str = ""
    line: int | None = None
    file: str | None = None
    hint: str = ""  # the fix, in English
    hint_ko: str = ""  # the fix, in Korean
    node: str | None = None  # culprit node in the last graph, when there is one


@dataclass
class Recording(_Settled):
    """Everything captured from one run: graphs, steps, iterations, an error."""

    graphs: list[Graph] = field(default_factory=list)
    script: str | None = None
    source: str | None = None  # the script's text, for the stepper's source panel
    device: str = "cpu"
    iterations: list[Iteration] = _Later(list)
    pitfalls: list[Pitfall] = _Pitfalls(list)
    notes: list[str] = field(default_factory=list)
    error: ErrorInfo | None = None
    stdout: str = ""
    tangents: list[TangentStep] = field(default_factory=list)  # forward-mode ops, in order
    metrics: list[dict] = field(default_factory=list)  # add_scalar calls: tag, step, value
    version: int = JSON_VERSION

    def settle(self) -> "Recording":
        """Compute every summary still owed now and let go of the tensors behind them.

        Nothing needs this: reading a field does the same for its batch. It is for
        timing the whole cost of a recording, or freeing the memory at once.
        """
        self._settle()
        for g in self.graphs:
            g._settle()
            for node in g.nodes:  # (most owe nothing by now: one batch settles them all)
                if node._pending is not None:
                    node._settle()
            for step in g.steps:
                if step._pending is not None:
                    step._settle()
                for gi in step.grad_inputs:
                    if gi._pending is not None:
                        gi._settle()
        return self

    def on_iterations(self, fill: Callable[["Recording", "TimelineFacts | None"], None]) -> None:
        """Have `fill` complete the iterations (the explain layer's words) before they are read.

        Capture makes the iterations when they are first read (see _Later): then
        `fill(recording, facts)` runs right after they are made, with what capture saw
        along the way (TimelineFacts). Without iterations still owed it runs now, with None.
        """
        if self._pending is None:
            fill(self, None)
        else:
            self.__dict__.setdefault("_fills", []).append(fill)

    def iterations_made(self, facts: "TimelineFacts | None" = None) -> None:
        """Called by whoever made the iterations owed: runs what on_iterations() asked for."""
        for fill in self.__dict__.pop("_fills", ()):
            try:
                fill(self, facts)
            except Exception as e:  # words must never cost the user their numbers
                # (words.notes.ITERATION_WORDS_UNAVAILABLE's text: shown translated from it)
                self.notes.append(f"explanations of the iterations unavailable: {type(e).__name__}: {e}")

    def _plain_dict(self) -> dict:
        # asdict deep-copies every number (Python 3.11): too slow for a 20000-iteration timeline,
        # whose entries make their own plain dicts (to_dict), sharing their values.
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["graphs"] = [asdict(g) for g in self.graphs]
        its = d["iterations"]
        with paused_gc():
            d["iterations"] = [it.to_dict() for it in its]
        d["pitfalls"] = [p.to_dict() for p in d["pitfalls"]]
        d["tangents"] = [asdict(t) for t in self.tangents]
        d["error"] = asdict(self.error) if self.error is not None else None
        return d

    def to_dict(self) -> dict:
        return _clean(self._plain_dict())

    def to_json(self, indent: int | None = None) -> str:
        d = self._plain_dict()
        try:
            return json.dumps(d, indent=indent, ensure_ascii=False, allow_nan=False)
        except ValueError:  # NaN or inf somewhere: spelled as strings
            return json.dumps(_clean(d), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Recording":
        d = dict(d)
        d["graphs"] = [Graph.from_dict(g) for g in d.get("graphs", [])]
        its = d.get("iterations") or []
        with paused_gc():
            d["iterations"] = [Iteration.from_dict(it) for it in its]
        d["pitfalls"] = [Pitfall.from_dict(p) for p in d.get("pitfalls") or []]
        d["tangents"] = [TangentStep(**_known(TangentStep, t)) for t in d.get("tangents") or []]
        if d.get("error"):
            d["error"] = ErrorInfo(**_known(ErrorInfo, d["error"]))
        return cls(**_known(cls, d))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Recording":
        """Read what to_json() wrote. Raises RecordingFormatError (a ValueError), and only
        that, for anything else: bad JSON, nesting too deep, fields of the wrong type."""
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError(f"a recording is a JSON object, not {type(d).__name__}")
            return cls.from_dict(d)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as e:
            raise RecordingFormatError(f"not a gradviz recording: {type(e).__name__}: {e}"[:500]) from None

    def save(self, path: str | Path) -> Path:
        """`.html`: the standalone stepper page; anything else: the JSON. Written atomically."""
        from gradviz import render

        return render.save_recording(self, Path(path))

    def to_tensorboard(self, logdir: str | Path, pictures: bool = True) -> Path:
        """Write the timeline (and the graph pictures) as TensorBoard events."""
        from gradviz import render

        return render.write_tensorboard(self, Path(logdir), pictures)

    @property
    def graph(self) -> Graph:
        """The first graph (most lessons have one)."""
        if not self.graphs:
            raise LookupError("nothing was recorded: the code never called backward()")
        return self.graphs[0]

    def _repr_html_(self) -> str:
        from gradviz import render

        return render.stepper_html(self, embed=True)
