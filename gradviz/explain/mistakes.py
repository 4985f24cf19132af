"""The catalogue of common autograd mistakes: how to recognise each, and what to say.

One row per mistake: an id, a regex searched in "ExceptionType: message", a plain
explanation and a fix. The texts are English msgids (their translations are in
gradviz/words/locale); their `{placeholders}` are filled by
gradviz.explain.exceptions from the regex groups and from what it can see of the
failing call (names, shapes, versions); a missing value prints as "?", never raises.

Plain data only: this module imports neither torch nor the rest of gradviz but gradviz.words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from gradviz.words import N_, fill, template

__all__ = ["Mistake", "MISTAKES", "VARIANTS", "WARNINGS", "BY_ID", "find", "fill"]


@dataclass(frozen=True)
class Mistake:
    id: str
    detect: str  # regex, searched (case-sensitive) in "Type: message"
    en: str  # msgid: what went wrong
    fix: str  # msgid: how to fix it
    title: str = ""  # msgid: a headline (warnings have one)

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.detect)

    @property
    def ko(self) -> str:
        """The Korean template of `en` (unfilled)."""
        return template(self.en, "ko")

    @property
    def fix_ko(self) -> str:
        return template(self.fix, "ko")

    @property
    def title_ko(self) -> str:
        return template(self.title, "ko") if self.title else ""

    def __getitem__(self, key: str) -> str:
        """row["ko"]: the catalogue's rows read like the dicts they once were."""
        return getattr(self, key)


_cache: dict[str, re.Pattern] = {}


