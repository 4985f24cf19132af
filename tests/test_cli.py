"""`gradviz render` end to end, in a subprocess: files, SVG, JSON contract, exit codes."""
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import LESSONS_DIR, gradviz_cmd
from gradviz.lessons import LESSONS


def render(*args, cwd=None, timeout=120):
    return subprocess.run(gradviz_cmd() + ["render", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def lesson1(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    r = render(LESSONS_DIR / "01_chain_rule.py", "-o", out, "-f", "svg,json,dot,png")
    return r, out


def test_files_written_and_printed(lesson1):
    r, out = lesson1
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["01_chain_rule-1.dot", "01_chain_rule-1.png", "01_chain_rule-1.svg",
                     "01_chain_rule.json"]
    for name in names:
        assert str(out / name) in r.stdout
    assert "Traceback" not in r.stderr


def test_svg_is_wellformed_with_names_and_values(lesson1):
    _, out = lesson1
    svg = (out / "01_chain_rule-1.svg").read_text()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for expected in ("w", "a", "l", "grad 18", "data 3", "data 9", "MulBackward0", "PowBackward0"):
        assert expected in text, expected


def test_json_contract(lesson1):
    _, out = lesson1
    doc = json.loads((out / "01_chain_rule.json").read_text())
    assert doc["version"] == 1 and doc["device"] == "cpu" and doc["error"] is None
    assert doc["script"].endswith("01_chain_rule.py")
    g = doc["graphs"][0]
    assert g["index"] == 0
    keys = {"id", "kind", "name", "op", "shape", "dtype", "device", "requires_grad", "is_leaf",
            "constant", "value", "grad", "line"}
    for node in g["nodes"]:
        assert keys <= set(node), set(node) ^ keys
        assert node["kind"] in ("tensor", "op")
    ids = {n["id"] for n in g["nodes"]}
    assert all(e["src"] in ids and e["dst"] in ids for e in g["edges"])
    w = next(n for n in g["nodes"] if n["name"] == "w")
    assert (w["grad"], w["is_leaf"], w["op"]) == (18.0, True, None)
    a = next(n for n in g["nodes"] if n["name"] == "a")
    source = (LESSONS_DIR / "01_chain_rule.py").read_text().splitlines()
    assert (a["op"], a["value"]) == ("MulBackward0", 3.0)
    assert source[a["line"] - 1].strip().startswith("a = w * 3")


def test_big_tensor_json_has_summary(tmp_path):
    script = tmp_path / "big.py"
    script.write_text("import torch\nv = torch.linspace(0, 1, 100, requires_grad=True)\n"
                      "loss = (v * v).sum()\nloss.backward()\n")
    r = render(script, "-o", tmp_path, "-f", "json")
    assert r.returncode == 0, r.stderr
    g = json.loads((tmp_path / "big.json").read_text())["graphs"][0]
    v = next(n for n in g["nodes"] if n["name"] == "v")
    assert v["value"] is None and v["summary"]["numel"] == 100
    assert v["grad"] is None and abs(v["grad_summary"]["max"] - 2.0) < 1e-6


def test_script_runs_as_main_with_its_folder_on_path(tmp_path):
    (tmp_path / "helper_mod.py").write_text("SCALE = 5.0\n")
    script = tmp_path / "main.py"
    script.write_text(
        "import sys, torch\nfrom helper_mod import SCALE\n"
        "assert __name__ == '__main__' and sys.argv[0].endswith('main.py'), sys.argv\n"
        "assert sys.argv[1:] == ['--n', '2'], sys.argv\n"
        "w = torch.tensor(1.0, requires_grad=True)\n(w * SCALE).backward()\nprint('grad', w.grad.item())\n")
    r = render(script, "-o", tmp_path, "-f", "json", "--", "--n", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "main.json").read_text())
    assert next(n for n in doc["graphs"][0]["nodes"] if n["name"] == "w")["grad"] == 5.0


def test_each_asked_backward_gets_a_file(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text("import torch\nw = torch.tensor(2.0, requires_grad=True)\n"
                      "for i in range(3):\n    (w * w).backward()\n")
    r = render(script, "-o", tmp_path, "--at", "1,2,3")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("*.svg")) == ["loop-1.svg", "loop-2.svg", "loop-3.svg"]


def test_failing_script_exit_1_names_the_line(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("import torch\nw = torch.tensor(1.0, requires_grad=True)\n"
                      "(w * 2).backward()\nraise ValueError('boom')\n")
    r = render(script, "-o", tmp_path, "-f", "svg,json")
    assert r.returncode == 1
    assert "bad.py line 4" in r.stderr and "ValueError: boom" in r.stderr
    assert "Traceback" not in r.stderr
    doc = json.loads((tmp_path / "bad.json").read_text())
    assert doc["error"]["type"] == "ValueError" and doc["error"]["message"] == "boom"
    assert "explanation" in doc["error"]
    assert (tmp_path / "bad-1.svg").exists()  # the graph recorded before the failure


@pytest.mark.parametrize("args", [["--format", "gif"], ["--device", "tpu"], ["--timeout"]])
def test_bad_usage_exit_2(tmp_path, args):
    r = render(LESSONS_DIR / "01_chain_rule.py", "-o", tmp_path, *args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_script_exit_2(tmp_path):
    r = render(tmp_path / "nope.py")
    assert r.returncode == 2 and "no such script" in r.stderr


def test_python_dash_m_and_help():
    r = subprocess.run(gradviz_cmd() + ["--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "render" in r.stdout
    r = subprocess.run(gradviz_cmd() + ["render", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--format" in r.stdout and "exit codes" in r.stdout


# --- lessons by number, the version, the app command -------------------------------------

def test_render_a_lesson_by_number_or_id(tmp_path):
    r = render("--lesson", "2", "-o", tmp_path, "-f", "json")
    assert r.returncode == 0, r.stderr
    rec = json.loads((tmp_path / "02_fan_in.json").read_text())
    grads = {n["name"]: n["grad"] for n in rec["graphs"][0]["nodes"] if n["name"] in ("x", "y", "f")}
    assert grads == {"x": 4.0, "y": 2.0, "f": 1.0}  # the seed: F = x*y + x - 2 at (2, 3)
    assert render("--lesson", "fan_in", "-o", tmp_path / "b", "-f", "json").returncode == 0


def test_unknown_lesson_and_missing_script_are_usage_errors(tmp_path):
    r = render("--lesson", "99", "-o", tmp_path)
    assert r.returncode == 2 and "no lesson '99'" in r.stderr and "Traceback" not in r.stderr
    r = render("-o", tmp_path)
    assert r.returncode == 2 and "script" in r.stderr and "--lesson" in r.stderr
    r = render(tmp_path / "nope.py", "--lesson", "1")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_version_and_lessons():
    import gradviz

    r = subprocess.run(gradviz_cmd() + ["--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"gradviz {gradviz.__version__}"
    r = subprocess.run(gradviz_cmd() + ["lessons"], capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    assert len(lines) == len(LESSONS) and lines[0].split()[0] == "1"
    assert all(line.endswith(".py") and (LESSONS_DIR / line.split("/")[-1]).is_file() for line in lines)


def test_app_command_defaults_match_the_checkout_config():
    import tomllib

    from conftest import ROOT
    from gradviz.ui.app import SERVER_DEFAULTS, streamlit_command

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    def flatten(table: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in table.items():
            out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    flat = flatten(config)
    assert all(SERVER_DEFAULTS[k] == str(v) for k, v in flat.items()), flat
    cmd = streamlit_command(["--server.port", "8600", "--theme.base=dark"])
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("gradviz/ui/app.py")
    assert "--server.address=localhost" in cmd  # pasted code runs only on a localhost server
    assert "--server.port=8501" not in cmd and cmd[-3:] == ["--server.port", "8600", "--theme.base=dark"]
