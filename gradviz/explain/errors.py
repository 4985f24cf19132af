"""Explain what went wrong: a script's error, a warning it triggered, a gradient that died.

`explain_error(info, exc, graph)` fills an ErrorInfo's explanation (English and
Korean), its hint, and, when the culprit can be found, `info.node`: a node id of
the last recorded graph. It reads the exception message (the catalogue of
mistakes in gradviz.explain.mistakes) and what is left of the failing call in the
traceback: the user's variables and the torch function and arguments that
gradviz's forward log (or torch's device mode) saw, so it can name tensors and
show shapes. It never raises.

`watch(recording)` is the runner's hook: while a script runs it notes the
warnings worth explaining (reading .grad of a non-leaf), and when it ends it adds
notes for leaves whose gradient is None or zero (no_grad, detach, a dead ReLU).

torch is never imported here: live tensors are only met in a traceback.
"""
from __future__ import annotations

import ast
import linecache
import os
import re
import sys
import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from gradviz.explain.mistakes import VARIANTS, WARNINGS, Mistake, fill, find
from gradviz.recording import ErrorInfo, Graph, Recording
from gradviz.user_code import is_user_file as _is_user_file



# --- errors --------------------------------------------------------------------------

def explain_error(info: ErrorInfo, exc: BaseException, graph: Graph | None = None) -> None:
    """Fill info.explanation, explanation_ko, hint and (when found) node. Never raises."""
    try:
        _explain(info, exc, graph)
    except Exception:  # an explanation must never hide the user's own error
        pass


def _explain(info: ErrorInfo, exc: BaseException, graph: Graph | None) -> None:
    message = str(exc)
    hit = find(f"{type(exc).__name__}: {message}")
    if hit is None:
        return
    mistake, match = hit
    scene = _Scene(exc, info)
    scene.graph = graph
    values: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
    values.setdefault("name", _UNNAMED)
    values.update({k: "" for k in _OPTIONAL}, line=info.line or "?")
    detail = _DETAILS.get(mistake.id)
    if detail is not None:
        found = detail(scene, values, match)
        if found is False:  # the regex matched, but the scene says it is something else
            return
        mistake = found or mistake
    name = str(values["name"])
    values["var"] = name if re.fullmatch(r"[A-Za-z_][\w.]*", name) else "x"
    ko_values = {**values, "name": "이 텐서" if name == _UNNAMED else name,
                 "aligned": values.get("aligned_ko") or values.get("aligned", "")}
    info.explanation = _tidy(fill(mistake.en, values))
    info.hint = _tidy(fill(mistake.fix, values))
    info.explanation_ko = _tidy(fill(mistake.ko, ko_values))
    info.hint_ko = _tidy(fill(mistake.fix_ko, ko_values))
    if graph is not None and info.node is None:
        info.node = _culprit(mistake.id, values, graph, info)


_UNNAMED = "the tensor"
# Parts of a sentence that are simply left out when nothing is known about them.
_OPTIONAL = ("why", "why_ko", "view_note", "view_note_ko", "named", "named_ko", "op_on", "op_on_ko",
             "alloc", "alloc_ko", "changed_by", "changed_by_ko", "input_name", "made_by", "made_by_ko",
             "reused", "reused_ko")


def _tidy(text: str) -> str:
    lines = text.split("\n")
    return "\n".join([re.sub(r"  +", " ", lines[0]).strip()] + lines[1:])


def _tensor_backward() -> Any:
    import torch

    return getattr(torch.Tensor.backward, "__wrapped__", torch.Tensor.backward)


class _Scene:
    """What is left of the failure: the user's frames, the torch call, the source line."""

    def __init__(self, exc: BaseException, info: ErrorInfo):
        self.info = info
        self.graph: Graph | None = None
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append((tb.tb_frame, tb.tb_lineno))
            tb = tb.tb_next
        self.call: tuple[Any, tuple, dict] | None = None
        for f, _ in reversed(frames):  # the innermost torch function call
            if f.f_code.co_name == "__torch_function__" and "func" in f.f_locals:
                loc = f.f_locals
                self.call = (loc["func"], tuple(loc.get("args") or ()), dict(loc.get("kwargs") or {}))
                break
        if self.call is None:  # a backward() that no torch-function mode saw: Tensor.backward's frame
            for f, _ in reversed(frames):
                loc = f.f_locals if f.f_code.co_name == "backward" else {}
                if _is_tensor(loc.get("self")):
                    grad = loc.get("gradient")
                    self.call = (_tensor_backward(), (loc["self"],) + ((grad,) if _is_tensor(grad) else ()),
                                 {})
                    break
        self.user = [f for f, _ in reversed(frames) if _is_user_file(f.f_code.co_filename)]
        self.text = ""
        if info.file and info.line:
            self.text = linecache.getline(info.file, info.line).strip()

    # the failing torch call
    @property
    def func_name(self) -> str:
        return getattr(self.call[0], "__name__", "") if self.call else ""

    def tensors(self) -> list[Any]:
        """Tensor arguments of the failing call, in order."""
        if self.call is None:
            return []
        out = []
        for a in list(self.call[1]) + list(self.call[2].values()):
            if _is_tensor(a):
                out.append(a)
            elif isinstance(a, list | tuple):
                out.extend(x for x in a[:16] if _is_tensor(x))
        return out

    # the user's names
    def namespaces(self) -> Iterator[dict]:
        seen = set()
        for f in self.user:
            for ns in (f.f_locals, f.f_globals):
                if id(ns) not in seen:
                    seen.add(id(ns))
                    yield ns

    def name_of(self, obj: Any) -> str | None:
        if obj is None:
            return None
        for ns in self.namespaces():
            for k, v in list(ns.items()):
                if v is obj and isinstance(k, str) and not k.startswith("__"):
                    return k
        for ns in self.namespaces():  # a module's parameter: model.fc1.weight
            for k, v in list(ns.items()):
                if isinstance(k, str) and not k.startswith("_") and _is_module(v):
                    try:
                        for pname, p in v.named_parameters(prefix=k):
                            if p is obj:
                                return pname
                    except Exception:
                        continue
        return None

    def module_name(self, pred) -> str | None:
        for ns in self.namespaces():
            for k, v in list(ns.items()):
                if isinstance(k, str) and not k.startswith("_") and _is_module(v):
                    try:
                        for mname, m in v.named_modules(prefix=k):
                            if pred(m):
                                return mname
                    except Exception:
                        continue
        return None

    def user_tensors(self) -> list[tuple[str, Any]]:
        out, seen = [], set()
        for ns in self.namespaces():
            for k, v in list(ns.items()):
                if isinstance(k, str) and _is_tensor(v) and id(v) not in seen:
                    seen.add(id(v))
                    out.append((k, v))
        return out

    def where(self) -> str:
        """` (`c = a + b`, line 4)` for the failing line, or ''."""
        if self.text and self.info.line:
            return f" (`{_short(self.text)}`, line {self.info.line})"
        return ""

    def where_ko(self) -> str:
        if self.text and self.info.line:
            return f"(`{_short(self.text)}`, {self.info.line}번째 줄)"
        return ""


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _is_module(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.nn.Module)


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _shape(t: Any) -> list[int]:
    try:
        return [int(s) for s in t.shape]
    except Exception:
        return []


