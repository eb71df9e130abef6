"""A small reverse-mode autograd over numpy: `Tensor`, `Function`, the ops and `check_grads`."""
from minikeras.autograd.tensor import Tensor, Variable, as_tensor, enable_grad, is_grad_enabled, no_grad, tensor
from minikeras.autograd.function import Function, unbroadcast
from minikeras.autograd import ops
from minikeras.autograd.ops import ALL_OPS
from minikeras.autograd.gradcheck import check_grads, numerical_grad
from minikeras.autograd import allocator

# NOTE: once per process, at import: freed memory is kept for reuse (allocator.py says why, what it costs and how
# to turn it off)
allocator.tune_malloc()

__all__ = ["Tensor", "Variable", "tensor", "as_tensor", "no_grad", "enable_grad", "is_grad_enabled", "Function", "unbroadcast",
           "ops", "ALL_OPS", "check_grads", "numerical_grad"]
