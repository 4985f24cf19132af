"""Explain a script's exception: what went wrong and how to fix it, in English and Korean.

`explain_error(info, exc, graph)` fills an ErrorInfo's explanation (English and
Korean), its hint, and, when the culprit can be found, `info.node`: a node id of
the last recorded graph. It reads the exception message (the catalogue of
mistakes in gradviz.explain.mistakes) and what is left of the failing call in the
traceback (scene.py): the user's variables and the torch function and arguments
that gradviz's forward log (or torch's device mode) saw, so it can name tensors
and show shapes. One detail function per mistake fills the values its texts need.
It never raises.

torch is never imported here: live tensors are only met in a traceback.
"""
from __future__ import annotations

import re
from typing import Any

from gradviz.explain.mistakes import VARIANTS, Mistake, find
from gradviz.explain.scene import _dtype, _is_tensor, _Scene, _shape, _short
from gradviz.explain.shapes import align_shapes, broadcast_conflicts
from gradviz.explain.source_reading import _grad_free, _inplace_edit, _loop_around, last_zero_grad
from gradviz.opnames import forward_name
from gradviz.recording import ErrorInfo, Graph
from gradviz.words import N_, both

Pair = tuple[str, str]  # (English, Korean), from gradviz.words.both

__all__ = ["explain_error"]


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
    values.update({k: "" for k in _OPTIONAL}, line=info.line or "?")
    detail = _DETAILS.get(mistake.id)
    if detail is not None:
        found = detail(scene, values, match)
        if found is False:  # the regex matched, but the scene says it is something else
            return
        mistake = found or mistake
    name = values.get("name")
    values["var"] = name if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][\w.]*", name) else "x"
    if name is None:
        values["name"] = both(N_("the tensor"))
    info.explanation, info.explanation_ko = (_tidy(t) for t in both(mistake.en, **values))
    info.hint, info.hint_ko = (_tidy(t) for t in both(mistake.fix, **values))
    if graph is not None and info.node is None:
        info.node = _culprit(mistake.id, values, graph, info)


# Parts of a sentence that are simply left out when nothing is known about them.
_OPTIONAL = ("why", "view_note", "named", "op_on", "alloc", "changed_by", "input_name", "made_by", "reused")


def _tidy(text: str) -> str:
    lines = text.split("\n")
    return "\n".join([re.sub(r"  +", " ", lines[0]).strip()] + lines[1:])


def _describe(scene: _Scene, t: Any, fallback: Pair) -> Pair:
    """`x (shape [2, 3])`, or `a tensor of shape [2, 3]`."""
    if not _is_tensor(t):
        return fallback
    name = scene.name_of(t)
    if name:
        return both(N_("{name} (shape {shape})"), name=name, shape=_shape(t))
    return both(N_("a tensor of shape {shape}"), shape=_shape(t))


_OPS = {"__add__": "+", "__radd__": "+", "add": "+", "__sub__": "-", "__rsub__": "-", "sub": "-",
        "__mul__": "*", "__rmul__": "*", "mul": "*", "__truediv__": "/", "__rtruediv__": "/",
        "div": "/", "__matmul__": "@", "__rmatmul__": "@", "matmul": "@", "__pow__": "**",
        "__setitem__": "[...] =", "add_": "+=", "sub_": "-=", "mul_": "*=", "div_": "/="}


def _op_label(scene: _Scene) -> Pair:
    name = scene.func_name
    if not name:
        return both(N_("The operation{where}"), where=scene.where())
    en, ko = scene.where()
    return f"`{_OPS.get(name, name)}`{en}", f"`{_OPS.get(name, name)}`{ko}"


# --- one detail function per mistake: fill the values its texts need ----------------

def _root(scene: _Scene) -> Any:
    if scene.func_name == "backward" and scene.tensors():
        return scene.tensors()[0]
    return None


def _receiver(scene: _Scene, t: Any, method: str, receiver: str = r"[A-Za-z_][\w.]*") -> str | None:
    """What the learner calls t: its name, else the text the failing line calls `.method(` on."""
    name = scene.name_of(t)
    if name is None:
        m = re.search(rf"({receiver})\s*\.\s*{re.escape(method)}\s*\(", scene.text)
        name = m.group(1) if m else None
    return name


def _root_name(scene: _Scene, values: dict) -> Any:
    root = _root(scene)
    name = _receiver(scene, root, "backward", r"[\w.\[\]]+")
    if name is not None:
        values["name"] = name
    return root


