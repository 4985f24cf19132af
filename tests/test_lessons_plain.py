"""The lesson scripts run as plain Python and print the numbers the catalogue promises.

All scripts start together in a small thread pool (each is its own process,
importing torch costs about 2 s), and every test waits only for its own run.
Also: gradviz.safe_pickle loads the book's array and refuses hostile pickles.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import pytest

from gradviz import lessons
from gradviz.safe_pickle import UnsafePickleError, load_array

LESSONS_DIR = lessons.lessons_dir()
BOOK_PICKLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "broken_image_t.p"
PY = sys.executable
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}

_pool = ThreadPoolExecutor(max_workers=3)
_runs: dict[tuple, object] = {}

# The six short lessons (01-06) take milliseconds once torch is imported, so they
# share one child process: each still runs as __main__ with fresh globals.
BASICS = ["01_chain_rule.py", "02_fan_in.py", "03_constants.py", "04_vectors.py",
          "05_broadcasting.py", "06_gradient_descent.py"]
_BATCH = """
import contextlib, io, json, runpy, sys, traceback
results = {}
for path in sys.argv[1:]:
    sys.argv = [path]
    buf = io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(buf):
        try:
            runpy.run_path(path, run_name="__main__")
        except BaseException:
            traceback.print_exc(file=buf)
            rc = 1
    results[path.rsplit("/", 1)[-1]] = [rc, buf.getvalue()]