def _dtype(t: Any) -> str:
    return str(getattr(t, "dtype", "")).replace("torch.", "")


def _describe(scene: _Scene, t: Any, fallback: str, lang: str = "en") -> str:
    """`x (shape [2, 3])`, or `a tensor of shape [2, 3]`."""
    if not _is_tensor(t):
        return fallback
    name = scene.name_of(t)
    if lang == "ko":
        return f"{name}(모양 {_shape(t)})" if name else f"모양이 {_shape(t)}인 텐서"
    return f"{name} (shape {_shape(t)})" if name else f"a tensor of shape {_shape(t)}"


_OPS = {"__add__": "+", "__radd__": "+", "add": "+", "__sub__": "-", "__rsub__": "-", "sub": "-",
        "__mul__": "*", "__rmul__": "*", "mul": "*", "__truediv__": "/", "__rtruediv__": "/",
        "div": "/", "__matmul__": "@", "__rmatmul__": "@", "matmul": "@", "__pow__": "**",
        "__setitem__": "[...] =", "add_": "+=", "sub_": "-=", "mul_": "*=", "div_": "/="}


def _op_label(scene: _Scene, lang: str = "en") -> str:
    name = scene.func_name
    where = scene.where_ko() if lang == "ko" else scene.where()
    if not name:
        return ("이 연산" if lang == "ko" else "The operation") + where
    return f"`{_OPS.get(name, name)}`" + where


# --- one detail function per mistake: fill the values its texts need ----------------

def _root(scene: _Scene) -> Any:
    if scene.func_name == "backward" and scene.tensors():
        return scene.tensors()[0]
    return None


def _root_name(scene: _Scene, values: dict) -> Any:
    root = _root(scene)
    name = scene.name_of(root)
    if name is None:
        m = re.search(r"([\w.\[\]]+)\s*\.\s*backward\s*\(", scene.text)
        name = m.group(1) if m else None
    if name is not None:
        values["name"] = name
    return root


def _backward_no_grad(scene: _Scene, values: dict, match: re.Match) -> None:
    root = _root_name(scene, values)
    name = values["name"]
    made = _grad_free(scene.info.file).get(name) if scene.info.file else None
    if root is not None and not (root.is_floating_point() or root.is_complex()):
        values["why"] = f"It holds integers ({_dtype(root)}), and integer tensors never require grad."
        values["why_ko"] = f"정수({_dtype(root)}) 텐서라서 requires_grad를 가질 수 없습니다."
    elif made is not None and made[0] == "no_grad":
        values["why"] = f"It was computed inside torch.no_grad() (line {made[1]}), where nothing is recorded."
        values["why_ko"] = f"torch.no_grad() 안({made[1]}번째 줄)에서 계산되어 아무것도 기록되지 않았습니다."
    elif made is not None:
        values["why"] = f"It comes from .detach() (line {made[1]}), which cuts it off from the graph."
        values["why_ko"] = f".detach()({made[1]}번째 줄)를 거쳐 그래프에서 떨어져 나왔습니다."
    else:
        values["why"] = ("None of the tensors it was computed from has requires_grad=True "
                         "(or it was made under torch.no_grad() or with .detach()).")
        values["why_ko"] = ("계산에 쓰인 텐서 중 requires_grad=True인 것이 없습니다"
                            "(또는 torch.no_grad() 안에서, 혹은 .detach()로 만들어졌습니다).")


