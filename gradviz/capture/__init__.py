"""The only part of gradviz that touches live torch objects.

    recorder.py       the Recorder (gradviz.record, gradviz.step) and show(): the ways in
    forward.py        the forward op log: a TorchFunctionMode that sees every op
    computed.py       labels for computed constants (x**2, exp(c*2)), freed temporaries too
    internals.py      the nodes torch's C++ functions make inside themselves (a TorchDispatchMode)
    graph.py          the grad_fn walk: trace() before a backward, the Graph made when read
    scopes.py         the nn.Modules a graph's ops ran in: qualified names and Graph.modules
    nonfinite.py      where a NaN or inf came from: the first leaf, op or backward step holding one
    backward.py       one Step per autograd node, from a post-hook on each, in engine order
    backward_trap.py  catches every backward() call: each one starts an iteration
    grad_call.py      catches torch.autograd.grad (jacobian, hessian): recorded, not an iteration
    timeline.py       the iteration timeline: loss, values, grads and updates per parameter
    followed.py       a parameter the timeline follows, and the name that finds it when rebound
    learning_rate.py  a hand-written update's lr, only when the learner's code holds that number
    iterations.py     the timeline as plain recording.Iteration entries, snapshots included
    optimizers.py     torch.optim step hooks: which parameters a step moved, in numbers
    tangents.py       forward mode: each op that carried a tangent inside a fwAD.dual_level()
    metrics.py        the numbers a script logs for TensorBoard (add_scalar), as logged
    values.py         live tensors into plain numbers and summaries (read when first needed)
    tensor_numbers.py norms and first elements of live tensors, cheaply
    gradcheck.py      autograd against finite differences (reruns the learner's code)
    race.py           lesson 16's race run live with torch.optim, for the optimizer playground
"""
from gradviz.capture.recorder import Recorder, show

__all__ = ["Recorder", "show"]
