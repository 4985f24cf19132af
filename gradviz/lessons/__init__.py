"""The lessons: plain PyTorch scripts in this folder, and their catalogue.

Each lesson is a plain PyTorch script that runs on its own (`python 01_chain_rule.py`);
the scripts ship inside the package, so `gradviz render --lesson 1` and the app find
them in a checkout and in an installed wheel alike. This module only
describes them (titles and short Markdown texts, English msgids whose
translations are in gradviz/words/locale, the numbers each one must reproduce,
arguments that make it quick for tests). It imports no torch, so the app can
list lessons before torch is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gradviz.words import N_, Msg

__all__ = ["Lesson", "LESSONS", "GROUP_TITLES", "get", "lessons_dir", "by_group", "settings",
           "iterations", "for_script"]


@dataclass(frozen=True)
class Lesson:
    """One lesson: a script in this folder plus what to say about it."""

    id: str
    number: int
    group: str
    script: str  # file name in this folder
    title: Msg  # title["ko"]; written as a msgid, N_("..."), in the catalogue below
    text: Msg  # short Markdown, the same way
    expect: dict[str, Any] = field(default_factory=dict)
    quick_args: list[str] = field(default_factory=list)
    # the script's options a learner may turn (flag without "--" -> its default in the script)
    knobs: dict[str, Any] = field(default_factory=dict)
    # backward() calls a run makes: a number, or a function of the knobs' values
    count: int | Callable[[dict[str, Any]], int] | None = None

    def __post_init__(self) -> None:
        for key in ("title", "text"):
            value = getattr(self, key)
            if isinstance(value, str):
                object.__setattr__(self, key, Msg(value))

    @property
    def path(self) -> Path:
        return lessons_dir() / self.script


GROUP_TITLES: dict[str, Msg] = {
    "basics": Msg(N_("Autograd basics")),
    "descent": Msg(N_("Gradient descent")),
    "models": Msg(N_("Training models")),
    "restoration": Msg(N_("Image restoration")),
}


LESSONS: list[Lesson] = [
    Lesson(
        id="chain_rule",
        number=1,
        group="basics",
        script="01_chain_rule.py",
        title=N_("The chain rule"),
        text=N_("`w` is a leaf: we created it ourselves, so it has no `grad_fn`. "
                "`a = w * 3` and `l = a ** 2` are made by operations, so each records a "
                "`grad_fn` (`MulBackward0`, `PowBackward0`): the step that sends a gradient "
                "back through that operation. `l.backward()` walks these steps from `l` to `w` "
                "and multiplies the local derivatives: dl/da = 2a = 6 and da/dw = 3, "
                "so `w.grad` = 2·a·3 = 18. Only leaves keep their `.grad`."),
        expect={"w.grad": 18.0, "a.grad_fn": "MulBackward0", "l.grad_fn": "PowBackward0"},
        count=1,
    ),
    Lesson(
        id="fan_in",
        number=2,
        group="basics",
        script="02_fan_in.py",
        title=N_("One variable, two paths"),
        text=N_("`F = f + x - 2` with `f = x * y`: the leaf `x` reaches `F` twice, once through "
                "`f` and once directly. Backward adds the contributions of all paths: "
                "dF/dx = dF/df · df/dx + 1 = y + 1 = 4, and dF/dy = dF/df · x = 2. "
                "`f` is an intermediate tensor, so its gradient is thrown away unless we call "
                "`f.retain_grad()` first; then `f.grad` = dF/df = 1."),
        expect={"f.grad": 1.0, "x.grad": 4.0, "y.grad": 2.0},
        count=1,
    ),
    Lesson(
        id="constants",
        number=3,
        group="basics",
        script="03_constants.py",
        title=N_("Constants and variables"),
        text=N_("Only tensors created with `requires_grad=True` get a gradient. Here `x` is a "
                "constant (like input data), so after `F.backward()` `x.grad` is `None` and "
                "autograd did no work for it; `y.grad` = x = 1. `F` is not a leaf either: "
                "it was made by `x * y`, so `F.grad` stays `None` and PyTorch warns when you "
                "read it. Marking data as constant saves a lot of work on big datasets."),
        expect={"y.grad": 1.0, "x.grad": None, "F.grad": None},
        count=1,
    ),
    Lesson(
        id="vectors",
        number=4,
        group="basics",
        script="04_vectors.py",
        title=N_("Gradients of vectors"),
        text=N_("A vector is a bundle of scalar variables. `F = (arr * tensor ** 2).sum()` "
                "is one number, so `backward()` can start from it. Each entry of "
                "`tensor.grad` is the partial derivative of `F` by that entry: "
                "2·arr·tensor = [-4, 16, 0], and `arr.grad` = tensor² = [4, 16, 64]. "
                "A gradient always has the same shape as its tensor."),
        expect={"tensor.grad": [-4.0, 16.0, 0.0], "arr.grad": [4.0, 16.0, 64.0]},
        count=1,
    ),
    Lesson(
        id="broadcasting",
        number=5,
        group="basics",
        script="05_broadcasting.py",
        title=N_("Shapes and broadcasting"),
        text=N_("`col` (3, 1) plus `row` (4,) broadcasts to a (3, 4) grid: each number is "
                "copied along the missing axis. `view`, `squeeze` and `unsqueeze` change the "
                "shape without changing the numbers, and `(5, 3, 4) @ (4, 2)` repeats one "
                "matrix product over a batch of 5. In backward every copy sends a gradient "
                "back, and they are summed over the broadcast axes: `col.grad` is (3, 1) "
                "and `row.grad` is (4,), just like the tensors themselves."),
        expect={
            "col.grad.shape": [3, 1],
            "row.grad.shape": [4],
            "batch.grad.shape": [5, 3, 4],
            "weight.grad.shape": [4, 2],
        },
        count=1,
    ),
    Lesson(
        id="gradient_descent",
        number=6,
        group="descent",
        script="06_gradient_descent.py",
        title=N_("Gradient descent by hand"),
        text=N_("To minimise L = w², step against the slope: w ← w − lr·2w. With lr 0.05 each "
                "step multiplies w by 0.9 (10 → 9, 8.1, 7.29, …); with lr 0.3 by 0.4 "
                "(4, 1.6, 0.64, …). The update runs under `torch.no_grad()` so it is not "
                "recorded in the graph, and `w.grad.zero_()` resets the gradient, because "
                "`backward()` adds to `.grad` instead of overwriting it. The `step(params, lr)` "
                "function is the heart of every optimizer."),
        expect={
            "w (lr 0.05)": [9.0, 8.1, 7.29, 6.561, 5.9049],
            "w (lr 0.3)": [4.0, 1.6, 0.64, 0.256, 0.1024],
        },
        knobs={"lr": 0.05, "iterations": 30},
        count=lambda k: k["iterations"] + 20,  # part 2: 20 steps with lr 0.3
    ),
    Lesson(
        id="linear_regression",
        number=7,
        group="descent",
        script="07_linear_regression.py",
        title=N_("Linear regression"),
        text=N_("The points (1, 1), (2, 2), (3, 3) lie on y = x, so training should find "
                "W ≈ 1 and b ≈ 0. First `W` and `b` are plain tensors handed to "
                "`optim.SGD`; then the same model is an `nn.Module` whose `nn.Linear(1, 1)` "
                "owns its weight and bias. The loop is the same four lines either way: predict, "
                "compute the MSE loss, `zero_grad()` + `backward()`, `step()`. After 1000 "
                "epochs W is about 0.97 to 0.99 and b about 0.03 to 0.07: close, and still "
                "creeping towards 1 and 0."),
        expect={"W": 1.0, "b": 0.0, "atol": 0.1},
        knobs={"lr": 0.01, "iterations": 1000, "seed": 0},
        count=lambda k: 2 * k["iterations"],  # by hand, then nn.Module
    ),
    Lesson(
        id="two_layer_net",
        number=8,
        group="models",
        script="08_two_layer_net.py",
        title=N_("A two-layer network from raw tensors"),
        text=N_("64 samples of 1000 inputs pass through `w1` (1000×100), a ReLU written as "
                "`clamp(min=0)`, and `w2` (100×10). The loss is the summed squared error. "
                "`loss.backward()` fills `w1.grad` and `w2.grad` through both matrix products "
                "and the ReLU (which passes gradient only where `h` > 0). A tiny learning rate "
                "(1e-6) suits a loss that starts near 3·10⁷; after 500 updates it is almost 0."),
        expect={"final_loss_max": 1.0, "loss_drop_min": 1e6},
        knobs={"lr": 1e-6, "iterations": 500, "seed": 0},
        count=lambda k: k["iterations"],
    ),
    Lesson(
        id="xor_noisy_linear",
        number=9,
        group="models",
        script="09_xor_noisy_linear.py",
        title=N_("XOR with a noisy custom layer"),
        text=N_("XOR cannot be split by one straight line, so the model needs a hidden layer. "
                "`NoisyLinear` is a custom `nn.Module`: its weight and bias are "
                "`nn.Parameter`s, so the optimizer finds them, and it jitters the weights with "
                "Gaussian noise only in training mode (`model.train()`); `model.eval()` turns "
                "the noise off for validation. With seed 1 the validation accuracy ends near "
                "1.0. Try other seeds: with only 4 hidden units some starts get stuck near "
                "0.75 (seed 3 here: training accuracy 0.73, validation 0.82), when a ReLU "
                "unit dies and two corners become indistinguishable. Initialisation matters."),
        expect={"seed": 1, "valid_acc_min": 0.9, "stuck_seed": 3, "stuck_acc_near": 0.75},
        quick_args=["--epochs", "15"],
        knobs={"lr": 0.015, "epochs": 200, "seed": 1},
        count=lambda k: 100 * k["epochs"],  # 200 points in batches of 2
    ),
    Lesson(
        id="image_restoration",
        number=10,
        group="restoration",
        script="10_image_restoration.py",
        title=N_("Restoring a scrambled image"),
        text=N_("`weird_function` scrambles a 100×100 picture. Instead of inverting it by hand "
                "we start from noise `r` and run gradient descent on "
                "`torch.dist(weird_function(r), broken)` with lr 0.8. The printed loss falls, "
                "then stops near 0.0212 = lr·σ_max²/2 = 0.8·0.23005²/2, where σ_max is the "
                "largest singular value of the (linear) `weird_function`. `torch.dist` is a "
                "norm, not its square: its gradient with respect to `weird_function(r)` has "
                "length 1 however close we get, so the steps do not shrink near the answer. "
                "Fixed steps overshoot back and forth along the steepest direction, and the loss "
                "sits at that level. Meanwhile the other directions keep converging, so the "
                "picture keeps improving after the loss stops moving: with `--iterations 30000` "
                "the loss still reads 0.0212 while the RMS error to the true picture drops from "
                "about 0.02 to 0.001. Conjugate gradients "
                "on the normal equations, with autograd supplying the transpose, give the exact "
                "least-squares answer in a few hundred steps for comparison."),
        expect={"plateau_loss": 0.021169, "sigma_max": 0.23005, "lr": 0.8},
        quick_args=["--iterations", "300"],
        knobs={"lr": 0.8, "iterations": 20000, "seed": 0},
        count=lambda k: k["iterations"],
    ),
    Lesson(
        id="char_rnn",
        number=11,
        group="models",
        script="11_char_rnn.py",
        title=N_("A character RNN"),
        text=N_("The RNN reads \" if you want you\" one character at a time (as one-hot "
                "vectors) and at each step predicts the next character. The same weights are "
                "used at all 15 steps, so `loss.backward()` sends gradients back through time "
                "and adds up each step's contribution to every weight. With `Adam(lr=0.1)` the "
                "prediction becomes \"if you want you\" within 50 iterations. The loss stays "
                "around 0.8 because `nn.RNN` outputs pass through tanh and cannot exceed 1."),
        expect={"prediction": "if you want you"},
        knobs={"lr": 0.1, "iterations": 50, "seed": 0},
        count=lambda k: k["iterations"],
    ),
    Lesson(
        id="classification",
        number=12,
        group="models",
        script="12_classification.py",
        title=N_("Classification: sigmoid and softmax"),
        text=N_("A classifier turns scores into probabilities. With two classes, "
                "`p = torch.sigmoid(x_train @ W + b)` is the probability of class 1 and "
                "`F.binary_cross_entropy(p, y_train)` the loss; with three classes, "
                "`F.cross_entropy(z, y_train)` applies the softmax itself to the scores `z`. "
                "In both cases the gradient that reaches the scores is the same simple rule: "
                "(probability − target) / N. At the start W = 0, so every p is 0.5, the "
                "cost is ln 2 = 0.6931, and each of the 6 samples sends ±0.5/6 = "
                "±0.08333 back to `z` (step through the first graph). The three-class cost "
                "starts at ln 3 = 1.0986. After 200 epochs both models classify every "
                "training point correctly (accuracy 1.00)."),
        expect={"logistic_cost_start": 0.6931, "softmax_cost_start": 1.0986,
                "final_accuracy": 1.0, "dcost_dz_start": 0.08333},
        quick_args=["--epochs", "20"],
        knobs={"lr": 1.0, "epochs": 200},
        count=lambda k: 2 * k["epochs"],  # sigmoid, then softmax
    ),
    Lesson(
        id="rnn_padding_packing",
        number=13,
        group="models",
        script="13_rnn_padding_packing.py",
        title=N_("RNN inputs: padding and packing"),
        text=N_("With `batch_first=True`, `nn.RNN` reads a batch as (batch, time, features): "
                "here three one-hot words, (3, 5, 4). It returns `outputs`, the hidden state at "
                "every step, (3, 5, 2), and the final state, (1, 3, 2), one per layer; the last "
                "output equals the final state. Without `batch_first` the same tensor would be "
                "read as 3 time steps of 5 sequences. Words differ in length, so a batch is "
                "made even by padding (`pad_sequence`: zeros after the short words, (5, 13)) "
                "or by packing (`pack_sequence`, `pack_padded_sequence`): at each time step "
                "only the words still running are computed, 5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, "
                "1, 1 of them. The padded run reads the padding too: the final state of "
                "\"path\" has passed 9 padding steps, and the padded positions get a gradient. "
                "In the packed run they get exactly 0, because nothing read them. "
                "`pad_packed_sequence` turns the packed outputs back into a padded (5, 13, 3) "
                "tensor."),
        expect={"batch_sizes": [5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, 1, 1], "padded_shape": [5, 13],
                "lengths": [11, 8, 11, 4, 13], "packed_padding_grad": 0.0},
        count=2,
    ),
    Lesson(
        id="forward_reverse_mode",
        number=14,
        group="basics",
        script="14_forward_reverse_mode.py",
        title=N_("Forward mode and reverse mode"),
        text=N_("`f` takes 3 numbers and returns 2, so its Jacobian J holds 2 × 3 partial "
                "derivatives. Forward mode (`torch.autograd.forward_ad`) sends a direction "
                "`v` through `f` together with the values: every op computes its value and its "
                "tangent t(·) side by side, and the output's tangent is J·v, one column of "
                "J per pass, so 3 passes. Reverse mode (`backward()`) sends a gradient back "
                "from one output and gets one row of J per pass, so 2 passes. Both give the "
                "same J. A loss has many inputs and one output: reverse mode gets all 1000 "
                "partial derivatives of `(w ** 2).sum()` in one pass, where forward mode would "
                "need 1000. That is why training uses `backward()`; forward mode wins when a "
                "function has few inputs and many outputs."),
        expect={"J": [[2.0, 1.0, 0.8775825], [0.9588511, 0.4794255, 1.7551651]],
                "forward_passes": 3, "reverse_passes": 2},
        count=3,
    ),
    Lesson(
        id="lightning_digits",
        number=15,
        group="models",
        script="15_lightning_digits.py",
        title=N_("PyTorch Lightning on handwritten digits"),
        text=N_("A `LightningModule` holds the model (64 → 32 → 10), a `training_step` that "
                "returns the loss, a `validation_step` and `configure_optimizers` (Adam). The "
                "`Trainer` writes the loop of lesson 7 for us: for every batch it calls "
                "`zero_grad()`, `backward()` and `step()`, after each epoch it runs validation, "
                "and what `self.log()` records goes to TensorBoard (`tensorboard --logdir "
                "lightning_logs`). gradviz still sees every `backward()`: the graph of the first "
                "training step and the loss of every step. The 1,797 digits of 8×8 pixels ship "
                "with scikit-learn and stand in for MNIST. After 5 epochs the validation "
                "accuracy is about 0.94. Needs `pip install pytorch-lightning scikit-learn "
                "tensorboard` (`bash scripts/setup.sh` installs them)."),
        expect={"epochs": 5, "val_acc_min": 0.9},
        quick_args=["--epochs", "2"],
        knobs={"lr": 0.01, "epochs": 5, "seed": 0},
        count=lambda k: 22 * k["epochs"],  # 1400 digits in batches of 64
    ),
    Lesson(
        id="optimizer_race",
        number=16,
        group="descent",
        script="16_optimizer_race.py",
        title=N_("Optimizers race on a loss surface"),
        text=N_("Five optimizers from `torch.optim` start at the same point with the same "
                "learning rate on a function of two numbers. SGD steps against the gradient, "
                "so in the long, narrow ravine (0.1·w1² + 2·w2²) it crawls along the flat "
                "direction: after 50 steps w1 has only gone from −4 to −1.46. Momentum "
                "keeps a running velocity and gets further (−0.30); RMSprop divides each "
                "step by the recent size of its gradient, so both directions move at the same "
                "pace and it reaches the minimum. Adam combines both; AdamW also shrinks "
                "the weights directly (weight decay). On the curved Rosenbrock valley with "
                "lr 0.002, SGD and momentum follow the valley close to (1, 1), while the "
                "adaptive methods, whose steps stay near lr in size however steep the slope, "
                "are still near the start after 300 steps. With `--surface rosenbrock --lr 0.02` "
                "it turns around: SGD and momentum blow up (nan) and the adaptive methods get "
                "much further."),
        expect={"ravine_sgd_w1": -1.4567, "ravine_momentum_w1": -0.2958, "ravine_rmsprop_loss_max": 1e-6},
        knobs={"lr": None, "steps": None, "surface": "ravine"},  # None: what suits the surface
        count=lambda k: 5 * (k["steps"] or _RACE_STEPS.get(k["surface"], 0)),  # five optimizers
    ),
    Lesson(
        id="gradient_flow",
        number=17,
        group="models",
        script="17_gradient_flow.py",
        title=N_("Gradients through depth: vanishing and keeping them alive"),
        text=N_("The same 10-layer network is trained four ways, and the script prints each "
                "layer's gradient norm at the first iteration. Backward multiplies by every "
                "layer's local derivative. With sigmoid (whose slope is at most 0.25) the "
                "gradient shrinks layer after layer: the first layer gets about 10⁻⁷ of what "
                "the last one gets, so the early layers hardly learn and the loss stays at "
                "5.13 (vanishing gradients). ReLU with He initialisation passes "
                "gradients of the same size through all ten layers; BatchNorm rescales "
                "every layer's outputs; a residual path (x + f(x)) gives the gradient a "
                "road around each layer. Those three bring the loss down. gradviz flags a "
                "layer whose gradient vanishes or explodes in any script."),
        expect={"sigmoid_ratio_max": 1e-6, "relu_ratio_min": 0.1},
        quick_args=["--iterations", "10"],
        knobs={"lr": 0.01, "iterations": 30},
        count=lambda k: 4 * k["iterations"],  # four variants
    ),
]

_RACE_STEPS = {"bowl": 50, "ravine": 50, "rosenbrock": 300, "regression": 100}  # lesson 16's SURFACES

_BY_ID = {lesson.id: lesson for lesson in LESSONS}


def get(lesson_id: str) -> Lesson:
    """The lesson with this id (or number, as an int or a digit string)."""
    if lesson_id in _BY_ID:
        return _BY_ID[lesson_id]
    for lesson in LESSONS:
        if str(lesson.number) == str(lesson_id).lstrip("0") or lesson.script == lesson_id:
            return lesson
    raise KeyError(f"no lesson {lesson_id!r}; known: {', '.join(_BY_ID)}")


def by_group(group: str) -> list[Lesson]:
    """The lessons of one group, in number order."""
    return sorted((l for l in LESSONS if l.group == group), key=lambda l: l.number)


def lessons_dir() -> Path:
    """The folder that holds the lesson scripts (inside the package)."""
    return Path(__file__).resolve().parent


def _typed(text: str, default: Any) -> Any:
    """An option's text as its default's type (int, float or str; a None default: a number)."""
    if isinstance(default, bool) or isinstance(default, str):
        return text
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def settings(lesson: Lesson, args: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The lesson's knobs as a run with `args` sees them: the defaults, overridden by
    `--name value` or `--name=value` (the last one wins, as argparse does)."""
    values = dict(lesson.knobs)
    args = list(args)
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        name, eq, text = arg[2:].partition("=")
        name = name.replace("-", "_")
        if name not in values:
            continue
        if not eq:
            if i + 1 >= len(args):
                continue
            text = args[i + 1]
        try:
            values[name] = _typed(text, lesson.knobs[name])
        except ValueError:  # the script's own argparse will say so
            pass
    return values


def iterations(lesson: Lesson, args: list[str] | tuple[str, ...] = ()) -> int | None:
    """How many backward() calls the lesson makes when run with `args` (None: unknown).

    The one place that knows it: the runner's progress total and the recorder's
    'last' iteration, the app's progress bar and picture snapshots all ask here.
    """
    if lesson.count is None:
        return None
    if isinstance(lesson.count, int):
        return lesson.count
    try:
        n = int(lesson.count(settings(lesson, args)))
    except (TypeError, ValueError, KeyError):
        return None
    return n if n > 0 else None


def for_script(path: str | Path) -> Lesson | None:
    """The catalogue's lesson whose script is at `path`, if it is one."""
    try:
        path = Path(path).resolve()
    except (OSError, RuntimeError):
        return None
    for lesson in LESSONS:
        if lesson.path.resolve() == path:
            return lesson
    return None