def _compiled(rx: str) -> re.Pattern:
    p = _cache.get(rx)
    if p is None:
        p = _cache[rx] = re.compile(rx, re.S)
    return p


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "backward_no_grad",
        r"element (?P<index>\d+) of tensors does not require grad and does not have a grad_fn",
        en=N_("backward() was called on {name}, but {name} does not require grad and has no grad_fn: "
              "no graph was recorded behind it, so there is nothing to differentiate. {why}"),
        fix=N_("Create the inputs you want gradients for with requires_grad=True "
               "(w = torch.tensor(1.0, requires_grad=True)), and compute the loss outside "
               "torch.no_grad() and without .detach()."),
    ),
    Mistake(
        "backward_twice",
        r"Trying to backward through the graph a second time",
        en=N_("backward() went through the graph of {name} a second time. The first backward() "
              "already freed the values the graph saved (to save memory), so it cannot be walked "
              "again. In a loop this usually means part of the forward pass was computed once, "
              "before the loop, and reused.{reused}"),
        fix=N_("Recompute the forward pass (the loss) before every backward(); only if you really "
               "need the same graph twice, call backward(retain_graph=True) the first time."),
    ),
    Mistake(
        "backward_non_scalar",
        r"grad can be implicitly created only for (real )?scalar outputs",
        en=N_("backward() with no argument needs a single number: it starts from "
              "d{name}/d{name} = 1. But {name} has shape {shape} ({numel} numbers), and autograd "
              "will not guess how to combine them."),
        fix=N_("Reduce it to one number first, {var}.sum().backward() or {var}.mean().backward(), "
               "or pass a gradient of the same shape: {var}.backward(torch.ones_like({var}))."),
    ),
    Mistake(
        "inplace_leaf",
        r"a (?P<view>view of a )?leaf Variable that requires grad is being used in an in-place operation",
        en=N_("{name} is a leaf tensor that requires grad, and {op} changes it in place{view_note}. "
              "Autograd forbids this: the graph needs the leaf exactly as you created it, and it "
              "cannot record a change to the leaf itself."),
        fix=N_("To update weights, do it inside torch.no_grad(): `with torch.no_grad(): {var} -= lr * "
               "{var}.grad`. Otherwise make a new tensor instead ({var}2 = {var} + 1)."),
    ),
    Mistake(
        "inplace_saved",
        r"one of the variables needed for gradient computation has been modified by an inplace "
        r"operation: \[(?P<tensor_type>[\w.]+) \[(?P<shape>[\d, ]*)\]\], which is output "
        r"(?P<output_nr>\d+) of (?:torch::autograd::)?(?P<op>\w+), is at version (?P<version>\d+); expected version "
        r"(?P<expected>\d+) instead",
        en=N_("backward() needs {name} ({desc}{made_by}) as it was in the forward "
              "pass: autograd saved it at version {expected}. But {name} was then changed in place "
              "{changed_by}, and is now at version {version} (each in-place op adds 1 to the "
              "version). The saved value is gone, so the gradient cannot be computed."),
        fix=N_("Use an out-of-place op ({var} = {var} + 1 instead of {var} += 1 or {var}.add_(1)), "
               "or change a copy: {var}2 = {var}.clone()."),
    ),
    Mistake(
        "int_requires_grad",
        r"[Oo]nly Tensors of floating point (and complex )?dtype can require gradients",
        en=N_("Only floating-point (or complex) tensors can require grad, and {name} holds integers "
              "({dtype}). torch.tensor([1, 2]) makes an integer tensor because the numbers have no "
              "decimal point; gradients need numbers that can change by small amounts."),
        fix=N_("Make it a float tensor: torch.tensor([1.0, 2.0], requires_grad=True), or pass "
               "dtype=torch.float32."),
    ),
    Mistake(
        "int_mean",
        r"(?P<func>\w+)\(\): could not infer output dtype\. Input dtype must be either a floating "
        r"point or complex dtype\. Got: (?P<dtype>\w+)",
        en=N_("{func}() of an integer tensor ({dtype}) is not defined: the average of integers is "
              "usually not an integer, and PyTorch will not guess which type the result should "
              "have{named}."),
        fix=N_("Convert it first: {var}.float().{func}(), or create it with decimals "
               "(torch.tensor([1.0, 2.0]))."),
    ),
    Mistake(
        "broadcast",
        r"The size of tensor a \((?P<sa>\d+)\) must match the size of tensor b \((?P<sb>\d+)\) "
        r"at non-singleton dimension (?P<dim>\d+)",
        en=N_("{op} cannot broadcast {a} and {b} together. Broadcasting lines the shapes up from "
              "the right; in each column the sizes must be equal, or one of them 1. In dimension "
              "{dim} they are {sa} and {sb}:\n{aligned}"),
        fix=N_("Make the marked sizes agree: reshape with .view / .unsqueeze(-1) to add a size-1 "
               "dimension, transpose with .T, or check that you picked the right tensors."),
    ),
    Mistake(
        "broadcast_inplace",
        r"output with shape \[(?P<out>[\d, ]*)\] doesn't match the broadcast shape \[(?P<bshape>[\d, ]*)\]",
        en=N_("An in-place op{op_on} must keep its tensor's shape [{out}], but broadcasting the two "
              "operands gives the bigger shape [{bshape}]: an in-place op cannot grow a tensor."),
        fix=N_("Use the out-of-place form (x = x + y instead of x += y), which makes a new tensor of "
               "the broadcast shape."),
    ),
    Mistake(
        "matmul_shapes",
        r"mat1 and mat2 shapes cannot be multiplied \((?P<r1>\d+)x(?P<c1>\d+) and "
        r"(?P<r2>\d+)x(?P<c2>\d+)\)",
        en=N_("Matrix product{op_on}: ({r1}x{c1}) @ ({r2}x{c2}). The inner sizes must be equal "
              "(the number of columns of the first = the number of rows of the second), but they "
              "are {c1} and {r2}."),
        fix=N_("Make the inner sizes agree: transpose one matrix (.T), reshape it, or check the "
               "order of the operands (a @ b is not b @ a)."),
    ),
    Mistake(
        "matmul_vector",
        r"size mismatch, got input \((?P<n>\d+)\), mat \((?P<r1>\d+)x(?P<c1>\d+)\), vec \((?P<v>\d+)\)",
        en=N_("Matrix times vector{op_on}: the matrix is {r1}x{c1}, so the vector needs {c1} numbers, "
              "but it has {v}. The matrix's number of columns must equal the vector's length."),
        fix=N_("Use a vector of length {c1}, or transpose the matrix (.T) if its rows are meant."),
    ),
    Mistake(
        "dot_sizes",
        r"inconsistent tensor size, expected tensor \[(?P<n1>\d+)\] and src \[(?P<n2>\d+)\] to "
        r"have the same number of elements",
        en=N_("A dot product{op_on} needs two vectors of the same length, but they have {n1} and "
              "{n2} numbers."),
        fix=N_("Check the two vectors: both need the same number of elements."),
    ),
    Mistake(
        "bmm_shapes",
        r"Expected size for first two dimensions of batch2 tensor to be: \[(?P<want>[\d, ]*)\] "
        r"but got: \[(?P<got>[\d, ]*)\]",
        en=N_("A batched matrix product{op_on}: for (b, n, m) @ (b, m, p) the second tensor must start "
              "with [{want}], but it starts with [{got}]. The batch sizes and the inner sizes must "
              "agree."),
        fix=N_("Make the batch sizes equal and the inner sizes match (transpose the last two "
               "dimensions with .transpose(1, 2) if needed)."),
    ),
    Mistake(
        "devices",
        r"Expected all tensors to be on the same device|is not on the expected device|"
        r"Expected object of device type|to be on the same device",
        en=N_("This op mixes tensors on different devices ({devices}). PyTorch never moves data "
              "between the CPU and a GPU on its own: all inputs of an op must be on one device."),
        fix=N_("Put everything on one device: device = 'cuda' if torch.cuda.is_available() else "
               "'cpu'; create tensors with device=device, and call x.to(device) and "
               "model.to(device)."),
    ),
    Mistake(
        "numpy_requires_grad",
        r"Can't call numpy\(\) on Tensor that requires grad",
        en=N_("{name} requires grad, so it is part of a graph, and a NumPy array cannot carry a "
              "graph. PyTorch refuses rather than silently dropping the gradient."),
        fix=N_("Use {var}.detach().numpy() to get the numbers (they will not track gradients)."),
    ),
    Mistake(
        "grad_shape",
        r"Mismatch in shape: grad_output\[(?P<i>\d+)\] has a shape of torch\.Size\(\[(?P<gs>[\d, ]*)\]\) "
        r"and output\[\d+\] has a shape of torch\.Size\(\[(?P<os>[\d, ]*)\]\)",
        en=N_("The gradient passed to backward() has shape [{gs}], but the tensor has shape [{os}]: "
              "backward(gradient) needs a gradient of exactly the tensor's shape."),
        fix=N_("Pass torch.ones_like(tensor) (or a tensor of the same shape) as the gradient."),
    ),
    Mistake(
        "view_inplace",
        r"is a view and (is being|its base or another view of its base has been) modified inplace",
        en=N_("An in-place change to a view that autograd cannot follow (a view returned by an op "
              "that gives several views, such as unbind, split or chunk, or a view made in "
              "no_grad mode)."),
        fix=N_("Use an out-of-place op, or .clone() the view before changing it."),
    ),
    Mistake(
        "out_of_memory",
        r"can't allocate memory|CUDA out of memory|OutOfMemoryError|MemoryError",
        en=N_("The script ran out of memory{alloc}. A tensor that large, or tensors kept alive "
              "across iterations (for example appending a loss that still has its graph to a list), "
              "use it up."),
        fix=N_("Use smaller tensors or batches; store loss.item() rather than loss; or raise "
               "--memory-limit."),
    ),
    Mistake(
        "grad_none",
        r"'NoneType' object has no attribute '(?P<attr>\w+)'|'NoneType' object is not subscriptable|"
        r"unsupported operand type\(s\) for .+: .*'NoneType'",
        en=N_("{name}.grad is None on this line. A .grad stays None until a backward() reaches that "
              "tensor: before the first backward(), for a tensor without requires_grad=True, for a "
              "tensor that is not a leaf, or for one that the loss does not depend on."),
        fix=N_("Call loss.backward() before using {var}.grad; to reset gradients use "
               "optimizer.zero_grad() or `{var}.grad = None`, which work even before the first "
               "backward()."),
    ),
    Mistake(
        "target_dtype",
        r"expected target dtype to be Long|expected scalar type Long but found Float",
        en=N_("The loss (cross entropy / NLL) expects class indices as integers (torch.long), but "
              "the targets are floats."),
        fix=N_("Convert the targets: target.long(), or create them with dtype=torch.long."),
    ),
    Mistake(
        "weights_only_load",
        r"Weights only load failed(?:.*?Unsupported global: GLOBAL (?P<cls>[\w.]+))?",
        en=N_("torch.load refused the file: since PyTorch 2.6 it loads only tensors and plain Python "
              "types unless told otherwise (weights_only=True), and this file also holds {cls}. "
              "torch offers two ways to load it, both only for a file you trust."),
        fix=N_("Either torch.load(path, weights_only=False), which can run any code the file holds, "
               "or allow just this class: torch.serialization.add_safe_globals([{cls}]) before "
               "torch.load (or torch.load inside `with torch.serialization.safe_globals([{cls}]):`)."),
    ),
)