def _backward_twice(scene: _Scene, values: dict, match: re.Match) -> None:
    _root_name(scene, values)
    g, info = scene.graph, scene.info
    if g is None or g.line != info.line or not info.file or not info.line:
        return
    loop = _loop_around(info.file, info.line)
    if loop is None:
        return
    # tensors of this graph made before the loop: every iteration goes back through them
    before = [n for n in g.nodes if n.kind == "tensor" and not n.is_leaf and not n.constant
              and n.line and n.file == info.file and not loop[0] <= n.line <= loop[1]]
    if not before:
        return
    n = before[0]
    label = n.name or n.label or "a tensor"
    values["reused_node"] = n.id
    values["reused"] = (f" Here {label} (line {n.line}) is computed once, outside the loop on line "
                        f"{loop[0]}: every iteration goes back through its graph, which the first "
                        f"backward() freed. Compute it inside the loop.")
    values["reused_ko"] = (f" 여기서는 {label}({n.line}번째 줄)이(가) {loop[0]}번째 줄의 반복문 밖에서 한 번만 "
                           f"계산됩니다. 반복할 때마다 그 그래프를 다시 거슬러 가는데, 첫 backward()가 이미 "
                           f"지웠습니다. 반복문 안에서 계산하세요.")


def _loop_around(path: str, line: int) -> tuple[int, int] | None:
    """(first, last) line of the innermost for/while loop around `line` in the script."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor):
            end = getattr(node, "end_lineno", None) or node.lineno
            if node.lineno <= line <= end and (best is None or node.lineno > best[0]):
                best = (node.lineno, end)
    return best


def _backward_non_scalar(scene: _Scene, values: dict, match: re.Match) -> None:
    root = _root_name(scene, values)
    if root is not None:
        values["shape"] = _shape(root)
        values["numel"] = root.numel()


def _inplace_leaf(scene: _Scene, values: dict, match: re.Match) -> None:
    target = scene.tensors()[0] if scene.tensors() else None
    leaf = target
    if match.group("view") and target is not None and getattr(target, "_base", None) is not None:
        leaf = target._base
    name = scene.name_of(leaf)
    if name is None:  # no live call: read the line
        m = re.match(r"\s*([A-Za-z_][\w.]*)\s*(\[[^\]]*\])?\s*(\+|-|\*|/|//|%|\*\*|@)?=(?!=)", scene.text) \
            or re.search(r"([A-Za-z_][\w.]*)(\[[^\]]*\])?\.\w+_\(", scene.text)
        name = m.group(1) if m else None
    if name:
        values["name"] = name
    op = _OPS.get(scene.func_name, scene.func_name or "an in-place op")
    values["op"] = f"`{_short(scene.text)}` (line {scene.info.line})" if scene.text else f"`{op}`"
    values["op_ko"] = f"`{_short(scene.text)}`({scene.info.line}번째 줄)" if scene.text else f"`{op}`"
    if match.group("view"):
        values["view_note"] = " (through a view of it, such as an indexed part)"
        values["view_note_ko"] = "(인덱싱한 일부 같은 뷰를 통해서)"


_TYPE_DTYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
                "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32"}


def _inplace_saved(scene: _Scene, values: dict, match: re.Match) -> None:
    version, shape = int(match.group("version")), _ints(match.group("shape"))
    op = match.group("op")
    dtype = _TYPE_DTYPES.get(match.group("tensor_type").split(".")[-1], match.group("tensor_type"))
    values["desc"] = f"shape {shape}, {dtype}"
    values["desc_ko"] = f"모양 {shape}, {dtype}"
    if op not in ("CopySlices", "AsStridedBackward0", "AsStridedBackward1"):
        values["made_by"] = f", output {match.group('output_nr')} of {op}"
        values["made_by_ko"] = f", {op}의 출력 {match.group('output_nr')}"
    # the live tensor: the user's tensor at that version, of that shape
    cands = [(n, t) for n, t in scene.user_tensors()
             if getattr(t, "_version", None) == version and _shape(t) == shape]
    best = [(n, t) for n, t in cands if type(t.grad_fn).__name__.startswith(op + "Backward")]
    pick = (best or cands)[0] if len(best) == 1 or (not best and len(cands) == 1) else None
    if pick is None:
        return
    name, t = pick
    values["name"] = name
    values["changed_by"], values["changed_by_ko"] = "", ""
    edit = _inplace_edit(scene.info.file, name) if scene.info.file else None
    if edit is not None:
        values["changed_by"] = f"by `{_short(edit[1])}` on line {edit[0]}"
        values["changed_by_ko"] = f"(`{_short(edit[1])}`, {edit[0]}번째 줄)"
    else:
        now = type(t.grad_fn).__name__ if t.grad_fn is not None else ""
        if now and not now.startswith(op + "Backward"):
            what = "an indexed assignment" if now == "CopySlices" else f"an in-place {_forward(now)}_"
            values["changed_by"] = f"by {what}"
            values["changed_by_ko"] = f"({what})"


def _int_requires_grad(scene: _Scene, values: dict, match: re.Match) -> None:
    target = scene.tensors()[0] if scene.tensors() else None
    name = scene.name_of(target)
    if name is None:
        m = re.match(r"\s*([A-Za-z_][\w.]*)\s*=", scene.text) or \
            re.search(r"([A-Za-z_][\w.]*)\.requires_grad", scene.text)
        name = m.group(1) if m else None
    if name:
        values["name"] = name
    if target is not None:
        values["dtype"] = _dtype(target)
    elif scene.call is not None and scene.call[2].get("dtype") is not None:
        values["dtype"] = _dtype(scene.call[2]["dtype"]) or str(scene.call[2]["dtype"])
    elif scene.call is not None and _guess_dtype(scene.call[1][:1]):
        values["dtype"] = _guess_dtype(scene.call[1][:1])
    else:
        values["dtype"] = "an integer type, such as int64"


def _guess_dtype(data: Any) -> str | None:
    """The dtype torch.tensor(data) picks for plain Python numbers: int64 or bool."""
    flat, stack = [], [data]
    while stack and len(flat) < 1000:
        v = stack.pop()
        if isinstance(v, list | tuple):
            stack.extend(v)
        else:
            flat.append(v)
    if flat and all(isinstance(v, bool) for v in flat):
        return "bool"
    if flat and all(isinstance(v, int) for v in flat):
        return "int64"
    if isinstance(data, range) or (len(data) == 1 and isinstance(data[0], int) and not isinstance(data[0], bool)):
        return "int64"
    return None


def _int_mean(scene: _Scene, values: dict, match: re.Match) -> None:
    values["dtype"] = {"Long": "int64", "Int": "int32", "Bool": "bool", "Short": "int16",
                       "Byte": "uint8", "Char": "int8"}.get(match.group("dtype"), match.group("dtype"))
    target = scene.tensors()[0] if scene.tensors() else None
    name = scene.name_of(target)
    if name is None:
        m = re.search(r"([A-Za-z_][\w.]*)\s*\.\s*" + re.escape(match.group("func")) + r"\s*\(", scene.text)
        name = m.group(1) if m else None
    if name:
        values["name"] = name
        values["named"] = f" (here {name} holds {values['dtype']})"
        values["named_ko"] = f"(여기서 {name}은(는) {values['dtype']} 텐서입니다)"


def _broadcast(scene: _Scene, values: dict, match: re.Match) -> None:
    sa, sb, dim = int(match.group("sa")), int(match.group("sb")), int(match.group("dim"))
    values["op"] = _op_label(scene)
    values["op_ko"] = _op_label(scene, "ko")
    ts = [t for t in scene.tensors()]
    pair = _conflicting_pair(ts, sa, sb, dim)
    if pair is None:
        values["a"], values["b"], values["a_ko"], values["b_ko"] = "tensor a", "tensor b", "텐서 a", "텐서 b"
        values["aligned"] = f"    dimension {dim}: {sa} vs {sb}"
        values["aligned_ko"] = f"    차원 {dim}: {sa} 대 {sb}"
        return
    a, b = pair
    values["a"] = _describe(scene, a, "tensor a")
    values["b"] = _describe(scene, b, "tensor b")
    values["a_ko"] = _describe(scene, a, "텐서 a", "ko")
    values["b_ko"] = _describe(scene, b, "텐서 b", "ko")
    na, nb = scene.name_of(a) or "a", scene.name_of(b) or "b"
    values["aligned"] = align_shapes([(na, _shape(a)), (nb, _shape(b))])
    values["aligned_ko"] = align_shapes([(na, _shape(a)), (nb, _shape(b))], lang="ko")


def _conflicting_pair(ts: list, sa: int, sb: int, dim: int) -> tuple | None:
    for i, a in enumerate(ts):
        for b in ts[i + 1:]:
            x, y = _shape(a), _shape(b)
            n = max(len(x), len(y))
            if n <= dim:
                continue
            xa = ([None] * (n - len(x)) + x)[dim]
            yb = ([None] * (n - len(y)) + y)[dim]
            if (xa, yb) == (sa, sb):
                return a, b
    for i, a in enumerate(ts):  # the message's dimension counts in the broadcast shape
        for b in ts[i + 1:]:
            if broadcast_conflicts(_shape(a), _shape(b)):
                return a, b
    return None


def _broadcast_inplace(scene: _Scene, values: dict, match: re.Match) -> None:
    values["op_on"] = scene.where()
    values["op_on_ko"] = scene.where_ko()


def _matmul(scene: _Scene, values: dict, match: re.Match) -> Mistake | None:
    values["op_on"] = scene.where()
    values["op_on_ko"] = scene.where_ko()
    ts = scene.tensors()
    if scene.func_name == "linear" and len(ts) >= 2:
        x, w = ts[0], ts[1]
        out_f, in_f = (_shape(w) + [0, 0])[:2]
        values.update(out=out_f, c2_in=in_f, shape=_shape(x))
        values["layer"] = scene.module_name(lambda m: getattr(m, "weight", None) is w) or "nn.Linear"
        xname = scene.name_of(x)
        values["input_name"] = f" {xname}" if xname else ""
        return VARIANTS["matmul_shapes/linear"]
    return None


def _simple_where(scene: _Scene, values: dict, match: re.Match) -> None:
    values["op_on"] = scene.where()
    values["op_on_ko"] = scene.where_ko()


def _devices(scene: _Scene, values: dict, match: re.Match) -> None:
    found = []
    for t in scene.tensors():
        d = str(getattr(t, "device", ""))
        if d and d not in [x[1] for x in found]:
            found.append((scene.name_of(t), d))
    if len(found) >= 2:
        values["devices"] = ", ".join(f"{n} on {d}" if n else d for n, d in found)
        return
    text = str(match.string)
    m = (re.search(r"at least two devices, (\S+) and (\S+?)!", text)
         or re.search(r"Tensor on device (\S+) is not on the expected device (\S+?)!", text))
    if m:
        values["devices"] = f"{m.group(1)} and {m.group(2)}"
        return
    m = re.search(r"but got (\w+) is on (\S+), different from other tensors on (\S+?)[ (]", text)
    if m:
        values["devices"] = f"{m.group(1)} on {m.group(2)}, the others on {m.group(3)}"
    else:
        values["devices"] = "for example cpu and cuda"


def _numpy(scene: _Scene, values: dict, match: re.Match) -> None:
    target = scene.tensors()[0] if scene.tensors() else None
    name = scene.name_of(target)
    if name is None:
        m = re.search(r"([A-Za-z_][\w.]*)\s*\.\s*numpy\s*\(", scene.text)
        name = m.group(1) if m else None
    if name:
        values["name"] = name


def _memory(scene: _Scene, values: dict, match: re.Match) -> None:
    m = re.search(r"tried to allocate (\d+) bytes", str(match.string))
    if m:
        size = _size(int(m.group(1)))
        values["alloc"] = f" (one allocation asked for {size})"
        values["alloc_ko"] = f"(한 번에 {size}를 요청했습니다)"


def _grad_none(scene: _Scene, values: dict, match: re.Match) -> bool | None:
    found = re.findall(r"([A-Za-z_][\w.]*)\.grad\b", scene.text)
    if not found:
        return False
    values["name"] = found[0]
    return None


_DETAILS = {
    "grad_none": _grad_none,
    "backward_no_grad": _backward_no_grad,
    "backward_twice": _backward_twice,
    "backward_non_scalar": _backward_non_scalar,
    "inplace_leaf": _inplace_leaf,
    "inplace_saved": _inplace_saved,
    "int_requires_grad": _int_requires_grad,
    "int_mean": _int_mean,
    "broadcast": _broadcast,
    "broadcast_inplace": _broadcast_inplace,
    "matmul_shapes": _matmul,
    "matmul_vector": _simple_where,
    "dot_sizes": _simple_where,
    "bmm_shapes": _simple_where,
    "devices": _devices,
    "numpy_requires_grad": _numpy,
    "out_of_memory": _memory,
}


def _culprit(mistake_id: str, values: dict, graph: Graph, info: ErrorInfo) -> str | None:
    """The node to highlight in the last graph, when the mistake has one there."""
    name = values.get("name")
    tensors = [n for n in graph.nodes if n.kind == "tensor"]
    if mistake_id == "backward_twice" and values.get("reused_node"):
        return values["reused_node"]
    if mistake_id in ("backward_no_grad", "backward_twice", "backward_non_scalar"):
        # only the graph whose backward() failed: it was recorded on the failing line
        if graph.line == info.line and graph.root:
            return graph.root
        return None
    if mistake_id == "inplace_saved":
        op = values.get("op", "")
        named = [n for n in tensors if n.name == name]
        by_op = [n for n in named if (n.op or "").startswith(op + "Backward")]
        pick = by_op or named or [n for n in tensors if (n.op or "").startswith(op + "Backward")]
        return pick[0].id if pick else None
    if mistake_id in ("inplace_leaf", "numpy_requires_grad", "int_mean"):
        named = [n for n in tensors if n.name == name]
        return named[0].id if named else None
    return None


# --- warnings -------------------------------------------------------------------------

def explain_warning(message: str, source_line: str | None = None) -> dict | None:
    """Words for a warning worth explaining, or None.

    Returns {"id", "warning" (its text), "name", "title", "title_ko", "explanation",
    "explanation_ko" (with the fix), "hint"}.
    """
    for wid, w in WARNINGS.items():
        m = re.search(w["detect"], message)
        if m is None:
            continue
        values = {k: v for k, v in m.groupdict().items() if v is not None}
        name = None
        if wid == "nonleaf_grad" and source_line:
            found = re.findall(r"([A-Za-z_][\w.]*)\.grad\b", source_line)
            name = found[0] if found else None
        values["name"] = name or "tensor"
        ko_values = values
        return {
            "id": wid,
            "warning": message.split(" (Triggered internally")[0].strip()[:300],
            "name": name,
            "title": fill(w["title"], values),
            "title_ko": fill(w["title_ko"], values),
            "explanation": fill(w["en"], values),
            "explanation_ko": fill(w["ko"], ko_values) + " 해결: " + fill(w["fix_ko"], ko_values),
            "hint": fill(w["fix"], values),
        }
    return None


@contextmanager
def watch(recording: Recording) -> Iterator[Recording]:
    """While a script runs: explain its warnings; when it ends: explain dead gradients.

    Warnings still reach whoever showed them before (they are passed on, not eaten).
    """
    seen: set[tuple] = set()
    found: list[dict] = []  # added to recording.pitfalls at the end, after the recorder's own
    with warnings.catch_warnings():
        shown_before = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            try:
                _note_warning(recording, str(message), filename, lineno, seen, found)
            except Exception:
                pass
            shown_before(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield recording
        finally:
            warnings.showwarning = shown_before
            recording.pitfalls.extend(found)
            try:
                _note_dead_grads(recording)
            except Exception:
                pass


def _note_warning(rec: Recording, message: str, filename: str, lineno: int, seen: set,
                  pitfalls: list[dict]) -> None:
    if not filename or not _is_user_file(filename):  # raised inside torch: find the user's line
        f = sys._getframe(2)
        while f is not None and not _is_user_file(f.f_code.co_filename):
            f = f.f_back
        if f is not None:
            filename, lineno = f.f_code.co_filename, f.f_lineno
    text = linecache.getline(filename, lineno).strip() if filename else ""
    found = explain_warning(message, text)
    if found is None or (found["id"], filename, lineno) in seen:
        return
    seen.add((found["id"], filename, lineno))
    if rec.script and os.path.abspath(filename) == os.path.abspath(rec.script):
        found["line"] = lineno
    where = f"line {lineno}: " if found.get("line") else ""
    rec.notes.append(f"{where}{found['explanation']} Fix: {found['hint']}")
    found.update(kind=found["id"], iteration=None,
                 explanation=f"{found['explanation']} Fix: {found['hint']}")
    if rec.graphs and found["name"]:
        g = rec.graphs[-1]
        for n in g.nodes:
            if n.kind == "tensor" and n.name == found["name"] and not n.is_leaf:
                n.note = found["explanation"]
                found["node"], found["graph"] = n.id, g.index
                break
    pitfalls.append(found)


# --- dead gradients: a leaf that ends with grad None or all zeros ----------------------

def _note_dead_grads(rec: Recording) -> None:
    """Add the dead-gradient findings to each graph's notes (once per text) and nodes."""
    for g in rec.graphs:
        for f in dead_grad_findings(g, rec.source):
            if f["en"] in g.notes:
                continue
            g.notes.append(f["en"])
            try:
                node = g.node(f["node"])
                if not node.note:
                    node.note = f["en"]
            except KeyError:
                pass
            rec.pitfalls.append({"kind": "dead_grad", "id": f["id"], "iteration": g.iteration,
                                 "graph": g.index, "node": f["node"], "title": f["title"],
                                 "title_ko": f["title_ko"], "explanation": f["en"],
                                 "explanation_ko": f["ko"]})