def _backward_no_grad(scene: _Scene, values: dict, match: re.Match) -> None:
    root = _root_name(scene, values)
    name = values.get("name")
    made = _grad_free(scene.info.file).get(name) if scene.info.file else None
    if root is not None and not (root.is_floating_point() or root.is_complex()):
        values["why"] = both(N_("It holds integers ({dtype}), and integer tensors never require grad."),
                             dtype=_dtype(root))
    elif made is not None and made[0] == "no_grad":
        values["why"] = both(N_("It was computed inside torch.no_grad() (line {line}), where nothing is "
                                "recorded."), line=made[1])
    elif made is not None:
        values["why"] = both(N_("It comes from .detach() (line {line}), which cuts it off from the graph."),
                             line=made[1])
    else:
        values["why"] = both(N_("None of the tensors it was computed from has requires_grad=True "
                                "(or it was made under torch.no_grad() or with .detach())."))


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
    values["reused"] = both(N_(" Here {label} (line {line}) is computed once, outside the loop on line "
                               "{loop}: every iteration goes back through its graph, which the first "
                               "backward() freed. Compute it inside the loop."),
                            label=label, line=n.line, loop=loop[0])


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
    values["op"] = (both(N_("`{code}` (line {line})"), code=_short(scene.text), line=scene.info.line)
                    if scene.text else f"`{op}`")
    if match.group("view"):
        values["view_note"] = both(N_(" (through a view of it, such as an indexed part)"))


_TYPE_DTYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
                "BFloat16Tensor": "bfloat16", "LongTensor": "int64", "IntTensor": "int32"}


def _inplace_saved(scene: _Scene, values: dict, match: re.Match) -> None:
    version, shape = int(match.group("version")), _ints(match.group("shape"))
    op = match.group("op")
    dtype = _TYPE_DTYPES.get(match.group("tensor_type").split(".")[-1], match.group("tensor_type"))
    values["desc"] = both(N_("shape {shape}, {dtype}"), shape=shape, dtype=dtype)
    if op not in ("CopySlices", "AsStridedBackward0", "AsStridedBackward1"):
        values["made_by"] = both(N_(", output {n} of {op}"), n=match.group("output_nr"), op=op)
    # the live tensor: the user's tensor at that version, of that shape
    cands = [(n, t) for n, t in scene.user_tensors()
             if getattr(t, "_version", None) == version and _shape(t) == shape]
    best = [(n, t) for n, t in cands if type(t.grad_fn).__name__.startswith(op + "Backward")]
    pick = (best or cands)[0] if len(best) == 1 or (not best and len(cands) == 1) else None
    if pick is None:
        return
    name, t = pick
    values["name"] = name
    values["changed_by"] = ""
    edit = _inplace_edit(scene.info.file, name) if scene.info.file else None
    if edit is not None:
        values["changed_by"] = both(N_("by `{code}` on line {line}"), code=_short(edit[1]), line=edit[0])
    else:
        now = type(t.grad_fn).__name__ if t.grad_fn is not None else ""
        if now and not now.startswith(op + "Backward"):
            what = "an indexed assignment" if now == "CopySlices" else f"an in-place {forward_name(now)}_"
            values["changed_by"] = both(N_("by {what}"), what=what)


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
    name = _receiver(scene, scene.tensors()[0] if scene.tensors() else None, match.group("func"))
    if name:
        values["name"] = name
        values["named"] = both(N_(" (here {name} holds {dtype})"), name=name, dtype=values["dtype"])


def _broadcast(scene: _Scene, values: dict, match: re.Match) -> None:
    sa, sb, dim = int(match.group("sa")), int(match.group("sb")), int(match.group("dim"))
    values["op"] = _op_label(scene)
    ts = [t for t in scene.tensors()]
    pair = _conflicting_pair(ts, sa, sb, dim)
    if pair is None:
        values["a"], values["b"] = both(N_("tensor a")), both(N_("tensor b"))
        en, ko = both(N_("dimension {dim}: {sa} vs {sb}"), dim=dim, sa=sa, sb=sb)
        values["aligned"] = ("    " + en, "    " + ko)
        return
    a, b = pair
    values["a"] = _describe(scene, a, both(N_("tensor a")))
    values["b"] = _describe(scene, b, both(N_("tensor b")))
    rows = [(scene.name_of(a) or "a", _shape(a)), (scene.name_of(b) or "b", _shape(b))]
    values["aligned"] = (align_shapes(rows), align_shapes(rows, lang="ko"))


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


def _matmul(scene: _Scene, values: dict, match: re.Match) -> Mistake | None:
    values["op_on"] = scene.where()
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
    name = _receiver(scene, scene.tensors()[0] if scene.tensors() else None, "numpy")
    if name:
        values["name"] = name


def _memory(scene: _Scene, values: dict, match: re.Match) -> None:
    m = re.search(r"tried to allocate (\d+) bytes", str(match.string))
    if m:
        size = _size(int(m.group(1)))
        values["alloc"] = both(N_(" (one allocation asked for {size})"), size=size)


def _grad_none(scene: _Scene, values: dict, match: re.Match) -> Mistake | bool | None:
    found = re.findall(r"([A-Za-z_][\w.]*)\.grad\b", scene.text)
    if not found:
        return False
    values["name"] = found[0]
    info = scene.info
    reset = last_zero_grad(info.file, info.line) if info.file and info.line else None
    if reset is None:
        return None
    values["zero_line"], values["zero_grad"] = reset
    return VARIANTS["grad_none/zero_grad"]


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


# --- small helpers for the texts above ------------------------------------------------

def _ints(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text or "")]


def _size(n: int) -> str:
    for unit, k in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"