print(json.dumps(results))
"""


def _start(script: str, *args: str):
    key = (script, *args)
    if key not in _runs:
        if key == ("basics",):
            cmd = [PY, "-c", _BATCH, *(str(LESSONS_DIR / s) for s in BASICS)]
        else:
            cmd = [PY, str(LESSONS_DIR / script), *args]
        _runs[key] = _pool.submit(
            subprocess.run, cmd, capture_output=True, text=True, timeout=600, env=ENV
        )
    return _runs[key]


def _quick(name: str) -> tuple[str, ...]:
    lesson = lessons.get(name)
    return (lesson.script, *lesson.quick_args)


# The runs each test needs; the fixture below starts those of the selected
# tests at once, longest first, so they overlap.
RUNS = {
    "test_09_xor_full_seed_1_validates_above_0_9": [("09_xor_noisy_linear.py",)],
    "test_10_image_restoration_quick": [_quick("image_restoration")],
    "test_09_xor_quick": [_quick("xor_noisy_linear")],
    "test_07_linear_regression": [("07_linear_regression.py",)],
    "test_11_char_rnn": [("11_char_rnn.py",)],
    "test_08_two_layer_net": [("08_two_layer_net.py",)],
    "test_12_classification_quick": [_quick("classification")],
    "test_12_classification_full_reaches_accuracy_1": [("12_classification.py",)],
    "test_13_rnn_padding_and_packing": [("13_rnn_padding_packing.py",)],
    "test_14_forward_and_reverse_mode_give_the_same_jacobian": [("14_forward_reverse_mode.py",)],
    "test_15_lightning_digits_quick": [_quick("lightning_digits")],
    "test_16_optimizer_race_matches_torch_optim": [("16_optimizer_race.py",)],
    "test_16_rosenbrock_with_a_big_lr_blows_up_sgd_only": [("16_optimizer_race.py", "--surface", "rosenbrock", "--lr", "0.02")],
    "test_17_gradient_flow": [("17_gradient_flow.py",)],
    **{f"test_{name[:-3]}": [("basics",)] for name in BASICS},
}


@pytest.fixture(scope="module", autouse=True)
def _start_selected_runs(request):
    selected = {item.originalname or item.name for item in request.session.items
                if item.module is request.module}
    for name, runs in RUNS.items():
        if name in selected:
            for key in runs:
                _start(*key)
    yield
    _pool.shutdown(wait=True)


def run(script: str, *args: str) -> str:
    if script in BASICS and not args:
        proc = _start("basics").result()
        assert proc.returncode == 0, proc.stderr[-3000:]
        rc, out = json.loads(proc.stdout)[script]
        assert rc == 0, f"{script} failed:\n{out[-3000:]}"
        return out
    proc = _start(script, *args).result()
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def number(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not found in:\n{text[-1500:]}"
    return float(m.group(1))


# ---------------------------------------------------------------- catalogue


def test_catalogue_matches_examples_folder():
    scripts = sorted(p.name for p in LESSONS_DIR.glob("[0-9][0-9]_*.py"))
    assert [l.script for l in sorted(lessons.LESSONS, key=lambda l: l.number)] == scripts
    assert [l.number for l in lessons.LESSONS] == sorted(l.number for l in lessons.LESSONS)
    for lesson in lessons.LESSONS:
        assert lesson.group in lessons.GROUP_TITLES
        assert set(lesson.title) == set(lesson.text) == {"en", "ko"}
        assert lessons.get(lesson.id) is lesson
        assert lesson.path.is_file()
        # plain scripts: no gradviz import, no explicit device
        source = lesson.path.read_text()
        assert "gradviz" not in source
        assert "cuda" not in source and "device=" not in source
    assert {g: [l.number for l in lessons.by_group(g)] for g in lessons.GROUP_TITLES} == {
        "basics": [1, 2, 3, 4, 5, 14], "descent": [6, 7, 16], "models": [8, 9, 11, 12, 13, 15, 17], "restoration": [10]}
    with pytest.raises(KeyError):
        lessons.get("no_such_lesson")


def test_lessons_module_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import gradviz.lessons as l; print(len(l.LESSONS))")
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(len(lessons.LESSONS))


# ---------------------------------------------------------------- basics


def test_01_chain_rule():
    out = run("01_chain_rule.py")
    assert number(r"dl/dw = ([-\d.]+)", out) == lessons.get("chain_rule").expect["w.grad"] == 18.0
    assert "MulBackward0" in out and "PowBackward0" in out


def test_02_fan_in():
    out = run("02_fan_in.py")
    for name, value in lessons.get("fan_in").expect.items():
        assert number(rf"{re.escape(name)} = ([-\d.]+)", out) == value


def test_03_constants():
    out = run("03_constants.py")
    assert number(r"y\.grad = ([-\d.]+)", out) == 1.0
    assert "x.grad = None" in out and "F.grad = None" in out
    assert "not a leaf" in out  # the warning, caught and shown


def test_04_vectors():
    out = run("04_vectors.py")
    assert "tensor.grad = [-4.0, 16.0, 0.0]" in out
    assert "arr.grad = [4.0, 16.0, 64.0]" in out


def test_05_broadcasting():
    out = run("05_broadcasting.py")
    assert "col.grad (3, 1)" in out and "row.grad (4,)" in out
    assert "batch.grad (5, 3, 4)" in out and "weight.grad (4, 2)" in out
    assert out.count(": True") == 2


# ---------------------------------------------------------------- descent


def test_06_gradient_descent():
    out = run("06_gradient_descent.py")
    first = re.search(r"lr=0.05: \[([^\]]*)\]", out).group(1)
    assert [float(v) for v in first.split(",")][:5] == [9.0, 8.1, 7.29, 6.561, 5.9049]
    second = re.search(r"lr=0.3: \[([^\]]*)\] \.\.\. (\S+)", out)
    assert [float(v) for v in second.group(1).split(",")][:4] == [4.0, 1.6, 0.64, 0.256]
    assert float(second.group(2)) == pytest.approx(10 * 0.4**20, rel=1e-3)


def test_07_linear_regression():
    out = run("07_linear_regression.py")
    for label in ("by hand", "nn.Module"):
        W = number(rf"{label}: +W = ([-\d.]+)", out)
        b = number(rf"{label}: +W = [-\d.]+, b = ([-\d.]+)", out)
        assert abs(W - 1) < 0.1 and abs(b) < 0.1, (label, W, b)


# ---------------------------------------------------------------- models


def test_08_two_layer_net():
    out = run("08_two_layer_net.py")
    losses = [float(v) for v in re.findall(r"loss = (\S+)", out)]
    assert len(losses) == 6
    assert losses[0] > 1e6 and losses[-1] < 1.0
    assert all(a > b for a, b in zip(losses, losses[1:]))


def _xor_epochs(out: str):
    return re.findall(r"epoch +(\d+) +train loss (\S+) acc (\S+) +valid loss (\S+) acc (\S+)", out)


def test_09_xor_quick():
    lesson = lessons.get("xor_noisy_linear")
    rows = _xor_epochs(run(lesson.script, *lesson.quick_args))
    assert len(rows) == int(lesson.quick_args[1])


@pytest.mark.slow
def test_09_xor_full_seed_1_validates_above_0_9():
    rows = _xor_epochs(run("09_xor_noisy_linear.py"))
    assert len(rows) == 200
    assert float(rows[-1][4]) > lessons.get("xor_noisy_linear").expect["valid_acc_min"]


def test_11_char_rnn():
    out = run("11_char_rnn.py")
    predictions = re.findall(r"prediction '([^']*)'", out)
    assert len(predictions) == 50
    assert predictions[-1] == lessons.get("char_rnn").expect["prediction"]


# ---------------------------------------------------------------- restoration


def test_10_image_restoration_quick():
    lesson = lessons.get("image_restoration")
    out = run(lesson.script, *lesson.quick_args)
    assert number(r"loss at 0 = (\S+)", out) > 5
    assert re.search(r"CG: \d+ iterations", out)
    # the CG answer is the exact picture; 300 descent steps are still far from it
    assert number(r"RMS error CG vs original = (\S+)", out) < 1e-3
    assert number(r"RMS error restored vs original = (\S+)", out) > 0.1


def test_10_image_restoration_book_pickle_and_save(tmp_path):
    if not BOOK_PICKLE.exists():
        pytest.skip(f"book pickle not present at {BOOK_PICKLE}")
    out = run("10_image_restoration.py", "--iterations", "50", "--image", str(BOOK_PICKLE),
              "--save", str(tmp_path / "out"))
    assert "original" not in out.split("CG:")[1]  # no truth for the book's picture
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert saved == ["broken.npy", "exact.npy", "restored.npy"]
    assert np.load(tmp_path / "out" / "exact.npy").shape == (100, 100)


def test_10_refuses_hostile_pickle(tmp_path):
    target = tmp_path / "pwned"
    bad = tmp_path / "bad.p"
    bad.write_bytes(_hostile_pickle(target))
    proc = subprocess.run([PY, str(LESSONS_DIR / "10_image_restoration.py"), "--iterations", "1",
                           "--image", str(bad)], capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode != 0
    assert "refused" in proc.stderr and "only numpy arrays" in proc.stderr
    assert not target.exists()


# ---------------------------------------------------------------- safe_pickle


class _OpenFile:
    """Unpickling this calls open(path, "w"): it creates a file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def _hostile_pickle(target: Path) -> bytes:
    return pickle.dumps(_OpenFile(target))


