"""Lesson 16's race, live: five torch.optim optimizers on one loss of two numbers, for the playground.

The app's optimizer playground redraws whenever the learner moves a knob, so the
race is a plain torch.optim run here in the app process (recording a snapshot per
iteration, as a lesson run does, costs seconds): every optimizer has its own two
0-d parameters, one backward of the summed losses gives each its own gradient
(the sum passes 1 to every loss, exactly), and only the positions and losses are
kept. The one step the learner picks is run again with its optimizer state read
before and after (capture/optimizers.read_optimizer, the lesson runs' reader), so
explain/updates.py can write it out as a formula. The surfaces and optimizers are
lesson 16's (a test holds them to the script's own printout).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from gradviz.capture.optimizers import read_optimizer, step_numbers
from gradviz.recording import OptimizerStep

X_DATA, Y_DATA = (1.0, 2.0, 3.0), (1.0, 2.0, 3.0)  # lesson 7's points, on the line y = x


def _regression(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    x, y = torch.tensor(X_DATA), torch.tensor(Y_DATA)
    return ((w.unsqueeze(-1) * x + b.unsqueeze(-1) - y) ** 2).mean(-1)  # any shape of w, b


@dataclass(frozen=True)
class Surface:
    """A loss of two numbers, where the race starts, a learning rate and steps that suit it,
    where its minimum is and the part of the plane worth drawing."""

    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # elementwise in (w1, w2)
    formula: str
    start: tuple[float, float]
    lr: float
    steps: int
    minimum: tuple[float, float]
    box: tuple[float, float, float, float]  # w1 from, w1 to, w2 from, w2 to
    names: tuple[str, str] = ("w1", "w2")
    log_levels: bool = False  # contour levels spaced by factors (a loss spanning decades)


SURFACES: dict[str, Surface] = {
    "bowl": Surface(lambda a, b: a ** 2 + b ** 2, "w1² + w2²", (-1.5, 1.0), 0.1, 50, (0.0, 0.0),
                    (-2.0, 2.0, -2.0, 2.0)),
    "ravine": Surface(lambda a, b: 0.1 * a ** 2 + 2 * b ** 2, "0.1·w1² + 2·w2²", (-4.0, 1.0), 0.1, 50,
                      (0.0, 0.0), (-5.0, 5.0, -2.0, 2.0)),
    "rosenbrock": Surface(lambda a, b: (1 - a) ** 2 + 100 * (b - a ** 2) ** 2, "(1 − w1)² + 100·(w2 − w1²)²",
                          (-1.5, 2.0), 0.002, 300, (1.0, 1.0), (-2.0, 2.0, -1.0, 3.0), log_levels=True),
    "regression": Surface(_regression, "mean((W·x + b − y)²)", (-1.0, 2.0), 0.05, 100, (1.0, 0.0),
                          (-2.0, 3.0, -2.0, 3.0), names=("W", "b")),
}

OPTIMIZERS: dict[str, Callable[[list[torch.Tensor], float], torch.optim.Optimizer]] = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "Momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "AdamW": lambda params, lr: torch.optim.AdamW(params, lr=lr, weight_decay=0.1),
}


@dataclass
class Path:
    """One optimizer's way: its position and loss before the first step and after every step."""

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def race(surface: str, lr: float, steps: int, start: tuple[float, float] | None = None) -> list[Path]:
    """Every optimizer's path over `steps` steps of torch.optim from the same start."""
    return _run(surface, lr, steps, start)[0]


def one_step(surface: str, lr: float, step: int, start: tuple[float, float] | None = None
             ) -> dict[str, OptimizerStep]:
    """What each optimizer's `step`-th step() (1 = the first) did, in numbers, read from torch.optim."""
    return _run(surface, lr, step, start, watch=step)[1]


def grid(surface: str, box: tuple[float, float, float, float], n: int) -> list[list[float]]:
    """The loss on an n×n grid over `box`: row i at w2 = i-th value, column j at w1 = j-th."""
    s = SURFACES[surface]
    w1 = torch.linspace(box[0], box[1], n, dtype=torch.float64)
    w2 = torch.linspace(box[2], box[3], n, dtype=torch.float64)
    b, a = torch.meshgrid(w2, w1, indexing="ij")
    with torch.no_grad():
        return s.loss(a, b).tolist()


def _run(surface: str, lr: float, steps: int, start: tuple[float, float] | None,
         watch: int | None = None) -> tuple[list[Path], dict[str, OptimizerStep]]:
    s = SURFACES[surface]
    w0 = s.start if start is None else start
    pairs = [(torch.tensor(float(w0[0]), requires_grad=True), torch.tensor(float(w0[1]), requires_grad=True))
             for _ in OPTIMIZERS]
    opts = [make(list(pair), lr) for make, pair in zip(OPTIMIZERS.values(), pairs)]
    flat = [p for pair in pairs for p in pair]
    names = {id(p): name for pair in pairs for p, name in zip(pair, s.names)}
    where, losses, watched = [], [], {}
    for k in range(steps + 1):
        loss = torch.stack([s.loss(a, b) for a, b in pairs])
        with torch.no_grad():
            where.append(torch.stack(flat))
            losses.append(loss.detach())
        if k == steps:
            break
        for p in flat:
            p.grad = None  # what zero_grad() does, without its profiler frame per optimizer
        loss.sum().backward()
        if watch == k + 1:
            with torch.no_grad():
                before = [read_optimizer(opt, lambda p: names.get(id(p))) for opt in opts]
        for opt in opts:
            opt.step()
        if watch == k + 1:
            with torch.no_grad():
                for kind, opt, b in zip(OPTIMIZERS, opts, before):
                    after = read_optimizer(opt, lambda p: names.get(id(p)))
                    watched[kind] = step_numbers(type(opt).__name__, b, after)
    at, ls = torch.stack(where).tolist(), torch.stack(losses).tolist()
    paths = [Path(name, [(row[2 * i], row[2 * i + 1]) for row in at], [row[i] for row in ls])
             for i, name in enumerate(OPTIMIZERS)]
    return paths, watched