def explain_dead_grads(graph: Graph, source: str | None = None, lang: str = "en") -> list[str]:
    """Why a leaf that requires grad got no gradient (None) or only zeros, from the graph.

    Looks for: a ReLU (or another op) whose local derivative was 0 everywhere on the
    way from the leaf, tensors made under torch.no_grad() or by .detach() that feed
    the graph as constants, and leaves used on a line of the graph but missing from it.
    `source` is the script's text (for no_grad blocks and detach calls).
    """
    key = "ko" if lang == "ko" else "en"
    return [f[key] for f in dead_grad_findings(graph, source)]


def dead_grad_findings(graph: Graph, source: str | None = None) -> list[dict]:
    """The same as explain_dead_grads, as {"id", "node", "title", "title_ko", "en", "ko"} dicts."""
    out: list[dict] = []
    by_id = {n.id: n for n in graph.nodes}
    produced_by = {e.dst: e.src for e in graph.edges if e.src.startswith("op")}
    inputs_of: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.dst.startswith("op"):
            inputs_of.setdefault(e.dst, []).append(e.src)
            consumers.setdefault(e.src, []).append(e.dst)
    step_of = {s.node: s for s in graph.steps}
    outputs_of: dict[str, list[str]] = {}
    for t, op in produced_by.items():
        outputs_of.setdefault(op, []).append(t)
    ran = bool(graph.steps)

    # 1. leaves in the graph whose grad is all zeros: find where the gradient died
    for leaf in graph.nodes:
        if not (leaf.kind == "tensor" and leaf.is_leaf and leaf.requires_grad and not leaf.constant):
            continue
        if not ran or not _all_zero(leaf.grad, leaf.grad_summary):
            continue
        label = leaf.name or leaf.label or "a leaf"
        blocker = _blocker(leaf.id, consumers, outputs_of, step_of)
        if blocker is None:
            continue
        op = by_id[blocker]
        where = f" on line {op.line}" if op.line else ""
        where_ko = f"({op.line}번째 줄)" if op.line else ""
        if op.op in ("ReluBackward0", "ThresholdBackward0", "ReluBackward1"):
            inp = [by_id[i] for i in inputs_of.get(blocker, []) if i in by_id and not by_id[i].constant]
            shown = f" ({inp[0].name})" if inp and inp[0].name else ""
            out.append({"id": "dead_relu", "node": leaf.id, "op": blocker,
                        "title": f"Dead ReLU: {label}.grad is all zeros",
                        "title_ko": f"죽은 ReLU: {label}.grad가 모두 0",
                        "en": f"{label}.grad is all zeros: every input of the ReLU{where}{shown} was "
                              f"<= 0, so the ReLU passed back 0 everywhere (a dead ReLU) and no gradient "
                              f"reaches {label}. Fix: start from other weights (a different seed or "
                              f"initialisation), use a smaller learning rate, or try LeakyReLU.",
                        "ko": f"{label}.grad가 모두 0입니다. ReLU{where_ko}의 입력{shown}이 전부 0 이하라서 "
                              f"ReLU가 모든 자리에 0을 돌려보냈고(죽은 ReLU), {label}까지 기울기가 오지 "
                              f"않습니다. 해결: 다른 초깃값(시드나 초기화)으로 시작하거나, 학습률을 줄이거나, "
                              f"LeakyReLU를 써 보세요."})
        else:
            fop = op.forward_op or op.op
            out.append({"id": "zero_derivative", "node": leaf.id, "op": blocker,
                        "title": f"{label}.grad is all zeros",
                        "title_ko": f"{label}.grad가 모두 0",
                        "en": f"{label}.grad is all zeros: the gradient becomes 0 at {fop}{where}, whose "
                              f"local derivative is 0 at these values, so nothing reaches {label}.",
                        "ko": f"{label}.grad가 모두 0입니다. {fop}{where_ko}의 국소 미분값이 이 값들에서 0이라, "
                              f"기울기가 거기서 0이 되어 {label}까지 오지 않습니다."})

    # 2. constants of the graph made under no_grad or by detach
    made = _grad_free_text(source) if source else {}
    in_graph = {n.name for n in graph.nodes if n.kind == "tensor" and n.name and not n.constant}
    leaves = _requires_grad_names(source) if source else frozenset()

    def wants_grad(var: str) -> bool:  # a leaf the user asked gradients for, or a model
        return var in leaves or any(m.startswith(var + ".") for m in in_graph)

    explained: set[str] = set()
    for n in graph.nodes:
        if not (n.kind == "tensor" and n.constant and n.name in made):
            continue
        kind, line, sources = made[n.name]
        sources = [s for s in sources if s != n.name]
        if not any(wants_grad(s) for s in sources):
            continue  # data prepared without gradients on purpose
        sources = [s for s in sources if wants_grad(s)]
        missing = [s for s in sources if s not in in_graph]
        explained.update(sources)
        src = ", ".join(sources) or "the tensors it came from"
        tail_en = f" {', '.join(m + '.grad' for m in missing)} stays None." if missing else ""
        tail_ko = f" 그래서 {', '.join(m + '.grad' for m in missing)}은(는) None으로 남습니다." if missing else ""
        if kind == "no_grad":
            en = (f"{n.name} was computed inside torch.no_grad() (line {line}), so autograd did not "
                  f"record it: here it is a constant, and no gradient flows back through it to "
                  f"{src}.{tail_en} Fix: compute {n.name} outside torch.no_grad() if gradients "
                  f"should reach {src}.")
            ko = (f"{n.name}은(는) torch.no_grad() 안({line}번째 줄)에서 계산되어 autograd가 기록하지 "
                  f"않았습니다. 여기서는 상수라서 기울기가 {n.name}을(를) 지나 {src}까지 흐르지 "
                  f"않습니다.{tail_ko} 해결: 기울기가 {src}까지 가야 한다면 {n.name}을(를) "
                  f"torch.no_grad() 밖에서 계산하세요.")
        else:
            en = (f"{n.name} comes from .detach() (line {line}): a copy cut off from the graph, so "
                  f"gradients stop at {n.name} and never reach {src}.{tail_en} Fix: use {src} "
                  f"itself (without .detach()) where gradients should flow.")
            ko = (f"{n.name}은(는) .detach()({line}번째 줄)로 만든, 그래프에서 떨어진 복사본입니다. "
                  f"기울기는 {n.name}에서 멈추고 {src}까지 가지 않습니다.{tail_ko} 해결: 기울기가 "
                  f"흘러야 하는 곳에서는 .detach() 없이 {src}을(를) 그대로 쓰세요.")
        out.append({"id": kind, "node": n.id, "en": en, "ko": ko,
                    "title": f"No gradient flows through {n.name}",
                    "title_ko": f"{n.name}을(를) 지나 기울기가 흐르지 않습니다"})

    # 3. a leaf used on a line of this graph, detached there, and missing from the graph
    for n in graph.nodes:
        if n.kind != "op" or not n.source:
            continue
        for var in re.findall(r"([A-Za-z_]\w*)\s*\.\s*(?:detach\s*\(\s*\)|data\b)", n.source):
            if var in in_graph or var in explained or var not in leaves:
                continue
            explained.add(var)
            why = ".detach()" if re.search(rf"\b{var}\s*\.\s*detach", n.source) else ".data"
            en = (f"Line {n.line} uses {var}{why}: a copy cut off from the graph, so {var} is not "
                  f"in it and gets no gradient from here ({var}.grad stays None)."
                  + f" Fix: use {var} itself where gradients should flow.")
            ko = (f"{n.line}번째 줄은 {var}{why}를 씁니다. 그래프에서 떨어진 복사본이라 {var}은(는) 그래프에 "
                  f"없고 여기서 기울기를 받지 못합니다({var}.grad는 None으로 남습니다)."
                  + f" 해결: 기울기가 흘러야 하는 곳에서는 {var}을(를) 그대로 쓰세요.")
            out.append({"id": "detach", "node": n.id, "en": en, "ko": ko,
                        "title": f"{var}.detach() cuts {var} out of the graph",
                        "title_ko": f"{var}.detach()가 {var}을(를) 그래프에서 떼어 냅니다"})
    return out


