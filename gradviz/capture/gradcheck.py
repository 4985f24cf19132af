"""Check autograd's leaf gradients against finite differences, for small graphs.

A recorded Graph is plain data and cannot be run again, so a check needs the code
once more: something that rebuilds the scalar from its leaves.

    import gradviz
    w = torch.tensor(1.0, requires_grad=True)

    gradviz.gradcheck(lambda: (w * 3) ** 2)          # leaves found from the graph: w
    gradviz.gradcheck(lambda w: (w * 3) ** 2, w)     # or passed as arguments
    check_leaf_grads(lambda: loss(), {"w": w, "b": b})

    results = gradviz.gradcheck(build)
    print(format_checks(results))                    # w: autograd 18, numeric 18 (|Δ| 2e-10) ✓
    graph.checks = results                           # plain data: kept in the Recording

Each result is a dict of plain data:
    {"name": "w", "shape": [..], "autograd": nested list or number, "numeric": same,
     "max_abs_diff": float, "ok": bool, "dtype": "float64", "eps": 1e-06,
     "summed": None or how many output elements were summed into one number}
and a leaf with more than `max_elements` elements comes back as
    {"name", "shape", "skipped": True, "ok": None, "limit": max_elements}.
`gradviz.gradcheck` adds a `note` in words to each (gradviz.explain.checks_text).

How it works: every floating leaf is switched to float64 (its `.data` swapped, the
default dtype set to float64 too) and the build is run once with autograd and twice
per element with that element moved by ±eps (central differences). When the build
cannot run in float64 (a float32 weight it does not get from `leaves`, a device with
no float64), it runs in the leaves' own dtype with eps = 1e-3 and looser tolerances.
The random generator is reseeded before every run, so dropout and torch.randn inside
the build give the same numbers each time. Leaves, their `.grad` and the default
dtype are restored afterwards.

This module runs torch, so it lives in capture; the words for its results
(format_checks) live in gradviz.explain.checks_text, which needs no torch.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import torch

from gradviz.capture.graph import grad_fns
from gradviz.names import Names
from gradviz.user_code import nearest_user_frame


__all__ = ["check_leaf_grads", "gradcheck", "find_leaves", "MAX_ELEMENTS"]

MAX_ELEMENTS = 64  # the largest leaf checked element by element


def gradcheck(fn: Callable[..., torch.Tensor], *leaves: torch.Tensor,
              names: list[str] | None = None, **options: Any) -> list[dict]:
    """Finite-difference check of fn's gradients: `gradcheck(fn, x, y)` or `gradcheck(build)`.

    With leaves, `fn(*leaves)` is checked with respect to them (named after the
    caller's variables when it has some); without, `fn()` is run once and the leaves
    are the tensors its graph accumulates gradients into. Options go to
    `check_leaf_grads` (eps, max_elements, rtol, atol).
    """
    if not leaves:
        return check_leaf_grads(fn, None, **options)
    if names is None:
        names = _caller_names(list(leaves), inspect.currentframe())
    named = dict(zip(_unique(names), leaves))
    return check_leaf_grads(lambda: fn(*leaves), named, **options)


def check_leaf_grads(build: Callable[[], torch.Tensor],
                     leaves: dict[str, torch.Tensor] | None = None, eps: float = 1e-6,
                     max_elements: int = MAX_ELEMENTS, rtol: float = 1e-5,
                     atol: float = 1e-7) -> list[dict]:
    """Compare autograd's gradient of `build()` with central differences, per leaf.

    `build` takes no arguments and returns the scalar (a tensor with more than one
    element is summed, with a note). `leaves` maps names to the tensors to check;
    None finds them (see find_leaves).
    """
    if leaves is None:
        leaves = find_leaves(build)
    items = [(name, t) for name, t in leaves.items() if isinstance(t, torch.Tensor)]
    saved = [(t, t.data, t.grad) for _, t in items]
    old_default = torch.get_default_dtype()
    try:
        try:
            _switch(items, torch.float64)
            torch.set_default_dtype(torch.float64)
            return _check(build, items, eps, max_elements, rtol, atol, "float64")
        except (RuntimeError, TypeError):
            pass  # the build mixes in float32 it was not given, or float64 is not there
        _restore(saved)
        torch.set_default_dtype(old_default)
        loose = max(eps, 1e-3)
        return _check(build, items, loose, max_elements, max(rtol, 2e-2), max(atol, 1e-3),
                      str(items[0][1].dtype).replace("torch.", "") if items else "")
    finally:
        _restore(saved)
        torch.set_default_dtype(old_default)


def find_leaves(build: Callable[[], torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors build()'s graph accumulates gradients into, named from its code."""
    with torch.enable_grad():
        out = _run(build)
    found: list[torch.Tensor] = [out] if out.grad_fn is None and out.requires_grad else []
    seen: set[int] = set()
    for fn in grad_fns([out.grad_fn]):
        var = getattr(fn, "variable", None)  # an AccumulateGrad's leaf
        if isinstance(var, torch.Tensor) and id(var) not in seen:
            seen.add(id(var))
            found.append(var)
    names = _names_in(build, found)
    return dict(zip(_unique(names), found))


# ---------------------------------------------------------------------------------------


def _check(build, items, eps, max_elements, rtol, atol, dtype_name) -> list[dict]:
    tensors = [t for _, t in items]
    for t in tensors:
        t.grad = None
    with torch.enable_grad():
        out = _run(build)
        summed = out.numel() if out.numel() != 1 else None
        if summed is not None:
            out = out.sum()
        grads = torch.autograd.grad(out.reshape(()), tensors, allow_unused=True) \
            if out.requires_grad else [None] * len(tensors)
    results = []
    for (name, t), g in zip(items, grads):
        shape = list(t.shape)
        if t.numel() > max_elements:
            results.append({"name": name, "shape": shape, "skipped": True, "ok": None,
                            "limit": max_elements})
            continue
        auto = (g if g is not None else torch.zeros_like(t)).detach().double()
        numeric = torch.zeros(t.shape, dtype=torch.float64)
        with torch.no_grad():
            for k in range(t.numel()):
                idx = tuple(int(v) for v in _unravel(k, shape))
                orig = t.data[idx].item()
                t.data[idx] = orig + eps
                f_plus = _value(build)
                t.data[idx] = orig - eps
                f_minus = _value(build)
                t.data[idx] = orig
                numeric[idx] = (f_plus - f_minus) / (2 * eps)
        diff = (auto.cpu() - numeric).abs()
        max_diff = float(diff.max()) if diff.numel() else 0.0
        scale = float(numeric.abs().max()) if numeric.numel() else 0.0
        ok = bool(max_diff <= atol + rtol * scale) and not bool(torch.isnan(auto).any())
        results.append({"name": name, "shape": shape, "autograd": auto.cpu().tolist(),
                        "numeric": numeric.tolist(), "max_abs_diff": max_diff, "ok": ok,
                        "dtype": dtype_name, "eps": eps, "summed": summed})
    return results


def _run(build):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        out = build()
    if not isinstance(out, torch.Tensor):
        out = torch.as_tensor(out)
    return out


def _value(build) -> float:
    return float(_run(build).sum().item())


def _switch(items, dtype) -> None:
    for _, t in items:
        if t.is_floating_point() and t.dtype != dtype:
            t.data = t.data.to(dtype)


def _restore(saved) -> None:
    for t, data, grad in saved:
        t.data = data
        t.grad = grad


def _unravel(k: int, shape: list[int]) -> list[int]:
    out = []
    for s in reversed(shape):
        out.append(k % s)
        k //= s
    return list(reversed(out))

def _unique(names: list[str]) -> list[str]:
    out, seen = [], set()
    for n in names:
        base, k = n, 1
        while n in seen:
            k += 1
            n = f"{base}_{k}"
        seen.add(n)
        out.append(n)
    return out


def _caller_names(tensors: list, frame) -> list[str]:
    """Names the calling code gave the tensors: gradcheck(f, w, b) -> ["w", "b"]."""
    f = nearest_user_frame(frame)
    names = Names.from_frames([f] if f is not None else [])
    return [names.name(t) or f"arg{i}" for i, t in enumerate(tensors)]


def _names_in(fn: Callable, tensors: list) -> list[str]:
    """Names of tensors in fn's closure and globals (module parameters as model.fc.weight)."""
    cells = {}
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, closure):
            try:
                cells[name] = cell.cell_contents
            except ValueError:
                continue
    names = Names([cells, getattr(fn, "__globals__", {}) or {}])
    return [names.name(t) or f"leaf{i}" for i, t in enumerate(tensors)]
