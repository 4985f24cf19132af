"""Run a script under PyTorch alone and write what autograd did, for tests/real.

`python plain_run.py OUT.json SCRIPT [ARGS...]`: the script runs as `python SCRIPT` would run
it (runpy, __main__, its own folder first on sys.path). Every outermost
torch.autograd.backward call (Tensor.backward goes through it) is logged with its
root's value and the .grad of every leaf its graph reaches, read right after the
call; every outermost torch.autograd.grad call with what it returned. Nothing of
gradviz is imported: this is the reference the recording is compared with.
"""
from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
from typing import Any

import torch


def _numbers(t: torch.Tensor) -> Any:
    t = t.detach()
    return (t.to_dense() if t.layout != torch.strided else t).tolist()


def _leaves(roots: list) -> list:
    """The leaf tensors that the roots' graphs accumulate into, each once."""
    seen, leaves, todo = set(), [], [r.grad_fn for r in roots if r.grad_fn is not None]
    while todo:
        fn = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        var = getattr(fn, "variable", None)
        if isinstance(var, torch.Tensor):
            leaves.append(var)
        todo.extend(f for f, _ in fn.next_functions)
    return leaves


def main(out_path: str, script: str, args: list) -> int:
    log: dict = {"backward": [], "grad": [], "error": None}
    original_backward, original_grad = torch.autograd.backward, torch.autograd.grad
    inside = [False]

    def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        if inside[0]:
            return original_backward(tensors, *args, **kwargs)
        roots = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
        loss = roots[0].item() if roots and roots[0].numel() == 1 else None
        leaves = _leaves(roots)
        inside[0] = True
        try:
            result = original_backward(tensors, *args, **kwargs)
        finally:
            inside[0] = False
        log["backward"].append({"loss": loss, "grads": [
            {"shape": list(t.shape), "grad": _numbers(t.grad)} for t in leaves
            if t.grad is not None]})
        return result

    def grad(*args: Any, **kwargs: Any) -> Any:
        if inside[0]:
            return original_grad(*args, **kwargs)
        inside[0] = True
        try:
            result = original_grad(*args, **kwargs)
        finally:
            inside[0] = False
        log["grad"].append([None if r is None else _numbers(r) for r in result])
        return result

    torch.autograd.backward, torch.autograd.grad = backward, grad
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    rc = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # the script's own error, as python would end with it
        traceback.print_exc()
        log["error"] = {"type": type(e).__name__, "message": str(e)}
        rc = 1
    with open(out_path, "w") as f:
        json.dump(log, f)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
