"""Views of big graphs: what to draw when there are too many nodes to read.

Pure data, no torch: a Graph goes in, a View (a smaller Graph plus the map from
every original node to the node that stands for it) comes out. The transforms:

- depth: ops inside nn.Modules nested deeper than `depth` become one node per
  module call that shows its name, class, parameter count and the shapes that
  go in and come out (depth 0: each top-level module is one node).
- fold: a run of identical module calls in a row (the 6 layers of an encoder,
  50 steps of an unrolled cell) becomes one node marked xN.
- budget: above `budget` visible nodes, the deepest depth that fits is chosen
  automatically; as a last resort, unnamed intermediate tensors are hidden
  (ops connect directly). The view says what it did, for the picture to show.
- fan-in split: a leaf read by many ops (a weight shared by 50 steps) is drawn
  once per use, every copy marked as the same tensor. One node with 50 edges
  makes `dot` run for minutes; 50 small copies lay out in milliseconds.

Module structure comes from Graph.modules (see capture/graph.py): class,
parameter count, parent and, for a module called more than once, which call
each node belongs to.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable

from gradviz.recording import Edge, Graph, Node
from gradviz.words import N_, tr

DEFAULT_BUDGET = 300  # visible nodes before a graph collapses by itself
SPLIT_FANIN = 8  # a leaf read by more ops than this is drawn once per use


@dataclass
class View:
    """A graph ready to draw, and how it relates to the recorded one."""

    graph: Graph
    owner: dict[str, str]  # original node id -> the visible node drawn for it
    copies: dict[str, list[str]] = field(default_factory=dict)  # split leaf -> its copies
    depth: int | None = None  # module depth applied; None: every op of its own
    auto: bool = False  # the depth (or the hiding of tensors) was chosen by the budget
    folded: int = 0  # fold nodes made
    tensors_hidden: bool = False
    notices: list[str] = field(default_factory=list)
    total: int = 0  # nodes in the recorded graph

    def visible(self, node_id: str) -> list[str]:
        """The drawn node(s) that stand for an original node (several for a split leaf)."""
        if node_id in self.copies:
            return self.copies[node_id]
        v = self.owner.get(node_id)
        return [v] if v is not None else []


def make_view(
    graph: Graph,
    *,
    depth: int | None = None,
    budget: int | None = DEFAULT_BUDGET,
    fold: bool = False,
    split: int | None = SPLIT_FANIN,
    expand: Iterable[str] = (),
    lang: str = "en",
) -> View:
    """The view of `graph` to draw.

    depth: show module internals down to this nesting level (None: all).
    budget: with depth None, collapse to the deepest level that keeps at most
        this many visible nodes (None or 0: no limit).
    fold: fold runs of identical consecutive module calls into one node (xN).
    split: draw leaves read by more than this many ops once per use (None: never).
    expand: module names kept open whatever the depth (the app's "expand").
    """
    expand = frozenset(expand or ())
    total = len(graph.nodes)
    if depth is None and not fold and (not budget or total <= budget):
        v = _plain_view(graph, split)  # nothing to collapse: the common case, kept cheap
        v.total = total
        v.notices = _notices(v, budget, fold, None, lang)
        return v
    tree = _Tree(graph)
    v = _build(graph, tree, depth, fold, split, expand, hide_tensors=False)
    if depth is None and budget and _size(v) > budget:
        fitted = None
        for d in range(tree.max_depth - 1, -1, -1):
            cand = _build(graph, tree, d, fold, split, expand, hide_tensors=False)
            if _size(cand) <= budget:
                fitted = cand
                break
            fitted = cand  # the smallest so far, in case nothing fits
        if fitted is None or _size(fitted) > budget:
            d = fitted.depth if fitted is not None else None
            fitted = _build(graph, tree, d, fold, split, expand, hide_tensors=True)
        fitted.auto = True
        v = fitted
    v.total = total
    v.notices = _notices(v, budget, fold, tree, lang)
    return v


def _plain_view(graph: Graph, split: int | None) -> View:
    """Every node as recorded; only leaves with a high fan-in split."""
    owner = {n.id: n.id for n in graph.nodes}
    if split:
        uses: dict[str, int] = {}
        for e in graph.edges:
            uses[e.src] = uses.get(e.src, 0) + 1
        if uses and max(uses.values()) > split:
            v = View(graph=dataclasses.replace(graph, nodes=list(graph.nodes),
                                               edges=list(graph.edges)), owner=owner)
            _split_fanin(v, split)
            return v
    return View(graph=graph, owner=owner)


def _size(v: View) -> int:
    return len(v.graph.nodes)


# ---------------------------------------------------------------------------
# the module tree


class _Tree:
    """Which module call (group) each node sits in, outermost first."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.modules = graph.modules or {}
        self.chains: dict[str, list[str]] = {}  # node id -> group keys, outermost first
        self.groups: dict[str, dict] = {}  # group key -> {module, call, level, parent}
        self._module_chain: dict[str, list[str]] = {}
        ops = _op_ids(graph)
        produced = {e.dst for e in graph.edges if e.src in ops}
        for n in graph.nodes:
            if n.module:
                self.chains[n.id] = self._keys(n.id, n.module)
            elif n.kind == "tensor" and n.id not in produced and n.name:
                owner = self._param_owner(n.name)
                if owner is not None:
                    self.chains[n.id] = self._shared_keys(owner)
        self.max_depth = max((len(c) for c in self.chains.values()), default=0)

    def module_chain(self, path: str) -> list[str]:
        """The modules around `path` (itself last), by parent links or, lacking them, dots."""
        got = self._module_chain.get(path)
        if got is not None:
            return got
        if path in self.modules:
            chain, seen, m = [], set(), path
            while m is not None and m not in seen:
                seen.add(m)
                chain.append(m)
                m = (self.modules.get(m) or {}).get("parent")
            chain.reverse()
        else:
            parts = path.split(".")
            chain = [".".join(parts[: i + 1]) for i in range(len(parts))]
        self._module_chain[path] = chain
        return chain

    def calls(self, module: str) -> int:
        return int((self.modules.get(module) or {}).get("calls", 1) or 1)

    def _keys(self, node_id: str, path: str) -> list[str]:
        keys, parent = [], None
        for level, m in enumerate(self.module_chain(path)):
            info = self.modules.get(m) or {}
            call = 0
            if self.calls(m) > 1:
                call = int((info.get("call_of") or {}).get(node_id, 0))
                key = f"{m}#{call}"
            else:
                key = m
            if key not in self.groups:
                self.groups[key] = {"module": m, "call": call, "level": level, "parent": parent}
            keys.append(key)
            parent = key
        return keys

    def _param_owner(self, name: str) -> str | None:
        """model.fc1.weight -> model.fc1, when that module ran."""
        path = name
        while "." in path:
            path = path.rsplit(".", 1)[0]
            if path in self.modules:
                return path
        return None

    def _shared_keys(self, module: str) -> list[str]:
        """A parameter's groups: down to the first module that ran more than once.

        A weight shared by every call of a cell belongs to no single call; it
        is kept with a "*" key that only a fold over all those calls absorbs.
        """
        keys = []
        for m in self.module_chain(module):
            if self.calls(m) > 1:
                keys.append(f"{m}#*")
                break
            keys.append(m)
        return keys


def _op_ids(graph: Graph) -> set[str]:
    return {n.id for n in graph.nodes if n.kind == "op"}


# ---------------------------------------------------------------------------
# building one view


def _build(graph: Graph, tree: _Tree, depth: int | None, fold: bool, split: int | None,
           expand: frozenset, hide_tensors: bool) -> View:
    nodes = graph.nodes
    consumers: dict[str, list[str]] = {}
    producer: dict[str, str] = {}
    ops = _op_ids(graph)
    for e in graph.edges:
        consumers.setdefault(e.src, []).append(e.dst)
        if e.src in ops:
            producer[e.dst] = e.src

    # 1. the group each node collapses into (None: drawn itself)
    folds, fold_groups = _fold_runs(graph, tree, consumers, depth, expand) if fold else ({}, {})
    into: dict[str, str | None] = {}
    for n in nodes:
        into[n.id] = _target(tree.chains.get(n.id), depth, expand, folds, tree)

    # 2. unnamed constants used only inside one group go in with it
    for n in nodes:
        if into[n.id] is None and n.kind == "tensor" and n.name is None and n.id not in producer \
                and (n.constant or not n.requires_grad):
            targets = {into.get(c) for c in consumers.get(n.id, [])}
            if len(targets) == 1 and None not in targets:
                into[n.id] = targets.pop()

    # 3. visible ids
    group_id: dict[str, str] = {}
    owner: dict[str, str] = {}
    order: list[str] = []
    for n in nodes:
        g = into[n.id]
        if g is None:
            owner[n.id] = n.id
            order.append(n.id)
        else:
            vid = group_id.get(g)
            if vid is None:
                vid = group_id[g] = f"m{len(group_id)}"
                order.append(vid)
            owner[n.id] = vid
    tensors_hidden = False
    if hide_tensors:
        tensors_hidden = _hide_tensors(graph, owner, producer, order)

    # 4. edges between visible nodes, once each
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for e in graph.edges:
        a, b = owner[e.src], owner[e.dst]
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        edges.append(Edge(src=a, dst=b))

    # 5. the nodes: originals as they are, one new node per group
    by_id = {n.id: n for n in nodes}
    members: dict[str, list[str]] = {}
    for nid, vid in owner.items():
        if vid != nid:
            members.setdefault(vid, []).append(nid)
    gkey = {vid: g for g, vid in group_id.items()}
    crossing = _crossing(graph, owner, by_id) if gkey else {}
    out_nodes = []
    order_set = set()
    for vid in order:
        if vid in order_set or (vid in by_id and owner.get(vid) != vid):
            continue
        order_set.add(vid)
        if vid in gkey:
            out_nodes.append(_group_node(vid, gkey[vid], members.get(vid, []), crossing.get(vid),
                                         tree, by_id, fold_groups))
        else:
            out_nodes.append(by_id[vid])
    view_graph = dataclasses.replace(graph, nodes=out_nodes, edges=edges, steps=graph.steps)
    v = View(graph=view_graph, owner=owner, depth=depth, tensors_hidden=tensors_hidden,
             folded=sum(1 for g in group_id if g.startswith("fold:")))

    # 6. leaves read by many ops: one copy per use
    if split:
        _split_fanin(v, split)
    return v


def _target(chain: list[str] | None, depth: int | None, expand: frozenset,
            folds: dict[str, str], tree: _Tree) -> str | None:
    """The group a node with this chain is drawn inside, or None to draw it itself."""
    if not chain:
        return None
    for level, key in enumerate(chain):
        if key in folds:
            return folds[key]
        if key.endswith("#*"):  # a shared parameter: only a fold of all the calls takes it
            return None
        if depth is not None and level >= depth and tree.groups[key]["module"] not in expand:
            return key
    return None


def _hide_tensors(graph: Graph, owner: dict[str, str], producer: dict[str, str],
                  order: list[str]) -> bool:
    """Last resort: an unnamed intermediate tensor is drawn as its producing op's edge."""
    hidden = False
    for n in graph.nodes:
        if (n.kind == "tensor" and owner[n.id] == n.id and n.name is None and not n.output
                and not n.is_leaf and not n.constant and n.id in producer):
            owner[n.id] = owner[producer[n.id]]
            hidden = True
    if hidden:
        order[:] = [o for o in order if owner.get(o, o) == o]
    return hidden


# ---------------------------------------------------------------------------
# folding repeats


def _fold_runs(graph: Graph, tree: _Tree, consumers: dict[str, list[str]], depth: int | None,
               expand: frozenset) -> tuple[dict[str, str], dict[str, dict]]:
    """group key -> fold key for runs of >= 2 identical module calls in a row, and the folds.

    Runs are looked for outermost level first; a group inside a folded run is
    not folded again. Two calls are the same block when they have the same
    parent, class and parameter count (a first layer fed by a constant input
    has a few ops less, and still is the same block).
    """
    members: dict[str, list[str]] = {}
    for nid, chain in tree.chains.items():
        for key in chain:
            members.setdefault(key, []).append(nid)
    by_id = {n.id: n for n in graph.nodes}
    sig: dict[str, tuple] = {}
    for key, info in tree.groups.items():
        m = tree.modules.get(info["module"]) or {}
        ops = sorted(by_id[i].op or "" for i in members.get(key, []) if by_id[i].kind == "op")
        if ops:  # the same kind of block: same place, class and size (ops may differ at the edges)
            sig[key] = (info["parent"], m.get("class"), m.get("params"))
    # edges between groups of one level and one signature
    nxt: dict[str, set[str]] = {}
    prv: dict[str, set[str]] = {}
    for src, dsts in consumers.items():
        ca = tree.chains.get(src)
        if not ca:
            continue
        for dst in dsts:
            cb = tree.chains.get(dst)
            if not cb:
                continue
            for level in range(min(len(ca), len(cb))):
                a, b = ca[level], cb[level]
                if a == b:
                    continue
                if a in sig and sig.get(a) == sig.get(b):
                    nxt.setdefault(a, set()).add(b)
                    prv.setdefault(b, set()).add(a)
                break
    out: dict[str, str] = {}
    made: dict[str, dict] = {}
    for level in range(tree.max_depth):
        if depth is not None and level > depth:
            break
        for key, info in tree.groups.items():
            if info["level"] != level or key in out or key not in sig:
                continue
            if info["module"] in expand or _inside(key, out, tree):
                continue
            if len(prv.get(key, ())) == 1 and len(nxt.get(next(iter(prv[key])), ())) == 1:
                continue  # not the start of a run
            run = [key]
            while len(nxt.get(run[-1], ())) == 1:
                b = next(iter(nxt[run[-1]]))
                if len(prv.get(b, ())) != 1 or b in run:
                    break
                run.append(b)
            if len(run) >= 2:
                fk = "fold:" + run[0]
                for k in run:
                    out[k] = fk
                # a parameter shared by every call of a module, all of them in this run
                mods = {tree.groups[k]["module"] for k in run}
                for m in mods:
                    if tree.calls(m) > 1 and sum(1 for k in run if tree.groups[k]["module"] == m) \
                            == tree.calls(m):
                        out[f"{m}#*"] = fk
                made[fk] = {"module": info["module"], "call": 0, "level": level,
                            "parent": info["parent"], "run": run}
    return out, made


def _inside(key: str, folded: dict[str, str], tree: _Tree) -> bool:
    p = tree.groups[key]["parent"]
    while p is not None:
        if p in folded:
            return True
        p = tree.groups[p]["parent"]
    return False


# ---------------------------------------------------------------------------
# the node that stands for a group


def _crossing(graph: Graph, owner: dict[str, str], by_id: dict[str, Node]) -> dict[str, tuple]:
    """visible id -> (tensors flowing in, tensors flowing out), each once, in edge order."""
    out: dict[str, tuple[dict, dict]] = {}
    for e in graph.edges:
        a, b = owner[e.src], owner[e.dst]
        if a == b:
            continue
        src = by_id.get(e.src)
        if src is None or src.kind != "tensor":
            continue
        out.setdefault(b, ({}, {}))[0].setdefault(e.src, list(src.shape))
        out.setdefault(a, ({}, {}))[1].setdefault(e.src, list(src.shape))
    return out


def _group_node(vid: str, key: str, member_ids: list[str], crossing: tuple | None, tree: _Tree,
                by_id: dict[str, Node], fold_groups: dict[str, dict]) -> Node:
    info = fold_groups.get(key) or tree.groups.get(key, {})
    module = info.get("module", key)
    minfo = tree.modules.get(module) or {}
    run = info.get("run")
    ins = list(crossing[0].values()) if crossing else []
    outs = list(crossing[1].values()) if crossing else []
    n_ops = sum(1 for i in member_ids if by_id[i].kind == "op")
    output = any(by_id[i].output for i in member_ids)
    if output:
        outs = outs or [list(by_id[i].shape) for i in member_ids if by_id[i].output]
    params = minfo.get("params", 0) or 0
    if run:
        names = [tree.groups[k]["module"] for k in run]
        same = len(set(names)) == 1
        label = names[0] if same else f"{names[0]} … {names[-1]}"
        repeat = len(run)
        calls_text = len(run)
        params_total = params if same else sum(
            (tree.modules.get(m) or {}).get("params", 0) or 0 for m in names)
    else:
        calls = tree.calls(module)
        label = module + (f" (call {info.get('call', 0) + 1}/{calls})" if calls > 1 else "")
        repeat, calls_text, params_total = 1, None, params
    attrs: dict[str, Any] = {
        "class": minfo.get("class") or "",
        "params": params_total,  # all of them (a run of distinct blocks: the sum)
        "params_each": params,
        "inputs": ins[:6],
        "outputs": outs[:6],
        "ops": n_ops,
        "nodes": len(member_ids),
        "repeat": repeat,
    }
    if run:
        mods = [tree.groups[k]["module"] for k in run]
        attrs["members"] = mods if len(set(mods)) > 1 else mods[:1]
        attrs["calls"] = calls_text if len(set(mods)) == 1 else None
    return Node(id=vid, kind="module", label=label, op=minfo.get("class") or None,
                module=module, attrs=attrs, output=output,
                note=f"{len(member_ids)} nodes inside, {n_ops} ops")


# ---------------------------------------------------------------------------
# leaves with a large fan-in


def _split_fanin(v: View, limit: int) -> None:
    g = v.graph
    out_edges: dict[str, list[int]] = {}
    produced: set[str] = set()
    ops = {n.id for n in g.nodes if n.kind != "tensor"}
    for i, e in enumerate(g.edges):
        out_edges.setdefault(e.src, []).append(i)
        if e.src in ops:
            produced.add(e.dst)
    new_nodes: list[Node] = []
    for n in g.nodes:
        uses = out_edges.get(n.id, [])
        if (n.kind != "tensor" or not (n.is_leaf or n.constant) or len(uses) <= limit
                or n.id in produced):
            new_nodes.append(n)
            continue
        ids = []
        for k, ei in enumerate(uses):
            cid = f"{n.id}~{k}"
            copy = dataclasses.replace(n, id=cid, attrs={**n.attrs, "copy": k + 1,
                                                          "copies": len(uses), "of": n.id})
            g.edges[ei] = Edge(src=cid, dst=g.edges[ei].dst)
            new_nodes.append(copy)
            ids.append(cid)
        for o, vis in v.owner.items():
            if vis == n.id:
                v.copies[o] = ids
    g.nodes[:] = new_nodes


# ---------------------------------------------------------------------------
# what the picture says about it


_TEXT = {
    "auto": N_("{total} nodes: collapsed to module depth {depth} to stay under {budget} "
               "(--depth / --budget 0 to show more)"),
    "auto_hidden": N_("{total} nodes: intermediate tensors hidden{at} to stay under {budget} "
                      "(--budget 0 to show all)"),
    "over": N_("{shown} nodes shown, more than the budget of {budget}{hint}"),
    "fold_hint": N_("; --fold folds repeated blocks"),
    "depth": N_("modules below depth {depth} collapsed ({total} nodes in all)"),
    "folded": N_("{n} run(s) of repeated blocks folded (xN)"),
    "split": N_("{n} leaf tensor(s) used by many ops drawn once per use (dashed: the same tensor)"),
    "at": N_(", modules collapsed to depth {depth},"),
}


def _notices(v: View, budget: int | None, fold: bool, tree: _Tree | None, lang: str) -> list[str]:
    out = []
    shown = len(v.graph.nodes)
    if v.auto:
        if v.tensors_hidden:
            at = tr(_TEXT["at"], lang, depth=v.depth) if v.depth is not None else ""
            out.append(tr(_TEXT["auto_hidden"], lang, total=v.total, budget=budget, at=at))
        else:
            out.append(tr(_TEXT["auto"], lang, total=v.total, depth=v.depth, budget=budget))
    elif tree is not None and v.depth is not None and v.depth < tree.max_depth:
        out.append(tr(_TEXT["depth"], lang, depth=v.depth, total=v.total))
    if budget and shown > budget:
        hint = tr(_TEXT["fold_hint"], lang) if not fold and tree is not None and tree.max_depth else ""
        out.append(tr(_TEXT["over"], lang, shown=shown, budget=budget, hint=hint))
    if v.folded:
        out.append(tr(_TEXT["folded"], lang, n=v.folded))
    if v.copies:
        out.append(tr(_TEXT["split"], lang, n=len(v.copies)))
    return out


__all__ = ["View", "make_view", "DEFAULT_BUDGET", "SPLIT_FANIN"]
