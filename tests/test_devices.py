"""Every device this machine has: cpu here; cuda and mps are skipped (visibly) where absent."""
import subprocess

import pytest
import torch

import gradviz
from gradviz.runner import available_devices, execute

from conftest import LESSONS_DIR, gradviz_cmd


def _has(device: str) -> bool:
    if device == "cuda":
        return torch.cuda.is_available()
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        return mps is not None and mps.is_available()
    return True


DEVICES = [pytest.param(d, marks=pytest.mark.skipif(not _has(d), reason=f"no {d} device here"))
           for d in ("cpu", "cuda", "mps")]


def _same_device(recorded: str, device: str) -> bool:
    return recorded.split(":")[0] == device


@pytest.mark.parametrize("device", DEVICES)
def test_lesson6_on_device(device):
    rec = execute(LESSONS_DIR / "06_gradient_descent.py", [], device=device)
    assert rec.error is None, rec.error
    assert rec.device == device
    w = rec.graph.by_name("w")
    assert _same_device(w.device, device)
    first = rec.iterations[0].params["w"]
    assert _same_device(first.device, device)
    after = [it.params["w"].value + it.params["w"].update for it in rec.iterations[:4]]
    assert after == pytest.approx([9, 8.1, 7.29, 6.561], abs=1e-5)
    # the default device is back to what it was, with no device context left on the mode stack
    assert torch.get_default_device().type == "cpu"


@pytest.mark.parametrize("device", DEVICES)
def test_lesson8_on_device_quick(device):
    rec = execute(LESSONS_DIR / "08_two_layer_net.py", [], device=device, at="last", total=500)
    assert rec.error is None, rec.error
    its = rec.iterations
    assert len(its) == 500 and its[-1].loss < 1.0
    assert _same_device(its[0].params["w1"].device, device)
    assert all(_same_device(n.device, device) for n in rec.graphs[-1].nodes
               if n.kind == "tensor" and n.device)


@pytest.mark.parametrize("device", DEVICES)
def test_record_api_on_device(device):
    w = torch.tensor([1.0, -2.0], device=device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    with gradviz.record() as rec:
        for _ in range(3):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
    assert [it.loss for it in rec.iterations] == pytest.approx([5.0, 3.2, 1.058], abs=1e-4)
    info = rec.iterations[1].optimizer[0].params[0]
    assert "buf ← μ·buf + (1−dampening)·g" in info.formula
    assert _same_device(rec.iterations[0].params["w"].device, device)


def test_unavailable_device_is_a_clear_error_listing_the_available_ones():
    assert "cpu" in available_devices()
    rec = execute(LESSONS_DIR / "06_gradient_descent.py", [], device="cuda:7")
    assert rec.error is not None and rec.error.type == "DeviceError"
    assert "available" in rec.error.message and "cpu" in rec.error.message
    r = subprocess.run([*gradviz_cmd(), "render", str(LESSONS_DIR / "01_chain_rule.py"),
                        "--device", "nonesuch", "-o", "/tmp"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "available" in r.stderr and "cpu" in r.stderr
