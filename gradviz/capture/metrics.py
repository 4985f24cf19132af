"""The numbers and texts a script logs for TensorBoard (`SummaryWriter.add_scalar`, `add_text`), as logged.

Accuracy, validation loss and the like are not in the autograd graph: a script (or a
Lightning Trainer, through its TensorBoardLogger) writes them with add_scalar. While
record() is active every such call is also kept as (tag, step, value), or (tag, step,
text) for add_text, with the iteration it came in (backward() calls so far), so the app
can chart them next to the losses gradviz saw itself and show them per iteration. The writer module loads tensorboard,
which takes a second, so nothing is imported here: the method is wrapped once the
learner's code has imported it (an import hook), or at once if it already had.
"""
from __future__ import annotations

import importlib.abc
import sys
from typing import Any, Callable

WRITERS = ("torch.utils.tensorboard.writer", "tensorboardX.writer")
MAX_POINTS = 20_000  # logged numbers kept per recording


class _PatchAfter(importlib.abc.Loader):
    """The module's own loader, and a call back once the module has run."""

    def __init__(self, loader: Any, done: Any):
        self.loader, self.done = loader, done

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        self.done(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, ...: the real loader's
        return getattr(self.loader, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds a watched module as usual and hands it to `done` once it has been executed."""

    def __init__(self, names: tuple[str, ...], done: Any):
        self.names, self.done = names, done

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _PatchAfter(spec.loader, self.done)
            return spec
        return None


class MetricWatch:
    """Keeps every add_scalar(tag, value, step) and add_text(tag, text, step) call made while active."""

    def __init__(self, max_points: int = MAX_POINTS, iteration: Callable[[], int] | None = None):
        self.points: list[dict] = []
        self.iteration = iteration  # backward() calls so far: the iteration a point belongs to
        self.dropped = 0
        self.max_points = max_points
        self._patched: list[tuple[type, Any]] = []
        self._finder: _AfterImport | None = None

    def __enter__(self) -> "MetricWatch":
        for name in WRITERS:
            if name in sys.modules:
                self._patch(sys.modules[name])
        self._finder = _AfterImport(tuple(n for n in WRITERS if n not in sys.modules), self._patch)
        sys.meta_path.insert(0, self._finder)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        for cls, originals in self._patched:
            for name, original in originals.items():
                setattr(cls, name, original)
        self._patched = []

    def _patch(self, module: Any) -> None:
        cls = getattr(module, "SummaryWriter", None)
        if cls is None or any(c is cls for c, _ in self._patched):
            return
        originals = {name: getattr(cls, name) for name in ("add_scalar", "add_text") if hasattr(cls, name)}
        watch = self

        def wrap(name: str, original: Any) -> Any:
            def logged(writer, tag, value, global_step=None, *args, **kwargs):
                result = original(writer, tag, value, global_step, *args, **kwargs)
                watch._keep(tag, value, global_step, text=name == "add_text")
                return result

            logged.__wrapped__ = original
            return logged

        for name, original in originals.items():
            setattr(cls, name, wrap(name, original))
        self._patched.append((cls, originals))

    def _keep(self, tag: Any, value: Any, step: Any, text: bool = False) -> None:
        if len(self.points) >= self.max_points:
            self.dropped += 1
            return
        try:
            point: dict[str, Any] = {"tag": str(tag), "step": None if step is None else int(step)}
            if text:
                point["text"] = str(value)[:1000]
            else:
                point["value"] = float(value.item() if hasattr(value, "item") else value)
            if self.iteration is not None:
                point["iteration"] = int(self.iteration())
            self.points.append(point)
        except Exception:  # not a number: TensorBoard itself will say so
            pass
