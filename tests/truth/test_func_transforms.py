"""torch.func under record(): jvp's steps true to torch.func.jvp, other transforms said plainly."""
from __future__ import annotations

import torch

import gradviz
from gradviz.words import notes as said
from gradviz.words.notes import note, shown


def test_torch_func_jvp_steps_equal_torch_func_jvp_of_each_op():
    x = torch.tensor([0.4, -1.3, 2.0])
    v = torch.tensor([1.0, 0.5, -2.0])
    with gradviz.record() as rec:
        out, tangent = torch.func.jvp(lambda a: torch.exp(torch.sin(a) * a), (x,), (v,))
    # the truth, op by op, from torch.func.jvp itself
    s, ts = torch.func.jvp(torch.sin, (x,), (v,))
    m, tm = torch.func.jvp(torch.mul, (s, x), (ts, v))
    e, te = torch.func.jvp(torch.exp, (m,), (tm,))
    steps = [st for st in rec.tangents if st.op != "_make_dual"]
    assert [st.op for st in steps] == ["sin", "mul", "exp"]
    for st, (val, tan) in zip(steps, [(s, ts), (m, tm), (e, te)]):
        assert torch.equal(torch.tensor(st.value), val) and torch.equal(torch.tensor(st.tangent), tan)
    assert torch.equal(tangent, te) and torch.equal(out, e)
    assert not [n for n in rec.notes if "torch.func" in n]


def test_transforms_whose_steps_are_not_shown_say_so():
    x = torch.tensor([0.4, -1.3])
    with gradviz.record() as rec:
        from torch.func import grad, jacfwd
        g = grad(lambda a: (torch.sin(a) * a).sum())(x)
        j = jacfwd(lambda a: torch.sin(a) * a)(x)
    torch.testing.assert_close(g, torch.cos(x) * x + torch.sin(x), rtol=0, atol=1e-6)
    torch.testing.assert_close(j, torch.diag(torch.cos(x) * x + torch.sin(x)), rtol=0, atol=1e-6)
    assert rec.graphs == [] and rec.tangents == []  # nothing drawn as the learner's own calls
    line = test_transforms_whose_steps_are_not_shown_say_so.__code__.co_firstlineno
    assert rec.notes == [note(said.FUNC_TRANSFORM, line=line + 4, n=1),
                         note(said.FUNC_FORWARD, fn="jacfwd", line=line + 5)]
    assert all(any("\uac00" <= c <= "\ud7a3" for c in shown(n, "ko")) for n in rec.notes)
