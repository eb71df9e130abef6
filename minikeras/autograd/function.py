"""`Function`: one differentiable op, its forward and backward side by side, and `unbroadcast`."""
from __future__ import annotations

import weakref
from typing import Any, Tuple

import numpy as np

from minikeras.autograd import tensor as _tensor


def unbroadcast(grad: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing numpy broadcasting (HIPS autograd's `unbroadcast`)."""
    if grad.shape == tuple(shape):
        return grad
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Function:
    """Base class of every op.

    Subclasses define `forward(ctx, *arrays, **params)` returning an array (or a tuple of arrays for ops with
    several outputs) and `backward(ctx, grad)` returning one gradient per Tensor input (`None` where an input is not
    differentiable). `forward` receives numpy arrays; `apply` wraps and unwraps Tensors and records the graph.
    """

    #: True when `backward` returns only arrays it created (no input, saved array or incoming gradient, and no
    #: array twice), so a leaf can keep its gradient without a copy. Declared per op class, tested for each.
    fresh_grads = False

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved = arrays

    @classmethod
    def apply(cls, *tensors: "_tensor.Tensor", **params: Any):
        ctx = cls()
        _wrap = _tensor.Tensor._wrap
        needs_grad = False
        if _tensor.is_grad_enabled():
            for t in tensors:
                if t.requires_grad:
                    needs_grad = True
                    break
        if not needs_grad:
            # NOTE: the inference path (no_grad, or no input that needs a gradient) records nothing: no parents,
            # no weak references, outputs wrapped without re-validation.
            out = cls.forward(ctx, *[t.data for t in tensors], **params)
            if isinstance(out, tuple):
                return tuple(_wrap(o, False) for o in out)
            return _wrap(out, False)
        ctx.parents = tensors
        ctx.needs_input_grad = tuple(t.requires_grad for t in tensors)
        out = cls.forward(ctx, *[t.data for t in tensors], **params)
        # NOTE: "several outputs" is decided by the type forward returned, not by the count: `split(x, 1)` is a
        # multi-output op with one output and its backward still expects a tuple.
        ctx.multi_output = isinstance(out, tuple)
        if ctx.multi_output:
            outs = tuple(_wrap(o, True) for o in out)
            ctx.out_meta = tuple((o.data.shape, o.data.dtype) for o in outs)
        else:
            outs = (_wrap(out, True),)
        # NOTE: weak references, so a graph does not keep its own outputs alive (no tensor <-> ctx cycles).
        ctx.outputs = tuple(weakref.ref(o) for o in outs)
        for o in outs:
            o._ctx = ctx
        return outs if ctx.multi_output else outs[0]

    @staticmethod
    def forward(ctx: "Function", *args: Any, **kwargs: Any):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: "Function", grad: Any):  # pragma: no cover - abstract
        raise NotImplementedError
