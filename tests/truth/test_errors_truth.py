"""Error explanations (item 18): what they say about the error is what torch says and did.

The truth: the same script run plainly (the exception torch raises, with its message) and
the state after optimizer.zero_grad() (torch >= 2.0: set_to_none, so .grad is None).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradviz

ESC = re.compile(r"\x1b|\\u001b|\\x1b|&#27;|&#x1b;", re.IGNORECASE)

ZERO_GRAD = """import torch
w = torch.nn.Parameter(torch.ones(3))
opt = torch.optim.SGD([w], lr=0.1)
(w * 2).sum().backward()
opt.step()
opt.zero_grad()
print(w.grad{use})
"""

LOAD = """import torch
class Thing:
    pass
torch.save({{"a": Thing()}}, {path!r})
torch.load({path!r})
"""


def _script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _plain_error(path: Path) -> str:
    """torch's own message for the script's error, run plainly in a child process."""
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode != 0
    return out.stderr


def test_item18_zero_grad_really_sets_none():
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad()
    assert w.grad is None  # the fact the explanations below must state


def test_item18_grad_index_after_zero_grad_is_explained(tmp_path):
    rec = gradviz.run_script(_script(tmp_path, "zg1.py", ZERO_GRAD.format(use="[0]")))
    e = rec.error
    assert e is not None and e.type == "TypeError"
    assert re.search(r"zero_grad", e.explanation) and "None" in e.explanation, e.explanation


def test_item18_grad_sum_after_zero_grad_blames_zero_grad(tmp_path):
    rec = gradviz.run_script(_script(tmp_path, "zg2.py", ZERO_GRAD.format(use=".sum()")))
    e = rec.error
    assert e is not None and e.type == "AttributeError"
    said = e.explanation + " " + e.hint
    assert re.search(r"zero_grad\(\)[^.]*(None|set_to_none)", said), said
    assert not re.search(r"use optimizer\.zero_grad\(\)", e.hint), e.hint


@pytest.fixture(scope="module")
def load_error(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load")
    path = _script(tmp, "ld.py", LOAD.format(path=str(tmp / "thing.pt")))
    return path, _plain_error(path), gradviz.run_script(path)


def test_item18_torch_offers_two_options(load_error):
    _, plain, _ = load_error
    assert "weights_only" in plain and "safe_globals" in plain


def test_item18_load_error_keeps_both_options(load_error):
    _, _, rec = load_error
    text = rec.error.message + rec.error.explanation + rec.error.hint
    assert "weights_only=False" in text and "safe_globals" in text, rec.error.message


def test_item18_no_ansi_in_recorded_error(load_error):
    _, _, rec = load_error
    e = rec.error
    assert not ESC.search(e.message + e.explanation + e.hint + e.explanation_ko + e.hint_ko), \
        repr(e.message)


def test_item18_no_ansi_in_cli_outputs(load_error, tmp_path):
    path, _, _ = load_error
    out = subprocess.run([sys.executable, "-m", "gradviz", "render", str(path), "-o", str(tmp_path),
                          "-f", "json,html", "--no-progress", "--writable", str(path.parent)],
                         capture_output=True, text=True,
                         timeout=180, check=False)
    assert out.returncode == 1, out.stderr
    found = {"stderr": bool(ESC.search(out.stderr))}
    for f in tmp_path.glob("ld.*"):
        found[f.name] = bool(ESC.search(f.read_text(encoding="utf-8")))
    assert len(found) == 3 and not any(found.values()), found
