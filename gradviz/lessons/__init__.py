"""The lessons: plain PyTorch scripts in this folder, and their catalogue.

Each lesson is a plain PyTorch script that runs on its own (`python 01_chain_rule.py`);
the scripts ship inside the package, so `gradviz render --lesson 1` and the app find
them in a checkout and in an installed wheel alike. This module only
describes them (titles, short texts in English and Korean, the numbers each
one must reproduce, arguments that make it quick for tests). It imports no
torch, so the app can list lessons before torch is loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Lesson", "LESSONS", "GROUP_TITLES", "get", "lessons_dir", "by_group"]


@dataclass(frozen=True)
class Lesson:
    """One lesson: a script in this folder plus what to say about it."""

    id: str
    number: int
    group: str
    script: str  # file name in this folder
    title: dict[str, str]  # {"en": ..., "ko": ...}
    text: dict[str, str]  # short Markdown, same keys
    expect: dict[str, Any] = field(default_factory=dict)
    quick_args: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return lessons_dir() / self.script


GROUP_TITLES: dict[str, dict[str, str]] = {
    "basics": {"en": "Autograd basics", "ko": "자동 미분 기초"},
    "descent": {"en": "Gradient descent", "ko": "경사 하강법"},
    "models": {"en": "Training models", "ko": "모델 학습"},
    "restoration": {"en": "Image restoration", "ko": "이미지 복원"},
}


LESSONS: list[Lesson] = [
    Lesson(
        id="chain_rule",
        number=1,
        group="basics",
        script="01_chain_rule.py",
        title={"en": "The chain rule", "ko": "연쇄 법칙"},
        text={
            "en": (
                "`w` is a **leaf**: we created it ourselves, so it has no `grad_fn`. "
                "`a = w * 3` and `l = a ** 2` are made by operations, so each records a "
                "`grad_fn` (`MulBackward0`, `PowBackward0`): the step that sends a gradient "
                "back through that operation. `l.backward()` walks these steps from `l` to `w` "
                "and multiplies the local derivatives: dl/da = 2a = 6 and da/dw = 3, "
                "so `w.grad` = 2·a·3 = **18**. Only leaves keep their `.grad`."
            ),
            "ko": (
                "`w`는 우리가 직접 만든 **리프(leaf) 텐서**라서 `grad_fn`이 없습니다. "
                "`a = w * 3`과 `l = a ** 2`는 연산의 결과이므로 각자 `grad_fn`"
                "(`MulBackward0`, `PowBackward0`)을 기록합니다. 이것은 그 연산을 거슬러 "
                "기울기를 돌려보내는 단계입니다. `l.backward()`는 `l`에서 `w`까지 이 단계들을 "
                "따라가며 국소 미분을 곱합니다: dl/da = 2a = 6, da/dw = 3 이므로 "
                "`w.grad` = 2·a·3 = **18**입니다. `.grad`는 리프 텐서에만 남습니다."
            ),
        },
        expect={"w.grad": 18.0, "a.grad_fn": "MulBackward0", "l.grad_fn": "PowBackward0"},
    ),
    Lesson(
        id="fan_in",
        number=2,
        group="basics",
        script="02_fan_in.py",
        title={"en": "One variable, two paths", "ko": "한 변수, 두 경로"},
        text={
            "en": (
                "`F = f + x - 2` with `f = x * y`: the leaf `x` reaches `F` twice, once through "
                "`f` and once directly. Backward adds the contributions of all paths: "
                "dF/dx = dF/df · df/dx + 1 = y + 1 = **4**, and dF/dy = dF/df · x = **2**. "
                "`f` is an intermediate tensor, so its gradient is thrown away unless we call "
                "`f.retain_grad()` first; then `f.grad` = dF/df = **1**."
            ),
            "ko": (
                "`F = f + x - 2`, `f = x * y`에서 리프 `x`는 `F`에 두 번 닿습니다. 한 번은 "
                "`f`를 거쳐서, 한 번은 직접. 역전파는 모든 경로의 기여를 더합니다: "
                "dF/dx = dF/df · df/dx + 1 = y + 1 = **4**, dF/dy = dF/df · x = **2**. "
                "`f`는 중간 텐서라 보통은 기울기를 버리지만, 미리 `f.retain_grad()`를 "
                "호출하면 `f.grad` = dF/df = **1**을 볼 수 있습니다."
            ),
        },
        expect={"f.grad": 1.0, "x.grad": 4.0, "y.grad": 2.0},
    ),
    Lesson(
        id="constants",
        number=3,
        group="basics",
        script="03_constants.py",
        title={"en": "Constants and variables", "ko": "상수와 변수"},
        text={
            "en": (
                "Only tensors created with `requires_grad=True` get a gradient. Here `x` is a "
                "constant (like input data), so after `F.backward()` `x.grad` is `None` and "
                "autograd did no work for it; `y.grad` = x = **1**. `F` is not a leaf either: "
                "it was made by `x * y`, so `F.grad` stays `None` and PyTorch warns when you "
                "read it. Marking data as constant saves a lot of work on big datasets."
            ),
            "ko": (
                "`requires_grad=True`로 만든 텐서만 기울기를 받습니다. 여기서 `x`는 입력 "
                "데이터 같은 상수이므로 `F.backward()` 뒤에도 `x.grad`는 `None`이고, "
                "autograd는 이를 위해 아무 계산도 하지 않습니다. `y.grad` = x = **1**입니다. "
                "`F`도 `x * y`로 만들어진 리프가 아닌 텐서라 `F.grad`는 `None`이며, "
                "읽으면 PyTorch가 경고를 냅니다. 데이터를 상수로 두면 큰 데이터에서 "
                "계산을 크게 아낄 수 있습니다."
            ),
        },
        expect={"y.grad": 1.0, "x.grad": None, "F.grad": None},
    ),
    Lesson(
        id="vectors",
        number=4,
        group="basics",
        script="04_vectors.py",
        title={"en": "Gradients of vectors", "ko": "벡터의 기울기"},
        text={
            "en": (
                "A vector is a bundle of scalar variables. `F = (arr * tensor ** 2).sum()` "
                "is one number, so `backward()` can start from it. Each entry of "
                "`tensor.grad` is the partial derivative of `F` by that entry: "
                "2·arr·tensor = **[-4, 16, 0]**, and `arr.grad` = tensor² = **[4, 16, 64]**. "
                "A gradient always has the same shape as its tensor."
            ),
            "ko": (
                "벡터는 스칼라 변수 여러 개를 묶은 것입니다. `F = (arr * tensor ** 2).sum()`은 "
                "숫자 하나이므로 여기서 `backward()`를 시작할 수 있습니다. `tensor.grad`의 각 "
                "원소는 그 원소에 대한 `F`의 편미분입니다: 2·arr·tensor = **[-4, 16, 0]**, "
                "`arr.grad` = tensor² = **[4, 16, 64]**. 기울기의 모양은 언제나 원래 텐서와 "
                "같습니다."
            ),
        },
        expect={"tensor.grad": [-4.0, 16.0, 0.0], "arr.grad": [4.0, 16.0, 64.0]},
    ),
    Lesson(
        id="broadcasting",
        number=5,
        group="basics",
        script="05_broadcasting.py",
        title={"en": "Shapes and broadcasting", "ko": "모양과 브로드캐스팅"},
        text={
            "en": (
                "`col` (3, 1) plus `row` (4,) broadcasts to a (3, 4) grid: each number is "
                "copied along the missing axis. `view`, `squeeze` and `unsqueeze` change the "
                "shape without changing the numbers, and `(5, 3, 4) @ (4, 2)` repeats one "
                "matrix product over a batch of 5. In backward every copy sends a gradient "
                "back, and they are **summed** over the broadcast axes: `col.grad` is (3, 1) "
                "and `row.grad` is (4,), just like the tensors themselves."
            ),
            "ko": (
                "`col` (3, 1)과 `row` (4,)를 더하면 (3, 4) 격자로 브로드캐스팅됩니다. 빠진 "
                "축을 따라 숫자가 복사되는 것입니다. `view`, `squeeze`, `unsqueeze`는 숫자는 "
                "그대로 두고 모양만 바꾸며, `(5, 3, 4) @ (4, 2)`는 같은 행렬곱을 배치 5개에 "
                "반복합니다. 역전파에서는 복사본마다 기울기가 돌아오고, 브로드캐스팅된 축을 "
                "따라 **합산**됩니다. 그래서 `col.grad`는 (3, 1), `row.grad`는 (4,)로 원래 "
                "텐서와 모양이 같습니다."
            ),
        },
        expect={
            "col.grad.shape": [3, 1],
            "row.grad.shape": [4],
            "batch.grad.shape": [5, 3, 4],
            "weight.grad.shape": [4, 2],
        },
    ),
    Lesson(
        id="gradient_descent",
        number=6,
        group="descent",
        script="06_gradient_descent.py",
        title={"en": "Gradient descent by hand", "ko": "손으로 쓰는 경사 하강법"},
        text={
            "en": (
                "To minimise L = w², step against the slope: w ← w − lr·2w. With lr 0.05 each "
                "step multiplies w by 0.9 (10 → **9, 8.1, 7.29**, …); with lr 0.3 by 0.4 "
                "(**4, 1.6, 0.64**, …). The update runs under `torch.no_grad()` so it is not "
                "recorded in the graph, and `w.grad.zero_()` resets the gradient, because "
                "`backward()` adds to `.grad` instead of overwriting it. The `step(params, lr)` "
                "function is the heart of every optimizer."
            ),
            "ko": (
                "L = w²를 최소화하려면 기울기의 반대 방향으로 움직입니다: w ← w − lr·2w. "
                "lr 0.05면 한 걸음마다 w에 0.9가 곱해지고(10 → **9, 8.1, 7.29**, …), lr 0.3이면 "
                "0.4가 곱해집니다(**4, 1.6, 0.64**, …). 업데이트는 그래프에 기록되지 않도록 "
                "`torch.no_grad()` 안에서 하고, `backward()`는 `.grad`를 덮어쓰지 않고 더하기 "
                "때문에 `w.grad.zero_()`로 초기화합니다. `step(params, lr)` 함수가 모든 "
                "옵티마이저의 핵심입니다."
            ),
        },
        expect={
            "w (lr 0.05)": [9.0, 8.1, 7.29, 6.561, 5.9049],
            "w (lr 0.3)": [4.0, 1.6, 0.64, 0.256, 0.1024],
        },
    ),
    Lesson(
        id="linear_regression",
        number=7,
        group="descent",
        script="07_linear_regression.py",
        title={"en": "Linear regression", "ko": "선형 회귀"},
        text={
            "en": (
                "The points (1, 1), (2, 2), (3, 3) lie on y = x, so training should find "
                "W ≈ 1 and b ≈ 0. First `W` and `b` are plain tensors handed to "
                "`optim.SGD`; then the same model is an `nn.Module` whose `nn.Linear(1, 1)` "
                "owns its weight and bias. The loop is the same four lines either way: predict, "
                "compute the MSE loss, `zero_grad()` + `backward()`, `step()`. After 1000 "
                "epochs W is about 0.97 to 0.99 and b about 0.03 to 0.07: close, and still "
                "creeping towards 1 and 0."
            ),
            "ko": (
                "점 (1, 1), (2, 2), (3, 3)은 y = x 위에 있으므로 학습은 W ≈ 1, b ≈ 0을 찾아야 "
                "합니다. 먼저 `W`, `b`를 평범한 텐서로 만들어 `optim.SGD`에 넘기고, 다음에는 "
                "같은 모델을 `nn.Module`로 만들어 `nn.Linear(1, 1)`이 가중치와 편향을 갖게 "
                "합니다. 어느 쪽이든 반복문은 같습니다: 예측, MSE 손실 계산, `zero_grad()`와 "
                "`backward()`, `step()`. 1000 에포크 뒤 W는 약 0.97~0.99, b는 약 0.03~0.07로, "
                "1과 0에 계속 가까워지는 중입니다."
            ),
        },
        expect={"W": 1.0, "b": 0.0, "atol": 0.1},
    ),
    Lesson(
        id="two_layer_net",
        number=8,
        group="models",
        script="08_two_layer_net.py",
        title={"en": "A two-layer network from raw tensors", "ko": "텐서만으로 만든 2층 신경망"},
        text={
            "en": (
                "64 samples of 1000 inputs pass through `w1` (1000×100), a ReLU written as "
                "`clamp(min=0)`, and `w2` (100×10). The loss is the summed squared error. "
                "`loss.backward()` fills `w1.grad` and `w2.grad` through both matrix products "
                "and the ReLU (which passes gradient only where `h` > 0). A tiny learning rate "
                "(1e-6) suits a loss that starts near 3·10⁷; after 500 updates it is almost 0."
            ),
            "ko": (
                "1000개 입력을 가진 샘플 64개가 `w1`(1000×100), `clamp(min=0)`으로 쓴 ReLU, "
                "`w2`(100×10)를 차례로 지납니다. 손실은 오차 제곱의 합입니다. "
                "`loss.backward()`는 두 행렬곱과 ReLU(`h` > 0인 곳으로만 기울기를 통과시킴)를 "
                "거쳐 `w1.grad`, `w2.grad`를 채웁니다. 손실이 3·10⁷ 근처에서 시작하므로 "
                "학습률은 아주 작게(1e-6) 잡고, 500번 업데이트하면 손실은 거의 0이 됩니다."
            ),
        },
        expect={"final_loss_max": 1.0, "loss_drop_min": 1e6},
    ),
    Lesson(
        id="xor_noisy_linear",
        number=9,
        group="models",
        script="09_xor_noisy_linear.py",
        title={"en": "XOR with a noisy custom layer", "ko": "노이즈 층으로 푸는 XOR"},
        text={
            "en": (
                "XOR cannot be split by one straight line, so the model needs a hidden layer. "
                "`NoisyLinear` is a custom `nn.Module`: its weight and bias are "
                "`nn.Parameter`s, so the optimizer finds them, and it jitters the weights with "
                "Gaussian noise only in training mode (`model.train()`); `model.eval()` turns "
                "the noise off for validation. With seed 1 the validation accuracy ends near "
                "**1.0**. Try other seeds: with only 4 hidden units some starts get stuck near "
                "**0.75** (seed 3 here: training accuracy 0.73, validation 0.82), when a ReLU "
                "unit dies and two corners become indistinguishable. Initialisation matters."
            ),
            "ko": (
                "XOR은 직선 하나로 나눌 수 없어서 은닉층이 필요합니다. `NoisyLinear`는 직접 만든 "
                "`nn.Module`로, 가중치와 편향이 `nn.Parameter`라서 옵티마이저가 찾아 쓰고, "
                "학습 모드(`model.train()`)에서만 가중치에 가우시안 노이즈를 더합니다. "
                "`model.eval()`은 검증할 때 노이즈를 끕니다. 시드 1에서는 검증 정확도가 "
                "**1.0** 가까이에서 끝납니다. 다른 시드도 돌려 보세요. 은닉 유닛이 4개뿐이라 "
                "어떤 시작점은 **0.75** 근처에 머뭅니다(여기서는 시드 3: 학습 정확도 0.73, "
                "검증 0.82). ReLU 유닛 하나가 죽어서 두 모서리를 구별하지 못하는 경우입니다. "
                "초기값이 중요합니다."
            ),
        },
        expect={"seed": 1, "valid_acc_min": 0.9, "stuck_seed": 3, "stuck_acc_near": 0.75},
        quick_args=["--epochs", "15"],
    ),
    Lesson(
        id="image_restoration",
        number=10,
        group="restoration",
        script="10_image_restoration.py",
        title={"en": "Restoring a scrambled image", "ko": "망가진 이미지 복원"},
        text={
            "en": (
                "`weird_function` scrambles a 100×100 picture. Instead of inverting it by hand "
                "we start from noise `r` and run gradient descent on "
                "`torch.dist(weird_function(r), broken)` with lr 0.8. The printed loss falls, "
                "then stops near **0.0212** = lr·σ_max²/2 = 0.8·0.23005²/2, where σ_max is the "
                "largest singular value of the (linear) `weird_function`. `torch.dist` is a "
                "norm, not its square: its gradient with respect to `weird_function(r)` has "
                "length 1 however close we get, so the steps do not shrink near the answer. "
                "Fixed steps overshoot back and forth along the steepest direction, and the loss "
                "sits at that level. Meanwhile the other directions keep converging, so the "
                "**picture keeps improving** after the loss stops moving: with `--iterations 30000` "
                "the loss still reads 0.0212 while the RMS error to the true picture drops from "
                "about 0.02 to 0.001. Conjugate gradients "
                "on the normal equations, with autograd supplying the transpose, give the exact "
                "least-squares answer in a few hundred steps for comparison."
            ),
            "ko": (
                "`weird_function`은 100×100 그림을 뒤섞습니다. 이를 손으로 거꾸로 푸는 대신, "
                "노이즈 `r`에서 시작해 `torch.dist(weird_function(r), broken)`에 학습률 0.8로 "
                "경사 하강법을 적용합니다. 출력되는 손실은 줄어들다가 **0.0212** = "
                "lr·σ_max²/2 = 0.8·0.23005²/2 근처에서 멈춥니다. σ_max는 선형 함수인 "
                "`weird_function`의 가장 큰 특이값입니다. `torch.dist`는 제곱이 아닌 노름이라 "
                "`weird_function(r)`에 대한 기울기의 길이가 정답에 아무리 가까워도 1이고, "
                "그래서 정답 근처에서도 보폭이 줄지 않습니다. 고정된 보폭은 가장 가파른 "
                "방향을 따라 앞뒤로 넘나들고, 손실은 그 값에 머뭅니다. 그동안 다른 방향들은 계속 "
                "수렴하므로 손실이 멈춘 뒤에도 **그림은 계속 좋아집니다**. `--iterations 30000`으로 "
                "돌리면 손실은 그대로 0.0212인데 원본과의 RMS 오차는 약 0.02에서 0.001로 "
                "줄어듭니다. 비교를 위해 "
                "autograd로 전치를 구해 정규 방정식에 켤레 기울기법을 쓰면, 수백 번 만에 "
                "정확한 최소제곱 해를 얻습니다."
            ),
        },
        expect={"plateau_loss": 0.021169, "sigma_max": 0.23005, "lr": 0.8, "iterations": 20000},
        quick_args=["--iterations", "300"],
    ),
    Lesson(
        id="char_rnn",
        number=11,
        group="models",
        script="11_char_rnn.py",
        title={"en": "A character RNN", "ko": "문자 단위 RNN"},
        text={
            "en": (
                "The RNN reads \" if you want you\" one character at a time (as one-hot "
                "vectors) and at each step predicts the next character. The same weights are "
                "used at all 15 steps, so `loss.backward()` sends gradients back through time "
                "and adds up each step's contribution to every weight. With `Adam(lr=0.1)` the "
                "prediction becomes **\"if you want you\"** within 50 iterations. The loss stays "
                "around 0.8 because `nn.RNN` outputs pass through tanh and cannot exceed 1."
            ),
            "ko": (
                "RNN은 \" if you want you\"를 한 글자씩(원-핫 벡터로) 읽고, 매 단계 다음 글자를 "
                "예측합니다. 15단계 모두 같은 가중치를 쓰므로 `loss.backward()`는 시간을 "
                "거슬러 기울기를 보내고, 각 단계의 기여를 가중치마다 더합니다. "
                "`Adam(lr=0.1)`으로 50번 안에 예측이 **\"if you want you\"**가 됩니다. "
                "`nn.RNN`의 출력은 tanh를 거쳐 1을 넘을 수 없어서 손실은 0.8 근처에 머뭅니다."
            ),
        },
        expect={"prediction": "if you want you"},
    ),
]

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
