"""Lesson 4: gradients of vectors.

F = sum(arr * tensor**2) is one number built from six.
Each element of tensor.grad is the partial derivative of F by that element:
dF/dtensor_i = 2 * arr_i * tensor_i and dF/darr_i = tensor_i ** 2.
"""
import torch

tensor = torch.tensor([2., 4., 8.], requires_grad=True)
arr = torch.tensor([-1., 2., 0.], requires_grad=True)

# backward() needs a scalar to start from, so we sum the elementwise terms.
F = (arr * tensor ** 2).sum()
F.backward()

print("F =", F.item())                    # -4 + 32 + 0 = 28
print("tensor.grad =", tensor.grad.tolist())  # [2*-1*2, 2*2*4, 2*0*8] = [-4, 16, 0]
print("arr.grad =", arr.grad.tolist())        # [4, 16, 64]
# A gradient always has the same shape as the tensor it belongs to.
print("shapes:", tuple(tensor.grad.shape), tuple(arr.grad.shape))
