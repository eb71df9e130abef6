"""Numerical gradient checks (central differences, float64, random projection), shipped with the package."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from minikeras.autograd.tensor import Tensor, no_grad


def numerical_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function `f` at `x` (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        fp = f(x)
        flat[i] = orig - eps
        fm = f(x)
        flat[i] = orig
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or getattr(type(fn), "__name__", repr(fn))


def check_grads(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-6,
                rtol: float = 1e-4, seed: int = 0, wrt: Optional[Any] = None) -> None:
    """Compare autograd gradients of `<fn(*inputs), R>` with central differences, in float64.

    `R` is a fixed random weighting of the output, so ops whose outputs sum to a constant (softmax) are still checked.

    Args:
        fn: function of Tensors returning a Tensor.
        *inputs: arrays (converted to float64 Tensors that require grad). Integer arrays are passed through as
            constant Tensors (indices, masks) and not checked.
        eps, atol, rtol: difference step and tolerances.
        seed: seed of the random projection.
        wrt: optional indices of the inputs to check (default: all floating inputs).

    Raises:
        AssertionError naming the function, the input index, its shape and the worst element (analytic vs numeric).

    >>> import numpy as np
    >>> check_grads(lambda x: x * x, np.array([1.0, -2.0]))
    """
    def make(i: int, a: Any) -> Tensor:
        arr = np.asarray(a)
        if arr.dtype.kind in "biu":
            return Tensor(arr)
        return Tensor(np.array(arr, dtype=np.float64), requires_grad=True)

    xs = [make(i, a) for i, a in enumerate(inputs)]
    out = fn(*xs)
    R = np.asarray(np.random.default_rng(seed).standard_normal(out.shape), dtype=np.float64)
    (out * Tensor(R)).sum().backward()
    indices = range(len(xs)) if wrt is None else ([wrt] if isinstance(wrt, int) else list(wrt))
    for i in indices:
        x = xs[i]
        if not x.requires_grad:
            continue

        def f_i(a: np.ndarray, i: int = i) -> float:
            args = list(xs)
            args[i] = Tensor(a)
            return float((fn(*args).data * R).sum())

        with no_grad():
            numeric = numerical_grad(f_i, x.data, eps)
        analytic = x.grad if x.grad is not None else np.zeros_like(x.data)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        # NOTE: a NaN anywhere (a numeric difference across a pole or outside the domain) fails the check, since
        # `NaN > 0` is False and would otherwise pass silently.
        if np.any(err > 0) or not np.all(np.isfinite(err)):
            flat = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            worst = tuple(int(k) for k in np.unravel_index(flat, x.shape))
            raise AssertionError(
                f"gradient check failed for {_name(fn)}, input {i} of shape {x.shape}: worst element {worst} "
                f"analytic {float(np.asarray(analytic)[worst])!r} vs numeric {float(numeric[worst])!r} "
                f"(atol={atol}, rtol={rtol}); max abs error {np.max(np.abs(analytic - numeric)):.3g}")
