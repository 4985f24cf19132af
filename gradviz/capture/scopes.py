"""The nn.Modules a graph's ops ran in: qualified names and Graph.modules.

Filled while capture/graph.py walks a graph: each op's module chain, as the forward
log saw it, becomes a path of module names that the pictures collapse and fold by.
"""
from __future__ import annotations

from typing import Any

from gradviz.capture.forward import OpCall
from gradviz.names import Names


class Scopes:
    """Qualified names of the nn.Modules ops ran in, and Graph.modules.

    Graph.modules[name] = {"class", "params" (all parameters, nested ones too),
    "parent" (the module it was called from, or None), "calls" (how many calls
    of it made ops in this graph), and, when calls > 1, "call_of": node id ->
    0-based call (op nodes and the tensors they made), so an unrolled cell's
    steps stay apart}. A module the user never named gets its path below the
    nearest enclosing module that has a name, or below its class name.
    """

    def __init__(self, names: Names):
        self.names = names
        self.qualified: dict[int, str] = {}
        self.modules: dict[str, dict] = {}
        self.chain: dict[str, list[tuple[str, int | None]]] = {}  # op id -> (module, call no.)

    def add(self, op_id: str, call: OpCall) -> str | None:
        scope = call.scope
        if not scope:
            return None
        numbers = getattr(call, "calls", ()) or ()
        parent = None
        chain = []
        for i, m in enumerate(scope):
            q = self._name(m, scope[i - 1] if i else None, parent)
            if q not in self.modules:
                self.modules[q] = {"class": type(m).__name__, "params": _param_count(m),
                                   "parent": parent}
            chain.append((q, numbers[i] if i < len(numbers) else None))
            parent = q
        self.chain[op_id] = chain
        return parent

    def inherit(self, op_id: str, consumer: str | None) -> str | None:
        """An op the forward log never saw takes the scope of the op that consumed it."""
        chain = self.chain.get(consumer) if consumer else None
        if not chain:
            return None
        self.chain[op_id] = chain
        return chain[-1][0]

    def _name(self, m: Any, outer: Any, outer_name: str | None) -> str:
        q = self.names.modules.get(id(m)) or self.qualified.get(id(m))
        if q is not None:
            return q
        if outer is not None and outer_name is not None:
            try:
                for sub_name, sub in outer.named_modules(prefix=outer_name):
                    self.qualified.setdefault(id(sub), sub_name)
            except Exception:  # a half-built module: names are a nicety
                pass
        q = self.qualified.get(id(m))
        if q is None:
            q = f"{outer_name}.{type(m).__name__}" if outer_name else type(m).__name__
            self.qualified[id(m)] = q
        return q

    def finish(self, made_by: dict[str, str]) -> dict[str, dict]:
        """Graph.modules, complete; made_by: tensor id -> the op that made it."""
        calls_of: dict[str, dict[str, int]] = {}  # module -> op id -> call number
        for op_id, chain in self.chain.items():
            for q, number in chain:
                if number is not None:
                    calls_of.setdefault(q, {})[op_id] = number
        for q, info in self.modules.items():
            per_node = calls_of.get(q, {})
            order = {c: k for k, c in enumerate(sorted(set(per_node.values())))}
            info["calls"] = max(1, len(order))
            if len(order) > 1:
                call_of = {nid: order[c] for nid, c in per_node.items()}
                for t, op in made_by.items():
                    if op in call_of:
                        call_of[t] = call_of[op]
                info["call_of"] = call_of
        return self.modules


def _param_count(m: Any) -> int:
    try:
        own = getattr(m, "_parameters", None)
        if own is not None and not getattr(m, "_modules", None):  # a leaf module: no walk
            return sum(p.numel() for p in own.values() if p is not None)
        return sum(p.numel() for p in m.parameters())
    except Exception:
        return 0