def test_safe_pickle_loads_book_array():
    if not BOOK_PICKLE.exists():
        pytest.skip(f"book pickle not present at {BOOK_PICKLE}")
    arr = load_array(BOOK_PICKLE)
    assert isinstance(arr, np.ndarray) and arr.size == 10000
    assert arr.dtype.kind == "f" and np.isfinite(arr).all()
    assert np.array_equal(load_array(BOOK_PICKLE.read_bytes()), arr)
    assert np.array_equal(load_array(str(BOOK_PICKLE)), arr)


def test_safe_pickle_round_trip():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    for protocol in (3, 4):
        assert np.array_equal(load_array(pickle.dumps(a, protocol=protocol)), a)


def test_safe_pickle_refuses_file_creating_payload(tmp_path):
    # the payload is real: plain pickle.loads creates the file
    canary = tmp_path / "canary"
    pickle.loads(_hostile_pickle(canary))
    assert canary.exists()

    target = tmp_path / "pwned"
    with pytest.raises(UnsafePickleError, match="open; gradviz only loads arrays of numbers"):
        load_array(_hostile_pickle(target))
    assert not target.exists()

    target2 = tmp_path / "pwned2"
    with pytest.raises(UnsafePickleError, match=r"asks to run os\.system"):
        load_array(pickle.dumps(_System(f"touch {target2}")))
    assert not target2.exists()


def test_safe_pickle_refuses_object_arrays_and_non_arrays():
    with pytest.raises(UnsafePickleError, match="dtype object"):
        load_array(pickle.dumps(np.array([1, "two", 3.0], dtype=object)))
    with pytest.raises(UnsafePickleError, match="not a numpy array"):
        load_array(pickle.dumps([1.0, 2.0]))
    with pytest.raises(UnsafePickleError):
        load_array(b"not a pickle at all")
    assert issubclass(UnsafePickleError, ValueError)


# ---------------------------------------------------------------- classification and RNN inputs


def test_12_classification_quick():
    lesson = lessons.get("classification")
    out = run(lesson.script, *lesson.quick_args)
    assert number(r"logistic epoch +0 +cost (\S+)", out) == lesson.expect["logistic_cost_start"]
    assert number(r"softmax epoch +0 +cost (\S+)", out) == lesson.expect["softmax_cost_start"]