def _blocker(leaf: str, consumers: dict, outputs_of: dict, step_of: dict) -> str | None:
    """The op nearest the output, on a path from `leaf`, that got a gradient but passed on zeros."""
    # every op reachable forward from the leaf
    reach: list[str] = []
    stack, seen = [leaf], set()
    while stack:
        nid = stack.pop()
        for op in consumers.get(nid, []):
            if op in seen:
                continue
            seen.add(op)
            reach.append(op)
            stack.extend(outputs_of.get(op, []))
    best = None
    for op in reach:
        s = step_of.get(op)
        if s is None:
            continue
        got = any(not _all_zero(g, gs) for g, gs in zip(s.grad_outputs, s.grad_output_summaries or
                                                        [None] * len(s.grad_outputs)))
        sent = [gi for gi in s.grad_inputs if gi.edge_to]
        if got and sent and all(_all_zero(gi.grad, gi.summary) for gi in sent):
            if best is None or step_of[op].index < step_of[best].index:
                best = op  # the first such step in engine order: closest to the output
    return best


def _all_zero(value: Any, summary: dict | None) -> bool:
    if value is None:
        if summary:
            return summary.get("min") == 0 and summary.get("max") == 0
        return False
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif v != 0:
            return False
    return True


# --- reading the script's text --------------------------------------------------------

