"""Why a leaf that requires grad ended with grad None or all zeros, read from a recorded Graph.

Pure: a Graph (and the script's text) in, findings out: a dead ReLU or another op
whose local derivative was 0, tensors made under torch.no_grad() or by .detach()
that feed the graph as constants, leaves detached on a line of the graph. The
runner's hook (gradviz.script_watch) adds them to the Recording. No torch.
"""
from __future__ import annotations

import re
from typing import Any

from gradviz.explain.source_reading import _grad_free_text, _requires_grad_names
from gradviz.recording import Graph

__all__ = ["explain_dead_grads", "dead_grad_findings"]


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