@pytest.mark.slow
def test_12_classification_full_reaches_accuracy_1():
    out = run("12_classification.py")
    for model in ("logistic", "softmax"):
        assert number(rf"{model} epoch 199 .* accuracy (\S+)", out) == 1.0


def test_13_rnn_padding_and_packing():
    expect = lessons.get("rnn_padding_packing").expect
    out = run("13_rnn_padding_packing.py")
    assert "input (3, 5, 4) outputs (3, 5, 2) final state (1, 3, 2)" in out
    assert "last output equals the final state: True" in out
    assert f"lengths {expect['lengths']}" in out
    assert out.count(f"batch sizes per time step {expect['batch_sizes']}") == 1
    assert f"packed batch sizes {expect['batch_sizes']}" in out
    assert number(r"padded run: gradient on padding (\S+)", out) > 0
    assert number(r"packed run: gradient on padding (\S+)", out) == expect["packed_padding_grad"]


def test_14_forward_and_reverse_mode_give_the_same_jacobian():
    expect = lessons.get("forward_reverse_mode").expect
    out = run("14_forward_reverse_mode.py")
    jacobians = [json.loads(j) for j in re.findall(r"^J = (.*)$", out, re.M)]
    assert len(jacobians) == 2
    for J in jacobians:
        assert np.allclose(J, expect["J"], rtol=1e-6)
    assert f"forward mode: {expect['forward_passes']} passes" in out
    assert f"reverse mode: {expect['reverse_passes']} passes" in out
    assert "same Jacobian: True" in out and "w.grad equals 2w: True" in out


def test_15_lightning_digits_quick():
    pytest.importorskip("pytorch_lightning")
    pytest.importorskip("sklearn")
    lesson = lessons.get("lightning_digits")
    out = run(lesson.script, *lesson.quick_args)
    rows = re.findall(r"epoch (\d+)  train loss (\S+) acc (\S+)  val loss (\S+) acc (\S+)", out)
    assert [int(r[0]) for r in rows] == [1, 2]
    assert float(rows[-1][2]) > float(rows[0][2]) and float(rows[-1][4]) > 0.85


def _race(out: str) -> dict[str, tuple[float, float, float]]:
    rows = re.findall(r"^(\w+) +ends at w = \((\S+), (\S+)\)  loss (\S+)$", out, re.M)
    return {name: (float(a), float(b), float(loss)) for name, a, b, loss in rows}


def test_16_optimizer_race_matches_torch_optim():
    expect = lessons.get("optimizer_race").expect
    race = _race(run("16_optimizer_race.py"))
    assert list(race) == ["SGD", "Momentum", "RMSprop", "Adam", "AdamW"]
    assert race["SGD"][0] == expect["ravine_sgd_w1"]
    assert race["Momentum"][0] == expect["ravine_momentum_w1"]
    assert race["RMSprop"][2] < expect["ravine_rmsprop_loss_max"]
    # the same race computed here with torch.optim, on the lesson's ravine
    for name, make in [("SGD", lambda p: torch.optim.SGD(p, lr=0.1)),
                       ("Adam", lambda p: torch.optim.Adam(p, lr=0.1))]:
        w = torch.tensor([-4.0, 1.0], requires_grad=True)
        opt = make([w])
        for _ in range(50):
            loss = 0.1 * w[0] ** 2 + 2 * w[1] ** 2
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert race[name][:2] == (round(w[0].item(), 4), round(w[1].item(), 4)), name


def test_16_rosenbrock_with_a_big_lr_blows_up_sgd_only():
    race = _race(run("16_optimizer_race.py", "--surface", "rosenbrock", "--lr", "0.02"))
    assert math.isnan(race["SGD"][2]) and math.isnan(race["Momentum"][2])
    assert all(math.isfinite(race[n][2]) for n in ("RMSprop", "Adam", "AdamW"))


def test_17_gradient_flow():
    expect = lessons.get("gradient_flow").expect
    out = run("17_gradient_flow.py")
    ratios = dict(re.findall(r"^(\w+) +loss .*\n.*\(layer 1 / layer 10 = (\S+)\)", out, re.M))
    assert list(ratios) == ["sigmoid", "relu", "relu_batchnorm", "residual"]
    assert float(ratios["sigmoid"]) < expect["sigmoid_ratio_max"]
    assert all(float(ratios[v]) > expect["relu_ratio_min"] for v in ("relu", "relu_batchnorm", "residual"))