BY_ID: dict[str, Mistake] = {m.id: m for m in MISTAKES}

# Sharper words for a mistake in a particular setting.
VARIANTS: dict[str, Mistake] = {
    # .grad read between optimizer.zero_grad() (or model.zero_grad()) and the next backward()
    "grad_none/zero_grad": Mistake(
        "grad_none", BY_ID["grad_none"].detect,
        en=N_("{name}.grad is None on this line: `{zero_grad}` on line {zero_line} set it to None. "
              "Since PyTorch 2.0, zero_grad() sets every gradient to None (set_to_none=True) instead "
              "of filling it with zeros, and it stays None until the next backward() reaches {name}."),
        fix=N_("Read {var}.grad after loss.backward() and before zero_grad() (or check `{var}.grad is "
               "not None`); if you need zeros there, call zero_grad(set_to_none=False)."),
    ),
    # mat1 and mat2 ... raised inside nn.Linear: mat1 is the input, mat2 the weight transposed.
    "matmul_shapes/linear": Mistake(
        "matmul_shapes", BY_ID["matmul_shapes"].detect,
        en=N_("The layer {layer} is nn.Linear(in_features={c2_in}, out_features={out}): it expects "
              "inputs whose last dimension is {c2_in}, but its input{input_name} has shape {shape}, "
              "whose last dimension is {c1}. (The error's numbers are input {r1}x{c1} and weight "
              "transposed {r2}x{c2}.)"),
        fix=N_("Make in_features match the input: nn.Linear({c1}, {out}), or reshape the input so "
               "its last dimension is {c2_in} (for images: x.flatten(1))."),
    ),
}


