"""Issue 15: the disk cap. A script can fill neither the scratch folder (many files) nor any
folder with one big file; the run stops with a DiskLimit that says what to do, and the
graphs recorded before are kept. Real processes, real files, a small cap so it is quick."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradviz.runner import run_script
from gradviz.runner.disk import usage

BACKWARD = "import torch\nw = torch.tensor(2.0, requires_grad=True)\n(w * 3).backward()\n"
CAP = 16 * 1024**2


def _run(tmp_path: Path, body: str, **kw):
    script = tmp_path / "writer.py"
    script.write_text(BACKWARD + body)
    return run_script(script, isolate=True, timeout=120, disk_limit=CAP, **kw)


def test_many_files_in_the_scratch_folder_stop_the_run(tmp_path):
    rec = _run(tmp_path, "import os\nfor i in range(10_000):\n"
                         "    with open(os.path.join(os.environ['HOME'], f'f{i}'), 'wb') as f:\n"
                         "        f.write(b'x' * 1_000_000)\nprint('wrote them all')\n")
    assert rec.error is not None and rec.error.type == "DiskLimit", rec.error
    assert "wrote them all" not in rec.stdout
    assert "16 MB" in rec.error.message and rec.error.explanation_ko
    assert len(rec.graphs) == 1  # the graph made before the flood is kept


def test_one_big_file_in_a_writable_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    rec = _run(tmp_path, f"with open({str(out / 'big.bin')!r}, 'wb') as f:\n"
                         "    for _ in range(64):\n        f.write(b'x' * 1_000_000)\n",
               writable=[out])
    assert rec.error is not None and rec.error.type == "DiskLimit", rec.error
    assert (out / "big.bin").stat().st_size <= CAP  # the kernel stopped the write at the cap


def test_a_run_within_the_cap_is_untouched(tmp_path):
    rec = _run(tmp_path, "import os\nopen(os.path.join(os.environ['HOME'], 'small'), 'wb')"
                         ".write(b'x' * 1_000_000)\nprint('done')\n")
    assert rec.error is None and "done" in rec.stdout


def test_usage_counts_bytes_and_files(tmp_path):
    for i in range(3):
        (tmp_path / f"f{i}").write_bytes(os.urandom(50_000))
    (tmp_path / "d").mkdir()
    size, files = usage(tmp_path)
    assert files == 4 and size >= 150_000
    assert usage(tmp_path, stop_at_files=1)[1] == 2  # counting stops past the cap
