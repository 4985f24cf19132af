"""TensorBoard export: the timeline and the graph pictures, read back with TensorBoard's reader."""
import subprocess

import pytest

from gradviz.runner import run_script

from conftest import LESSONS_DIR, gradviz_cmd

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _read(logdir):
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_timeline_and_pictures_as_events(tmp_path):
    rec = run_script(LESSONS_DIR / "06_gradient_descent.py")
    assert rec.error is None
    rec.to_tensorboard(tmp_path / "tb")
    acc = _read(tmp_path / "tb")
    tags = acc.Tags()
    assert {"loss", "grad_norm/w", "update_norm/w", "update_ratio/w"} <= set(tags["scalars"])
    events = acc.Scalars("loss")
    assert [e.step for e in events] == [it.index for it in rec.iterations]
    assert [e.value for e in events] == pytest.approx([it.loss for it in rec.iterations])
    # descent on w**2 from 10 with lr 0.05: L = 100, 81, 65.61, ...; ratio |Δw| / |w| = 0.1
    assert [e.value for e in events[:3]] == pytest.approx([100.0, 81.0, 65.61])
    ratio = [e.value for e in acc.Scalars("update_ratio/w")]
    assert ratio[:3] == pytest.approx([0.1, 0.1, 0.1], rel=1e-4)
    grad = [e.value for e in acc.Scalars("grad_norm/w")]
    assert grad[:2] == pytest.approx([20.0, 18.0])
    images = [t for t in tags["images"] if t.startswith("graph/")]
    assert len(images) == len(rec.graphs) >= 2
    first = acc.Images(images[0])[0]
    assert first.width > 50 and first.height > 50 and first.encoded_image_string[:4] == b"\x89PNG"


def test_cli_writes_events(tmp_path):
    r = subprocess.run(gradviz_cmd() + ["render", "--lesson", "1", "-o", str(tmp_path / "out"),
                                        "--tensorboard", str(tmp_path / "tb")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert str(tmp_path / "tb") in r.stdout
    acc = _read(tmp_path / "tb")
    assert [e.value for e in acc.Scalars("loss")] == [9.0]  # l = (3w)**2 at w = 1
    assert acc.Tags()["images"] == ["graph/1"]