def find(text: str) -> tuple[Mistake, re.Match] | None:
    """The first mistake whose regex matches "Type: message"."""
    for m in MISTAKES:
        hit = m.pattern.search(text)
        if hit is not None:
            return m, hit
    return None


# Warnings worth explaining (not errors: the script goes on).
WARNINGS: dict[str, Mistake] = {
    "nonleaf_grad": Mistake(
        "nonleaf_grad",
        r"\.grad attribute of a Tensor that is not a leaf Tensor is being accessed",
        title=N_("{name}.grad is None: {name} is not a leaf"),
        en=N_("{name} is not a leaf: it was computed from other tensors, so autograd does not keep "
              "its .grad after backward(), and reading {name}.grad gives None."),
        fix=N_("Call {name}.retain_grad() before backward() to keep its gradient, or read the "
               ".grad of the leaf tensor you created (the one with requires_grad=True)."),
    ),
    "loss_broadcast": Mistake(
        "loss_broadcast",
        r"Using a target size \(torch\.Size\(\[(?P<target>[\d, ]*)\]\)\) that is different "
        r"to the input size \(torch\.Size\(\[(?P<input>[\d, ]*)\]\)\)",
        title=N_("The loss broadcasts a [{input}] prediction against a [{target}] target"),
        en=N_("The loss compares a prediction of shape [{input}] with a target of shape [{target}]. "
              "The shapes differ, so broadcasting silently pairs every prediction with every "
              "target: the loss runs, but it is not the loss you meant."),
        fix=N_("Give prediction and target the same shape, e.g. pred.squeeze(-1) or "
               "target.view(-1, 1)."),
    ),
}
