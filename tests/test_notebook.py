"""examples/walkthrough.ipynb runs top to bottom in a fresh kernel, headless, with no error.

The kernel is this test's own interpreter (the project venv), declared in a kernel
spec written to a temporary folder, so nothing depends on what Jupyter has installed.
"""
import json
import sys

import pytest

from conftest import NOTEBOOK, ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

KERNEL = "gradviz-test-python"


@pytest.fixture()
def kernel_manager(tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gradviz test (venv python)",
        "language": "python",
        "env": {"PYTHONPATH": str(ROOT), "IPYTHONDIR": str(tmp_path / "ipython"),
                "MPLBACKEND": "agg", "PYTHONHASHSEED": "0"},
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_walkthrough_runs(kernel_manager):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, km=kernel_manager, kernel_name=KERNEL, timeout=45, startup_timeout=30,
        allow_errors=False, resources={"metadata": {"path": str(ROOT)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    svgs = [o.data["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(html) == 4, "each lesson shows one stepper"
    for fragment in html:
        assert fragment.startswith("<iframe") and "srcdoc=" in fragment
        assert "https://" not in fragment
    assert len(svgs) == 2, "gradviz.show() draws lessons 1 and 3 as SVG"
    assert all("<svg" in s for s in svgs)
