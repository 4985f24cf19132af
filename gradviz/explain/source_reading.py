"""Read the script's own text (ast and regex) for what a traceback or a graph cannot tell.

Which names were computed under torch.no_grad() or come from .detach(), which
tensors the script asked gradients for, the loop around a line, the last line
that changes a name in place. Used by exceptions.py and dead_grads.py. Text in,
plain data out: no torch.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache

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


def last_zero_grad(path: str, line: int) -> tuple[int, str] | None:
    """The last `.zero_grad(...)` call before `line` in the script: (its line, the call), or None.

    A zero_grad(set_to_none=False) fills the grads with zeros instead: it is not counted.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()[: max(0, line - 1)]
    except OSError:
        return None
    for no in range(len(lines), 0, -1):
        m = re.search(r"[\w.\]\)]*\.zero_grad\s*\([^)]*\)", lines[no - 1].split("#", 1)[0])
        if m and not re.search(r"set_to_none\s*=\s*False", m.group()):
            return no, m.group()
    return None


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