def _grad_free(path: str) -> dict[str, tuple[str, int, list[str]]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return _grad_free_text(f.read())
    except OSError:
        return {}


@lru_cache(maxsize=32)
def _grad_free_text(source: str) -> dict[str, tuple[str, int, list[str]]]:
    """name -> ("no_grad" | "detach", line, names on the right-hand side), from the source."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    out: dict[str, tuple[str, int, list[str]]] = {}

    def assigned(node: ast.AST) -> list[tuple[str, ast.AST, int]]:
        if isinstance(node, ast.Assign):
            return [(t.id, node.value, node.lineno) for t in node.targets if isinstance(t, ast.Name)]
        if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            return [(node.target.id, node.value, node.lineno)]
        return []

    def rhs_names(value: ast.AST) -> list[str]:
        names = []
        for sub in ast.walk(value):
            if isinstance(sub, ast.Name) and sub.id not in ("torch", "F", "nn", "np") \
                    and sub.id not in names:
                names.append(sub.id)
        return names

    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(_is_no_grad(i.context_expr) for i in node.items):
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    for name, value, line in assigned(sub):
                        out[name] = ("no_grad", line, rhs_names(value))
    for node in ast.walk(tree):
        for name, value, line in assigned(node):
            for sub in ast.walk(value):
                if isinstance(sub, ast.Attribute) and (
                        sub.attr == "data" or (sub.attr == "detach")):
                    inner = sub.value
                    src = [inner.id] if isinstance(inner, ast.Name) else rhs_names(inner)
                    out.setdefault(name, ("detach", line, src))
                    break
    return out


def _is_no_grad(expr: ast.AST) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    f = expr.func
    fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    if fname in ("no_grad", "inference_mode"):
        return True
    if fname == "set_grad_enabled" and expr.args:
        a = expr.args[0]
        return isinstance(a, ast.Constant) and a.value is False
    return False


@lru_cache(maxsize=32)
def _requires_grad_names(source: str) -> frozenset[str]:
    names = set(re.findall(r"^\s*([A-Za-z_]\w*)\s*=.*requires_grad\s*=\s*True", source, re.M))
    names |= set(re.findall(r"([A-Za-z_]\w*)\s*\.\s*requires_grad_\s*\(", source))
    names |= set(re.findall(r"([A-Za-z_]\w*)\s*\.\s*requires_grad\s*=\s*True", source))
    return frozenset(names)


def _inplace_edit(path: str, name: str) -> tuple[int, str] | None:
    """The last line of the script that changes `name` in place: (line, text)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    n = re.escape(name)
    rx = re.compile(rf"(^|[^\w.]){n}\s*(\[[^\]]*\])?\s*(\+|-|\*|/|//|%|\*\*|@)=|"
                    rf"(^|[^\w.]){n}\s*\[[^\]]*\]\s*=(?!=)|"
                    rf"(^|[^\w.]){n}(\[[^\]]*\])?\s*\.\s*(?!requires_grad_|share_memory_)\w+_\s*\(")
    last = None
    for i, text in enumerate(lines, 1):
        code = text.split("#", 1)[0]
        if rx.search(code):
            last = (i, text.strip())
    return last


def _forward(cls_name: str) -> str:
    base = re.sub(r"Backward\d*$", "", cls_name)
    return base.lower() or cls_name


def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text or "")]


