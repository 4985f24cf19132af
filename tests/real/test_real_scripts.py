"""Real scripts nobody here wrote, run through `gradviz render` as a user runs them.

Each script under tests/real/scripts/ (see sources.json: repository, path, commit,
licence, sha256 of the unmodified file; each file carries the same in a comment header,
with the licence's text, above a line "# END OF HEADER") runs twice, both times through seeded.py so
that torch draws the same numbers: once by the real CLI in its sandbox, once plainly
under PyTorch (plain_run.py, which logs what autograd itself did). Compared:
the exit status and the script's own error; the number of backward() calls; every
iteration's loss and every leaf's .grad (exactly, or the norm where gradviz keeps
only the norm); each drawn graph's root value and leaf grads; what each drawn
torch.autograd.grad call returned; and that no note says something false.

The scripts are kept whole under the licence they came with (BSD-3-Clause), as the
project's rule for real test inputs asks: unmodified below their header.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = Path(os.environ.get("GRADVIZ_REAL_SCRIPTS", HERE / "scripts"))
SOURCES = json.loads((HERE / "sources.json").read_text())


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _start(name: str, out: Path) -> tuple:
    """Both runs of one script, started side by side."""
    script = SCRIPTS / SOURCES[name]["file"]
    render = subprocess.Popen(
        [sys.executable, "-m", "gradviz", "render", str(HERE / "seeded.py"), "-f", "json",
         "-o", str(out / "gv"), "--no-progress", "--", str(script)],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    plain = subprocess.Popen(
        [sys.executable, str(HERE / "plain_run.py"), str(out / "plain.json"),
         str(HERE / "seeded.py"), str(script)],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return render, plain


def _available(name: str) -> Path:
    path = SCRIPTS / SOURCES[name]["file"]
    assert path.exists(), f"{path} is missing: see tests/real/sources.json"
    header, _, body = path.read_bytes().partition(b"# END OF HEADER\n")
    assert SOURCES[name]["commit"].encode() in header and b"BSD" in header, f"{path}: no source header"
    digest = hashlib.sha256(body).hexdigest()
    assert digest == SOURCES[name]["sha256"], f"{path} differs from its source below the header"
    return path


def _flat(v) -> list:
    if isinstance(v, list):
        return [x for e in v for x in _flat(e)]
    return [v]


def _norm(v) -> float:
    return math.sqrt(sum(float(x) ** 2 for x in _flat(v)))


def _key(v) -> str:
    return json.dumps(v)


def _texts(rec: dict) -> list[str]:
    """Every sentence of the recording a learner can read."""
    out = [str(n) for n in rec.get("notes") or []]
    for g in rec["graphs"]:
        out += [str(n) for n in g.get("notes") or []]
        out += [str(n["note"]) for n in g["nodes"] if n.get("note")]
        out.append(str(g.get("title") or ""))
    err = rec.get("error") or {}
    out += [str(err.get(k) or "") for k in ("explanation", "explanation_ko", "hint", "hint_ko")]
    return out


def _check_iterations(rec: dict, plain: dict) -> None:
    calls = plain["backward"]
    its = rec["iterations"]
    assert [it["index"] for it in its] == list(range(1, len(calls) + 1))
    for it, call in zip(its, calls):
        assert it["loss"] == call["loss"], f"iteration {it['index']}: loss"
        exact = Counter(_key(g["grad"]) for g in call["grads"])
        norms = [_norm(g["grad"]) for g in call["grads"]]
        for name, p in it["params"].items():
            if p.get("grad") is not None:
                k = _key(p["grad"])
                assert exact[k] > 0, f"iteration {it['index']}: {name}.grad is not autograd's"
                exact[k] -= 1
            elif (p.get("norm") or {}).get("grad") is not None:
                want = p["norm"]["grad"]
                assert any(math.isclose(want, n, rel_tol=1e-6, abs_tol=1e-30) for n in norms), \
                    f"iteration {it['index']}: |{name}.grad| = {want} is no leaf's"


def _check_graphs(rec: dict, plain: dict) -> None:
    for g in rec["graphs"]:
        nodes = {n["id"]: n for n in g["nodes"]}
        if g["call"] == "backward":
            call = plain["backward"][g["iteration"] - 1]
            root = nodes[g["root"]] if isinstance(g.get("root"), str) else None
            if root is not None and call["loss"] is not None and root.get("value") is not None:
                assert root["value"] == call["loss"], f"graph {g['index']}: root value"
            grads = {_key(x["grad"]) for x in call["grads"]}
            for n in g["nodes"]:
                if n["kind"] == "tensor" and n["is_leaf"] and n.get("grad") is not None:
                    assert _key(n["grad"]) in grads, f"graph {g['index']}: {n['label']}.grad"
        else:
            returned = plain["grad"][g["grad_call"] - 1]
            shown = [r["value"] for r in g["returned"] if r.get("value") is not None]
            for v in shown:
                assert _key(v) in {_key(r) for r in returned}, \
                    f"autograd.grad call {g['grad_call']}: returned value"


def _check_sentences(rec: dict, plain: dict, stderr: str) -> None:
    texts = _texts(rec)
    if plain["backward"] or plain["grad"]:
        assert not [t for t in texts if "never called backward" in t], texts
    assert not [t for t in texts if "use gradviz.record()" in t]
    assert not [t for t in texts if t.startswith("gradviz could not record")]
    for g in rec["graphs"]:
        for n in g["nodes"]:
            note = str(n.get("note") or "")
            if "more than 64" in note:
                assert math.prod(n.get("shape") or [1]) > 64, note
    assert not re.search(r'File "[^"]*/gradviz/', stderr), stderr[-3000:]  # no traceback of ours


def _printed(out: str) -> str:
    """What the script printed, object addresses aside (they differ from run to run)."""
    return re.sub(r"0x[0-9a-f]+", "0x?", out).strip()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_real_script(name: str, tmp_path: Path) -> None:
    _available(name)
    render, plain_proc = _start(name, tmp_path)
    r_out, r_err = render.communicate(timeout=240)
    p_out, p_err = plain_proc.communicate(timeout=240)
    plain = json.loads((tmp_path / "plain.json").read_text())
    want_rc = SOURCES[name].get("exit", 0)
    assert plain_proc.returncode == want_rc, p_err[-2000:]
    assert render.returncode == want_rc, r_err[-2000:]
    rec = json.loads((tmp_path / "gv" / "seeded.json").read_text())
    if plain["error"]:
        assert rec["error"]["type"] == plain["error"]["type"]
        assert rec["error"]["message"] == plain["error"]["message"]
        assert plain["error"]["message"] in r_err
    else:
        assert rec["error"] is None
    assert _printed(rec["stdout"]) == _printed(p_out)
    _check_iterations(rec, plain)
    _check_graphs(rec, plain)
    _check_sentences(rec, plain, r_err)
