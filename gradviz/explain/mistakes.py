"""The catalogue of common autograd mistakes: how to recognise each, and what to say.

One row per mistake: an id, a regex searched in "ExceptionType: message", a plain
explanation and a fix, in English and Korean. Templates take `{placeholders}` that
gradviz.explain.errors fills from the regex groups and from what it can see of the
failing call (names, shapes, versions); a missing value prints as "?", never raises.

Plain data only: this module imports neither torch nor the rest of gradviz.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    id: str
    detect: str  # regex, searched (case-sensitive) in "Type: message"
    en: str
    ko: str
    fix: str
    fix_ko: str

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.detect)


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
        en="backward() was called on {name}, but {name} does not require grad and has no grad_fn: "
           "no graph was recorded behind it, so there is nothing to differentiate. {why}",
        ko="{name}에 backward()를 호출했지만, {name}은(는) requires_grad가 False이고 grad_fn도 "
           "없습니다. 그 뒤에 기록된 계산 그래프가 없으니 미분할 것이 없습니다. {why_ko}",
        fix="Create the inputs you want gradients for with requires_grad=True "
            "(w = torch.tensor(1.0, requires_grad=True)), and compute the loss outside "
            "torch.no_grad() and without .detach().",
        fix_ko="기울기가 필요한 입력을 requires_grad=True로 만들고"
               "(w = torch.tensor(1.0, requires_grad=True)), 손실은 torch.no_grad() 밖에서 "
               ".detach() 없이 계산하세요.",
    ),
    Mistake(
        "backward_twice",
        r"Trying to backward through the graph a second time",
        en="backward() went through the graph of {name} a second time. The first backward() "
           "already freed the values the graph saved (to save memory), so it cannot be walked "
           "again. In a loop this usually means part of the forward pass was computed once, "
           "before the loop, and reused.{reused}",
        ko="{name}에서 같은 그래프로 backward()를 두 번째 실행했습니다. 첫 번째 backward()가 메모리를 아끼려고 "
           "그래프에 저장된 중간 값을 이미 지웠기 때문에 다시 거슬러 갈 수 없습니다. 반복문이라면 "
           "순전파의 일부를 반복문 밖에서 한 번만 계산하고 계속 재사용하는 경우가 대부분입니다.{reused_ko}",
        fix="Recompute the forward pass (the loss) before every backward(); only if you really "
            "need the same graph twice, call backward(retain_graph=True) the first time.",
        fix_ko="backward()를 부를 때마다 순전파(손실)를 새로 계산하세요. 같은 그래프가 정말 두 번 "
               "필요할 때만 첫 번째에 backward(retain_graph=True)를 쓰세요.",
    ),
    Mistake(
        "backward_non_scalar",
        r"grad can be implicitly created only for (real )?scalar outputs",
        en="backward() with no argument needs a single number: it starts from "
           "d{name}/d{name} = 1. But {name} has shape {shape} ({numel} numbers), and autograd "
           "will not guess how to combine them.",
        ko="인자 없는 backward()는 숫자 하나(스칼라)에서만 쓸 수 있습니다. d{name}/d{name} = 1에서 "
           "시작하기 때문입니다. 그런데 {name}의 모양은 {shape}(숫자 {numel}개)이고, autograd는 "
           "이 숫자들을 어떻게 합칠지 짐작하지 않습니다.",
        fix="Reduce it to one number first, {var}.sum().backward() or {var}.mean().backward(), "
            "or pass a gradient of the same shape: {var}.backward(torch.ones_like({var})).",
        fix_ko="먼저 숫자 하나로 줄이세요: {var}.sum().backward() 또는 {var}.mean().backward(). "
               "아니면 같은 모양의 기울기를 넘기세요: {var}.backward(torch.ones_like({var})).",
    ),
    Mistake(
        "inplace_leaf",
        r"a (?P<view>view of a )?leaf Variable that requires grad is being used in an in-place operation",
        en="{name} is a leaf tensor that requires grad, and {op} changes it in place{view_note}. "
           "Autograd forbids this: the graph needs the leaf exactly as you created it, and it "
           "cannot record a change to the leaf itself.",
        ko="{name}은(는) requires_grad=True인 리프 텐서인데, {op_ko}이(가) 이 텐서를 그 자리에서(in-place) "
           "바꿉니다{view_note_ko}. autograd는 이를 허용하지 않습니다. 그래프는 만든 그대로의 리프가 "
           "필요하고, 리프 자체의 변경은 기록할 수 없기 때문입니다.",
        fix="To update weights, do it inside torch.no_grad(): `with torch.no_grad(): {var} -= lr * "
            "{var}.grad`. Otherwise make a new tensor instead ({var}2 = {var} + 1).",
        fix_ko="가중치를 갱신하는 것이라면 torch.no_grad() 안에서 하세요: `with torch.no_grad(): "
               "{var} -= lr * {var}.grad`. 그렇지 않다면 새 텐서를 만드세요({var}2 = {var} + 1).",
    ),
    Mistake(
        "inplace_saved",
        r"one of the variables needed for gradient computation has been modified by an inplace "
        r"operation: \[(?P<tensor_type>[\w.]+) \[(?P<shape>[\d, ]*)\]\], which is output "
        r"(?P<output_nr>\d+) of (?:torch::autograd::)?(?P<op>\w+), is at version (?P<version>\d+); expected version "
        r"(?P<expected>\d+) instead",
        en="backward() needs {name} ({desc}{made_by}) as it was in the forward "
           "pass: autograd saved it at version {expected}. But {name} was then changed in place "
           "{changed_by}, and is now at version {version} (each in-place op adds 1 to the "
           "version). The saved value is gone, so the gradient cannot be computed.",
        ko="backward()에는 순전파 때의 {name}({desc_ko}{made_by_ko})이(가) 필요해서 "
           "autograd가 버전 {expected}일 때 저장해 두었습니다. 그런데 그 뒤에 {name}이(가) "
           "in-place로 바뀌어{changed_by_ko} 지금은 버전 {version}입니다(in-place 연산마다 버전이 "
           "1씩 오릅니다). 저장된 값이 사라졌으니 기울기를 계산할 수 없습니다.",
        fix="Use an out-of-place op ({var} = {var} + 1 instead of {var} += 1 or {var}.add_(1)), "
            "or change a copy: {var}2 = {var}.clone().",
        fix_ko="in-place가 아닌 연산을 쓰세요({var} += 1 이나 {var}.add_(1) 대신 "
               "{var} = {var} + 1). 아니면 복사본을 바꾸세요: {var}2 = {var}.clone().",
    ),
    Mistake(
        "int_requires_grad",
        r"[Oo]nly Tensors of floating point (and complex )?dtype can require gradients",
        en="Only floating-point (or complex) tensors can require grad, and {name} holds integers "
           "({dtype}). torch.tensor([1, 2]) makes an integer tensor because the numbers have no "
           "decimal point; gradients need numbers that can change by small amounts.",
        ko="requires_grad는 실수(부동소수점)나 복소수 텐서에만 쓸 수 있는데, {name}은(는) 정수({dtype}) "
           "텐서입니다. torch.tensor([1, 2])처럼 소수점 없이 쓰면 정수 텐서가 됩니다. 기울기는 값이 "
           "아주 조금씩 변할 수 있어야 정의됩니다.",
        fix="Make it a float tensor: torch.tensor([1.0, 2.0], requires_grad=True), or pass "
            "dtype=torch.float32.",
        fix_ko="실수 텐서로 만드세요: torch.tensor([1.0, 2.0], requires_grad=True), 또는 "
               "dtype=torch.float32를 넘기세요.",
    ),
    Mistake(
        "int_mean",
        r"(?P<func>\w+)\(\): could not infer output dtype\. Input dtype must be either a floating "
        r"point or complex dtype\. Got: (?P<dtype>\w+)",
        en="{func}() of an integer tensor ({dtype}) is not defined: the average of integers is "
           "usually not an integer, and PyTorch will not guess which type the result should "
           "have{named}.",
        ko="정수 텐서({dtype})에는 {func}()을(를) 쓸 수 없습니다. 정수의 평균은 보통 정수가 아니고, "
           "PyTorch는 결과의 자료형을 짐작하지 않습니다{named_ko}.",
        fix="Convert it first: {var}.float().{func}(), or create it with decimals "
            "(torch.tensor([1.0, 2.0])).",
        fix_ko="먼저 실수로 바꾸세요: {var}.float().{func}(). 아니면 처음부터 소수로 만드세요"
               "(torch.tensor([1.0, 2.0])).",
    ),
    Mistake(
        "broadcast",
        r"The size of tensor a \((?P<sa>\d+)\) must match the size of tensor b \((?P<sb>\d+)\) "
        r"at non-singleton dimension (?P<dim>\d+)",
        en="{op} cannot broadcast {a} and {b} together. Broadcasting lines the shapes up from "
           "the right; in each column the sizes must be equal, or one of them 1. In dimension "
           "{dim} they are {sa} and {sb}:\n{aligned}",
        ko="{op_ko}에서 {a_ko}와(과) {b_ko}을(를) 브로드캐스팅할 수 없습니다. 브로드캐스팅은 두 모양을 "
           "오른쪽 끝부터 맞춰 세우고, 각 자리의 크기가 같거나 한쪽이 1이어야 합니다. 차원 {dim}에서 "
           "크기가 {sa}와(과) {sb}로 다릅니다:\n{aligned}",
        fix="Make the marked sizes agree: reshape with .view / .unsqueeze(-1) to add a size-1 "
            "dimension, transpose with .T, or check that you picked the right tensors.",
        fix_ko="표시된 크기를 맞추세요: .view나 .unsqueeze(-1)로 크기 1인 차원을 넣거나, .T로 "
               "전치하거나, 올바른 텐서를 골랐는지 확인하세요.",
    ),
    Mistake(
        "broadcast_inplace",
        r"output with shape \[(?P<out>[\d, ]*)\] doesn't match the broadcast shape \[(?P<bshape>[\d, ]*)\]",
        en="An in-place op{op_on} must keep its tensor's shape [{out}], but broadcasting the two "
           "operands gives the bigger shape [{bshape}]: an in-place op cannot grow a tensor.",
        ko="in-place 연산{op_on_ko}은(는) 텐서의 모양 [{out}]을(를) 유지해야 하는데, 두 피연산자를 "
           "브로드캐스팅하면 더 큰 모양 [{bshape}]이(가) 됩니다. in-place 연산은 텐서를 키울 수 "
           "없습니다.",
        fix="Use the out-of-place form (x = x + y instead of x += y), which makes a new tensor of "
            "the broadcast shape.",
        fix_ko="in-place가 아닌 형태를 쓰세요(x += y 대신 x = x + y). 그러면 브로드캐스팅된 모양의 "
               "새 텐서가 만들어집니다.",
    ),
    Mistake(
        "matmul_shapes",
        r"mat1 and mat2 shapes cannot be multiplied \((?P<r1>\d+)x(?P<c1>\d+) and "
        r"(?P<r2>\d+)x(?P<c2>\d+)\)",
        en="Matrix product{op_on}: ({r1}x{c1}) @ ({r2}x{c2}). The inner sizes must be equal "
           "(the number of columns of the first = the number of rows of the second), but they "
           "are {c1} and {r2}.",
        ko="행렬 곱{op_on_ko}: ({r1}x{c1}) @ ({r2}x{c2}). 안쪽 크기(첫 행렬의 열 수와 둘째 행렬의 "
           "행 수)가 같아야 하는데 {c1}와(과) {r2}입니다.",
        fix="Make the inner sizes agree: transpose one matrix (.T), reshape it, or check the "
            "order of the operands (a @ b is not b @ a).",
        fix_ko="안쪽 크기를 맞추세요: 한 행렬을 전치(.T)하거나 모양을 바꾸거나, 곱하는 순서를 "
               "확인하세요(a @ b와 b @ a는 다릅니다).",
    ),
    Mistake(
        "matmul_vector",
        r"size mismatch, got input \((?P<n>\d+)\), mat \((?P<r1>\d+)x(?P<c1>\d+)\), vec \((?P<v>\d+)\)",
        en="Matrix times vector{op_on}: the matrix is {r1}x{c1}, so the vector needs {c1} numbers, "
           "but it has {v}. The matrix's number of columns must equal the vector's length.",
        ko="행렬과 벡터의 곱{op_on_ko}: 행렬이 {r1}x{c1}이므로 벡터는 숫자 {c1}개가 필요한데 {v}개"
           "입니다. 행렬의 열 수와 벡터의 길이가 같아야 합니다.",
        fix="Use a vector of length {c1}, or transpose the matrix (.T) if its rows are meant.",
        fix_ko="길이 {c1}인 벡터를 쓰거나, 행 방향을 뜻했다면 행렬을 전치(.T)하세요.",
    ),
    Mistake(
        "dot_sizes",
        r"inconsistent tensor size, expected tensor \[(?P<n1>\d+)\] and src \[(?P<n2>\d+)\] to "
        r"have the same number of elements",
        en="A dot product{op_on} needs two vectors of the same length, but they have {n1} and "
           "{n2} numbers.",
        ko="내적{op_on_ko}에는 길이가 같은 두 벡터가 필요한데, 숫자가 각각 {n1}개와 {n2}개입니다.",
        fix="Check the two vectors: both need the same number of elements.",
        fix_ko="두 벡터의 원소 수가 같은지 확인하세요.",
    ),
    Mistake(
        "bmm_shapes",
        r"Expected size for first two dimensions of batch2 tensor to be: \[(?P<want>[\d, ]*)\] "
        r"but got: \[(?P<got>[\d, ]*)\]",
        en="A batched matrix product{op_on}: for (b, n, m) @ (b, m, p) the second tensor must start "
           "with [{want}], but it starts with [{got}]. The batch sizes and the inner sizes must "
           "agree.",
        ko="배치 행렬 곱{op_on_ko}: (b, n, m) @ (b, m, p)에서 두 번째 텐서의 앞 두 차원은 [{want}]"
           "이어야 하는데 [{got}]입니다. 배치 크기와 안쪽 크기가 같아야 합니다.",
        fix="Make the batch sizes equal and the inner sizes match (transpose the last two "
            "dimensions with .transpose(1, 2) if needed).",
        fix_ko="배치 크기를 같게, 안쪽 크기를 맞게 하세요(필요하면 .transpose(1, 2)로 마지막 두 "
               "차원을 바꾸세요).",
    ),
    Mistake(
        "devices",
        r"Expected all tensors to be on the same device|is not on the expected device|"
        r"Expected object of device type|to be on the same device",
        en="This op mixes tensors on different devices ({devices}). PyTorch never moves data "
           "between the CPU and a GPU on its own: all inputs of an op must be on one device.",
        ko="이 연산은 서로 다른 장치에 있는 텐서를 섞어 씁니다({devices}). PyTorch는 CPU와 GPU 사이로 "
           "데이터를 저절로 옮기지 않으므로, 한 연산의 입력은 모두 같은 장치에 있어야 합니다.",
        fix="Put everything on one device: device = 'cuda' if torch.cuda.is_available() else "
            "'cpu'; create tensors with device=device, and call x.to(device) and "
            "model.to(device).",
        fix_ko="모두 한 장치에 두세요: device = 'cuda' if torch.cuda.is_available() else 'cpu'로 "
               "정하고, 텐서는 device=device로 만들고, x.to(device)와 model.to(device)를 부르세요.",
    ),
    Mistake(
        "numpy_requires_grad",
        r"Can't call numpy\(\) on Tensor that requires grad",
        en="{name} requires grad, so it is part of a graph, and a NumPy array cannot carry a "
           "graph. PyTorch refuses rather than silently dropping the gradient.",
        ko="{name}은(는) requires_grad=True라서 계산 그래프의 일부인데, NumPy 배열은 그래프를 가질 수 "
           "없습니다. PyTorch는 기울기를 몰래 버리는 대신 오류를 냅니다.",
        fix="Use {var}.detach().numpy() to get the numbers (they will not track gradients).",
        fix_ko="숫자만 필요하면 {var}.detach().numpy()를 쓰세요(기울기는 추적되지 않습니다).",
    ),
    Mistake(
        "grad_shape",
        r"Mismatch in shape: grad_output\[(?P<i>\d+)\] has a shape of torch\.Size\(\[(?P<gs>[\d, ]*)\]\) "
        r"and output\[\d+\] has a shape of torch\.Size\(\[(?P<os>[\d, ]*)\]\)",
        en="The gradient passed to backward() has shape [{gs}], but the tensor has shape [{os}]: "
           "backward(gradient) needs a gradient of exactly the tensor's shape.",
        ko="backward()에 넘긴 기울기의 모양은 [{gs}]인데 텐서의 모양은 [{os}]입니다. "
           "backward(gradient)의 기울기는 텐서와 모양이 같아야 합니다.",
        fix="Pass torch.ones_like(tensor) (or a tensor of the same shape) as the gradient.",
        fix_ko="기울기로 torch.ones_like(텐서)처럼 모양이 같은 텐서를 넘기세요.",
    ),
    Mistake(
        "view_inplace",
        r"is a view and (is being|its base or another view of its base has been) modified inplace",
        en="An in-place change to a view that autograd cannot follow (a view returned by an op "
           "that gives several views, such as unbind, split or chunk, or a view made in "
           "no_grad mode).",
        ko="autograd가 따라갈 수 없는 뷰(view)를 in-place로 바꿨습니다(unbind, split, chunk처럼 "
           "여러 뷰를 돌려주는 연산의 결과이거나, no_grad 안에서 만든 뷰).",
        fix="Use an out-of-place op, or .clone() the view before changing it.",
        fix_ko="in-place가 아닌 연산을 쓰거나, 바꾸기 전에 뷰를 .clone() 하세요.",
    ),
    Mistake(
        "out_of_memory",
        r"can't allocate memory|CUDA out of memory|OutOfMemoryError|MemoryError",
        en="The script ran out of memory{alloc}. A tensor that large, or tensors kept alive "
           "across iterations (for example appending a loss that still has its graph to a list), "
           "use it up.",
        ko="스크립트가 메모리를 다 썼습니다{alloc_ko}. 이렇게 큰 텐서를 만들었거나, 반복할 때마다 "
           "텐서를 계속 붙잡아 두는 경우(예: 그래프가 달린 손실을 리스트에 계속 추가)에 생깁니다.",
        fix="Use smaller tensors or batches; store loss.item() rather than loss; or raise "
            "--memory-limit.",
        fix_ko="텐서나 배치를 줄이고, loss 대신 loss.item()을 저장하세요. 아니면 --memory-limit을 "
               "늘리세요.",
    ),
    Mistake(
        "grad_none",
        r"'NoneType' object has no attribute '(?P<attr>\w+)'|"
        r"unsupported operand type\(s\) for .+: .*'NoneType'",
        en="{name}.grad is None on this line. A .grad stays None until a backward() reaches that "
           "tensor: before the first backward(), for a tensor without requires_grad=True, for a "
           "tensor that is not a leaf, or for one that the loss does not depend on.",
        ko="이 줄에서 {name}.grad가 None입니다. .grad는 backward()가 그 텐서까지 도달해야 채워집니다. "
           "첫 backward() 전이거나, requires_grad=True가 아니거나, 리프가 아니거나, 손실이 그 텐서에 "
           "의존하지 않으면 None으로 남습니다.",
        fix="Call loss.backward() before using {var}.grad; to reset gradients use "
            "optimizer.zero_grad() or `{var}.grad = None`, which work even before the first "
            "backward().",
        fix_ko="{var}.grad를 쓰기 전에 loss.backward()를 부르세요. 기울기를 지울 때는 "
               "optimizer.zero_grad()나 `{var}.grad = None`을 쓰면 첫 backward() 전에도 괜찮습니다.",
    ),
    Mistake(
        "target_dtype",
        r"expected target dtype to be Long|expected scalar type Long but found Float",
        en="The loss (cross entropy / NLL) expects class indices as integers (torch.long), but "
           "the targets are floats.",
        ko="손실 함수(cross entropy / NLL)는 정답 클래스 번호를 정수(torch.long)로 받는데, 정답이 "
           "실수 텐서입니다.",
        fix="Convert the targets: target.long(), or create them with dtype=torch.long.",
        fix_ko="정답을 정수로 바꾸세요: target.long(), 또는 dtype=torch.long으로 만드세요.",
    ),
)

BY_ID: dict[str, Mistake] = {m.id: m for m in MISTAKES}

# Sharper words for a mistake in a particular setting.
VARIANTS: dict[str, Mistake] = {
    # mat1 and mat2 ... raised inside nn.Linear: mat1 is the input, mat2 the weight transposed.
    "matmul_shapes/linear": Mistake(
        "matmul_shapes", BY_ID["matmul_shapes"].detect,
        en="The layer {layer} is nn.Linear(in_features={c2_in}, out_features={out}): it expects "
           "inputs whose last dimension is {c2_in}, but its input{input_name} has shape {shape}, "
           "whose last dimension is {c1}. (The error's numbers are input {r1}x{c1} and weight "
           "transposed {r2}x{c2}.)",
        ko="층 {layer}은(는) nn.Linear(in_features={c2_in}, out_features={out})이라서 마지막 차원이 "
           "{c2_in}인 입력을 받아야 하는데, 입력{input_name}의 모양은 {shape}이고 마지막 차원이 "
           "{c1}입니다. (오류 메시지의 숫자는 입력 {r1}x{c1}과 전치된 가중치 {r2}x{c2}입니다.)",
        fix="Make in_features match the input: nn.Linear({c1}, {out}), or reshape the input so "
            "its last dimension is {c2_in} (for images: x.flatten(1)).",
        fix_ko="in_features를 입력에 맞추거나(nn.Linear({c1}, {out})), 입력의 마지막 차원이 {c2_in}이 "
               "되도록 모양을 바꾸세요(이미지라면 x.flatten(1)).",
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
WARNINGS: dict[str, dict[str, str]] = {
    "nonleaf_grad": {
        "detect": r"\.grad attribute of a Tensor that is not a leaf Tensor is being accessed",
        "title": "{name}.grad is None: {name} is not a leaf",
        "title_ko": "{name}.grad는 None: {name}은(는) 리프가 아닙니다",
        "en": "{name} is not a leaf: it was computed from other tensors, so autograd does not keep "
              "its .grad after backward(), and reading {name}.grad gives None.",
        "ko": "{name}은(는) 리프가 아닙니다. 다른 텐서로부터 계산된 텐서라서 autograd가 backward() 뒤에 "
              "{name}.grad를 남겨 두지 않으므로, {name}.grad를 읽으면 None이 나옵니다.",
        "fix": "Call {name}.retain_grad() before backward() to keep its gradient, or read the "
               ".grad of the leaf tensor you created (the one with requires_grad=True).",
        "fix_ko": "backward() 전에 {name}.retain_grad()를 부르면 기울기가 남습니다. 아니면 직접 만든 "
                  "리프 텐서(requires_grad=True인 텐서)의 .grad를 읽으세요.",
    },
    "loss_broadcast": {
        "title": "The loss broadcasts a [{input}] prediction against a [{target}] target",
        "title_ko": "손실이 [{input}] 예측과 [{target}] 정답을 브로드캐스팅합니다",
        "detect": r"Using a target size \(torch\.Size\(\[(?P<target>[\d, ]*)\]\)\) that is different "
                  r"to the input size \(torch\.Size\(\[(?P<input>[\d, ]*)\]\)\)",
        "en": "The loss compares a prediction of shape [{input}] with a target of shape [{target}]. "
              "The shapes differ, so broadcasting silently pairs every prediction with every "
              "target: the loss runs, but it is not the loss you meant.",
        "ko": "손실 함수가 모양 [{input}]인 예측과 모양 [{target}]인 정답을 비교합니다. 모양이 달라서 "
              "브로드캐스팅이 모든 예측을 모든 정답과 짝지어 버립니다. 오류 없이 돌아가지만 의도한 "
              "손실이 아닙니다.",
        "fix": "Give prediction and target the same shape, e.g. pred.squeeze(-1) or "
               "target.view(-1, 1).",
        "fix_ko": "예측과 정답의 모양을 같게 만드세요(예: pred.squeeze(-1) 또는 target.view(-1, 1)).",
    },
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


_formatter = string.Formatter()


def fill(template: str, values: dict) -> str:
    """template.format(**values), with "?" for what is missing; never raises."""
    try:
        return _formatter.vformat(template, (), _Blank(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template