def _size(n: int) -> str:
    for unit, k in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"


# --- broadcasting shapes, aligned from the right ----------------------------------------

def broadcast_conflicts(a: list[int], b: list[int]) -> list[int]:
    """Dimensions (counted in the broadcast shape) where a and b cannot be broadcast."""
    n = max(len(a), len(b))
    pa, pb = [1] * (n - len(a)) + list(a), [1] * (n - len(b)) + list(b)
    return [i for i in range(n) if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1]


def align_shapes(rows: list[tuple[str, list[int]]], lang: str = "en") -> str:
    """Shapes lined up from the right, with ^ under each dimension that cannot broadcast.

        x: [2, 3]
        b:    [4]
               ^ dimension 1: 3 vs 4 (neither is 1)
    """
    n = max((len(s) for _, s in rows), default=0)
    padded = [[None] * (n - len(s)) + [int(d) for d in s] for _, s in rows]
    widths = [max((len(str(p[j])) for p in padded if p[j] is not None), default=1) for j in range(n)]
    label_w = max((len(label) for label, _ in rows), default=0) + 2
    starts, pos = [], label_w + 1
    for w in widths:
        starts.append(pos)
        pos += w + 2
    lines = []
    for (label, shape), p in zip(rows, padded):
        chars = [" "] * (pos + 1)
        chars[: len(label) + 1] = list(label + ":")
        present = [j for j in range(n) if p[j] is not None]
        if not present:
            chars[label_w: label_w + 2] = list("[]")
        for k, j in enumerate(present):
            text = str(p[j]).rjust(widths[j])
            chars[starts[j]: starts[j] + len(text)] = list(text)
            if k == 0:
                chars[starts[j] + len(text) - len(text.lstrip()) - 1] = "["
            if k + 1 < len(present):
                chars[starts[j] + widths[j]] = ","
            else:
                chars[starts[j] + widths[j]] = "]"
        lines.append("    " + "".join(chars).rstrip())
    bad = broadcast_conflicts(*(s for _, s in rows[:2])) if len(rows) >= 2 else []
    if bad:
        chars = [" "] * (pos + 1)
        for j in bad:
            chars[starts[j] + widths[j] - 1] = "^"
        j = bad[0]
        pair = [p[j] for p in padded[:2]]
        if lang == "ko":
            detail = f"차원 {j}(오른쪽에서 {n - j}번째): {pair[0]} 대 {pair[1]}, 둘 다 1이 아님"
        else:
            detail = (f"dimension {j} ({_ordinal(n - j)} from the right): "
                      f"{pair[0]} vs {pair[1]}, and neither is 1")
        lines.append("    " + "".join(chars).rstrip() + " " + detail)
    return "\n".join(lines)


def _ordinal(k: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


__all__ = ["explain_error", "explain_warning", "explain_dead_grads", "dead_grad_findings",
           "watch", "align_shapes", "broadcast_conflicts"]
