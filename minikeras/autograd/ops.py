"""Primitive differentiable ops. Each class puts its forward and backward side by side (C1).

Binary ops unbroadcast their gradients with the one `unbroadcast`. The public functional API at the end
(`add`, `matmul`, `softmax`, ...) is what layers, losses and users call; `ALL_OPS` lists every op so the test suite
can assert each has a numerical gradient check.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd.function import Function, unbroadcast
from minikeras.autograd.tensor import Tensor, as_tensor
from minikeras.autograd.threads import gemm_threads

# ************************************************************ helpers


def _binary(name: str, fn: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Apply a numpy binary ufunc, turning numpy's broadcast error into one naming the op and both shapes."""
    try:
        return fn(a, b)
    except ValueError:
        raise ValueError(f"Operands of `{name}` could not be broadcast together, expected compatible shapes. "
                         f"Received: x.shape={a.shape}, y.shape={b.shape}") from None


def _norm_axes(axis: Any, ndim: int) -> Tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else a for a in axis)


def _expand_reduced(grad: np.ndarray, shape: Tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient back the reduced axes (size 1) so it broadcasts against the input."""
    if keepdims or axis is None and grad.ndim == len(shape):
        return grad
    axes = _norm_axes(axis, len(shape))
    return grad.reshape([1 if i in axes else s for i, s in enumerate(shape)])


# ************************************************************ elementwise binary


class Add(Function):
    """x + y.  d/dx = 1, d/dy = 1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        return _binary("add", np.add, x, y)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(grad, ctx.shapes[1])


class Sub(Function):
    """x - y.  d/dx = 1, d/dy = -1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        return _binary("subtract", np.subtract, x, y)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(-grad, ctx.shapes[1])


class Mul(Function):
    """x * y.  d/dx = y, d/dy = x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return _binary("multiply", np.multiply, x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        gx = unbroadcast(grad * y, x.shape) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(grad * x, y.shape) if ctx.needs_input_grad[1] else None
        return gx, gy


class Div(Function):
    """x / y.  d/dx = 1/y, d/dy = -x/y**2."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return _binary("divide", np.divide, x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        gx = unbroadcast(grad / y, x.shape) if ctx.needs_input_grad[0] else None
        gy = unbroadcast(-grad * x / (y * y), y.shape) if ctx.needs_input_grad[1] else None
        return gx, gy


class Pow(Function):
    """x ** y.  d/dx = y * x**(y-1), d/dy = x**y * log(x) (only where x > 0)."""

    @staticmethod
    def forward(ctx, x, y):
        out = _binary("power", np.power, x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = unbroadcast(grad * y * np.power(x, y - 1), x.shape)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                logx = np.where(x > 0, np.log(np.where(x > 0, x, 1)), 0)
            gy = unbroadcast(grad * out * logx, y.shape)
        return gx, gy


class Maximum(Function):
    """maximum(x, y).  The gradient goes to the larger input (to x on ties, as TF)."""

    @staticmethod
    def forward(ctx, x, y):
        out = _binary("maximum", np.maximum, x, y)
        ctx.save_for_backward(x >= y)
        ctx.shapes = (x.shape, y.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        (take_x,) = ctx.saved
        return (unbroadcast(np.where(take_x, grad, 0), ctx.shapes[0]),
                unbroadcast(np.where(take_x, 0, grad), ctx.shapes[1]))


class Minimum(Function):
    """minimum(x, y).  The gradient goes to the smaller input (to x on ties, as TF)."""

    @staticmethod
    def forward(ctx, x, y):
        out = _binary("minimum", np.minimum, x, y)
        ctx.save_for_backward(x <= y)
        ctx.shapes = (x.shape, y.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        (take_x,) = ctx.saved
        return (unbroadcast(np.where(take_x, grad, 0), ctx.shapes[0]),
                unbroadcast(np.where(take_x, 0, grad), ctx.shapes[1]))


class Where(Function):
    """where(cond, x, y).  d/dx = cond, d/dy = not cond; `cond` is not differentiable."""

    @staticmethod
    def forward(ctx, cond, x, y):
        cond = cond.astype(bool, copy=False)
        try:
            np.broadcast_shapes(cond.shape, x.shape, y.shape)
        except ValueError:
            raise ValueError("Operands of `where` could not be broadcast together, expected compatible shapes. "
                             f"Received: condition.shape={cond.shape}, x.shape={x.shape}, y.shape={y.shape}") from None
        ctx.save_for_backward(cond)
        ctx.shapes = (x.shape, y.shape)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved
        return (None, unbroadcast(np.where(cond, grad, 0), ctx.shapes[0]),
                unbroadcast(np.where(cond, 0, grad), ctx.shapes[1]))


def _macs(x: np.ndarray, y: np.ndarray) -> int:
    """The multiply-adds of `x @ y` (for `threads.gemm_threads`)."""
    return x.size * (y.shape[-1] if y.ndim > 1 else 1)


class MatMul(Function):
    """x @ y, batched over leading axes.  d/dx = g @ y^T, d/dy = x^T @ g (summed over broadcast batch axes)."""

    fresh_grads = True  # two new products

    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError("`matmul` expects inputs of rank >= 1. "
                             f"Received: x.shape={x.shape}, y.shape={y.shape}")
        if x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ValueError("Inputs of `matmul` have incompatible shapes: expected x.shape[-1] == y.shape[-2]. "
                             f"Received: x.shape={x.shape}, y.shape={y.shape}")
        ctx.save_for_backward(x, y)
        try:
            with gemm_threads(_macs(x, y)):
                return np.matmul(x, y)
        except ValueError:
            raise ValueError("Inputs of `matmul` have incompatible batch shapes: expected the leading axes to "
                             f"broadcast together. Received: x.shape={x.shape}, y.shape={y.shape}") from None

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        # NOTE: give the grad back the axes numpy dropped for 1-D operands; vector @ vector has a 0-d grad.
        if x.ndim == 1 and y.ndim == 1:
            g2 = np.reshape(grad, (1, 1))
        elif x.ndim == 1:
            g2 = np.expand_dims(grad, -2)
        elif y.ndim == 1:
            g2 = np.expand_dims(grad, -1)
        else:
            g2 = grad
        with gemm_threads(_macs(x2, y2)):
            return MatMul._grads(ctx, x, y, x2, y2, g2)

    @staticmethod
    def _grads(ctx, x, y, x2, y2, g2):
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = np.matmul(g2, np.swapaxes(y2, -1, -2))
            gx = unbroadcast(gx, x2.shape).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            if x2.ndim == 2 and g2.ndim == 2:
                gy = x2.T @ g2
            elif y2.ndim == 2 and x2.ndim > 2:
                # NOTE: a shared 2-D weight applied to a batch: fold the batch axes into one large GEMM.
                gy = x2.reshape(-1, x2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
            else:
                gy = unbroadcast(np.matmul(np.swapaxes(x2, -1, -2), g2), y2.shape)
            gy = gy.reshape(y.shape)
        return gx, gy


# ************************************************************ elementwise unary


class Neg(Function):
    """-x.  d/dx = -1."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    """exp(x).  d/dx = exp(x)."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.saved[0]


class Log(Function):
    """log(x).  d/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / ctx.saved[0]


class Sqrt(Function):
    """sqrt(x).  d/dx = 1 / (2 sqrt(x))."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.saved[0])


class Square(Function):
    """x**2.  d/dx = 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 * ctx.saved[0]


class Abs(Function):
    """|x|.  d/dx = sign(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.sign(ctx.saved[0])


# ************************************************************ activation maths: ONE table
#
# Every built-in activation's numpy maths is written once, here: `ACTIVATION_MATH[name]`. The activation ops below
# (and so `minikeras.activations`) and the fused RNN kernels (`minikeras.autograd.rnn`) all use it.

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    # NOTE: numpy has no erf; math.erf is exact to double precision. Only gelu(approximate=False) needs it.
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)


class ActivationMath:
    """One activation's numpy maths.

    Attributes:
        name: the Keras name (`hard_sigmoid_keras3` for Keras 3's hard sigmoid).
        forward: `forward(x, out=None) -> y`; `out` may be `x` itself (in place) and must be given as an array of
            x's shape and dtype; without `out` a new array is returned.
        deriv: `deriv(y, x) -> dy/dx` elementwise, from the output `y` (and the input `x` when `needs_input`).
        needs_input: the derivative needs `x` (callers keep a copy of the pre-activation).
        identity: `linear` (callers skip multiplies).
        fold: `(scale, shift, core, post_scale, post_shift)` when `act(x) = post_scale * core(scale * x + shift) +
            post_shift` with a core of `FOLD_CORES`. The fused kernels fold `scale` and `shift` into scaled copies
            of the weights, so a block of gates costs one core call (and the post affine where it is not 1, 0).
    """

    __slots__ = ("name", "forward", "deriv", "needs_input", "identity", "fold")

    def __init__(self, name: str, forward: Any, deriv: Any, needs_input: bool = False, identity: bool = False,
                 fold: Optional[Tuple[float, float, str, float, float]] = None):
        self.name, self.forward, self.deriv = name, forward, deriv
        self.needs_input, self.identity, self.fold = needs_input, identity, fold

    def __repr__(self) -> str:
        return f"<activation maths {self.name}>"


def _tanh(x, out=None):
    return np.tanh(x, out=out)


def _sigmoid(x, out=None):
    # NOTE: 0.5 * (1 + tanh(x / 2)): one transcendental, and no overflow for any x (exp(-x) overflows below -88)
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_np(x: np.ndarray) -> np.ndarray:
    """The logistic sigmoid of an array (a new array)."""
    return _sigmoid(x)


# NOTE: the clip ufunc itself. np.clip's Python wrapper costs ~5 us a call, more than the clip of a gate block of a
# few samples: a one-sample predict of a hard_sigmoid LSTM spent a fifth of its time there.
try:
    _clip_ufunc = np._core.umath.clip
except AttributeError:  # numpy < 2
    _clip_ufunc = np.core.umath.clip


def _hard_sigmoid(name: str, slope: float) -> ActivationMath:
    def forward(x, out=None):
        out = np.multiply(x, slope, out=out)
        out += 0.5
        return _clip_ufunc(out, 0, 1, out=out)

    def deriv(y, x):
        return np.where((y > 0) & (y < 1), y.dtype.type(slope), y.dtype.type(0))
    return ActivationMath(name, forward, deriv, fold=(slope, 0.5, "clip01", 1.0, 0.0))  # clip(slope x + 0.5)


def _tanh_core(a: np.ndarray) -> np.ndarray:
    return np.tanh(a, out=a)


def _clip01_core(a: np.ndarray) -> np.ndarray:
    return _clip_ufunc(a, 0, 1, out=a)


#: The in-place cores that folded activations reduce to (see `ActivationMath.fold`).
FOLD_CORES = {"tanh": _tanh_core, "clip01": _clip01_core}


def _linear(x, out=None):
    if out is None:
        return x.copy()
    if out is not x:
        np.copyto(out, x)
    return out


def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _relu6(x, out=None):
    return np.clip(x, 0, 6, out=out)


def _leaky_relu(x, out=None):
    out = _linear(x, out)
    np.multiply(out, out.dtype.type(0.2), out=out, where=out < 0)
    return out


def _softsign(x, out=None):
    d = np.abs(x)
    d += 1
    return np.divide(x, d, out=out)


def elu_np(x: np.ndarray, alpha: float = 1.0, out: Optional[np.ndarray] = None) -> np.ndarray:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    neg = np.expm1(np.minimum(x, 0))
    if alpha != 1:
        neg *= x.dtype.type(alpha)
    out = _linear(x, out)
    np.copyto(out, neg, where=out <= 0)
    return out


def _elu(x, out=None):
    return elu_np(x, 1.0, out)


def _selu(x, out=None):
    out = elu_np(x, SELU_ALPHA, out)
    out *= out.dtype.type(SELU_SCALE)
    return out


def _softplus(x, out=None):
    return np.logaddexp(x.dtype.type(0), x, out=out)


def _exponential(x, out=None):
    return np.exp(x, out=out)


def _swish(x, out=None):
    s = sigmoid_np(x)
    return np.multiply(x, s, out=out)


def _swish_deriv(y, x):
    s = sigmoid_np(x)
    return s + x * s * (1 - s)


def _gelu(x, out=None):
    cdf = _erf(x / x.dtype.type(math.sqrt(2.0)))
    cdf += 1
    cdf *= 0.5
    return np.multiply(x, cdf, out=out)


def _gelu_deriv(y, x):
    cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    return (cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)).astype(x.dtype, copy=False)


def _mask_deriv(cond: np.ndarray, dtype: Any) -> np.ndarray:
    return cond.astype(dtype)


#: Every built-in activation's maths, by name. `hard_sigmoid` is Keras 1/2's `clip(0.2x + 0.5, 0, 1)`,
#: `hard_sigmoid_keras3` Keras 3's `clip(x/6 + 0.5, 0, 1)`.
ACTIVATION_MATH: Dict[str, ActivationMath] = {a.name: a for a in (
    # NOTE: sigmoid(x) = 0.5 tanh(0.5 x) + 0.5, so an LSTM's four gates are one tanh call over the whole gate block
    # (numpy's float32 tanh costs 0.38 ns per element with AVX-512, exp 0.59; about 1.1 ns both with AVX2).
    ActivationMath("tanh", _tanh, lambda y, x: 1 - y * y, fold=(1.0, 0.0, "tanh", 1.0, 0.0)),
    ActivationMath("sigmoid", _sigmoid, lambda y, x: y * (1 - y), fold=(0.5, 0.0, "tanh", 0.5, 0.5)),
    _hard_sigmoid("hard_sigmoid", 0.2),
    _hard_sigmoid("hard_sigmoid_keras3", 1.0 / 6.0),
    ActivationMath("linear", _linear, lambda y, x: np.ones_like(y), identity=True),
    ActivationMath("relu", _relu, lambda y, x: _mask_deriv(y > 0, y.dtype)),
    ActivationMath("relu6", _relu6, lambda y, x: _mask_deriv((y > 0) & (y < 6), y.dtype)),
    ActivationMath("leaky_relu", _leaky_relu, lambda y, x: np.where(y > 0, y.dtype.type(1), np.where(
        y < 0, y.dtype.type(0.2), y.dtype.type(0)))),
    ActivationMath("softsign", _softsign, lambda y, x: (1 - np.abs(y)) ** 2),
    ActivationMath("elu", _elu, lambda y, x: np.where(y > 0, y.dtype.type(1), y + 1)),
    ActivationMath("selu", _selu, lambda y, x: np.where(y > 0, y.dtype.type(SELU_SCALE),
                                                        y + y.dtype.type(SELU_SCALE * SELU_ALPHA))),
    ActivationMath("softplus", _softplus, lambda y, x: sigmoid_np(x), needs_input=True),
    ActivationMath("exponential", _exponential, lambda y, x: y),
    ActivationMath("swish", _swish, _swish_deriv, needs_input=True),
    ActivationMath("gelu", _gelu, _gelu_deriv, needs_input=True),
)}


def _forward_by_table(ctx: Any, name: str, x: np.ndarray) -> np.ndarray:
    maths = ACTIVATION_MATH[name]
    out = maths.forward(x)
    ctx.save_for_backward(out, x if maths.needs_input else None)
    return out


def _backward_by_table(ctx: Any, name: str, grad: np.ndarray) -> np.ndarray:
    y, x = ctx.saved
    return grad * ACTIVATION_MATH[name].deriv(y, x)


class Tanh(Function):
    """tanh(x).  d/dx = 1 - tanh(x)**2."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "tanh", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "tanh", grad)


class Sigmoid(Function):
    """sigmoid(x) = 1 / (1 + exp(-x)).  d/dx = s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "sigmoid", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "sigmoid", grad)


def _hard_sigmoid_math(slope: float) -> ActivationMath:
    return ACTIVATION_MATH["hard_sigmoid_keras3" if slope == 1.0 / 6.0 else "hard_sigmoid"] \
        if slope in (0.2, 1.0 / 6.0) else _hard_sigmoid("hard_sigmoid", slope)


class HardSigmoid(Function):
    """clip(slope * x + 0.5, 0, 1).  d/dx = slope inside the linear part, else 0.

    `slope=0.2` is Keras 1/2's `hard_sigmoid`; `slope=1/6` is Keras 3's (`relu6(x + 3) / 6`).
    """

    @staticmethod
    def forward(ctx, x, slope=0.2):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return _hard_sigmoid_math(slope).forward(x)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.saved[0]
        bound = 0.5 / ctx.slope
        return grad * np.where((x > -bound) & (x < bound), x.dtype.type(ctx.slope), x.dtype.type(0))


class Relu(Function):
    """Keras's relu(x, alpha, max_value, threshold):
    `x if x > threshold else 0`, clipped to `[0, max_value]`, minus `alpha * relu(threshold - x)`.
    d/dx = 1 on the linear part, alpha below the threshold, 0 where clipped.
    """

    @staticmethod
    def forward(ctx, x, alpha=0.0, max_value=None, threshold=0.0):
        above = x > threshold
        out = np.where(above, x, 0).astype(x.dtype, copy=False)
        keep = above
        if max_value is not None:
            keep = keep & (out > 0) & (out < max_value) if threshold != 0 else keep & (out < max_value)
            out = np.clip(out, 0, max_value)
        if alpha != 0:
            below = x < threshold
            out = out - x.dtype.type(alpha) * np.where(below, threshold - x, 0).astype(x.dtype, copy=False)
            ctx.below = below
        ctx.save_for_backward(keep)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved
        g = np.where(keep, grad, 0)
        if ctx.alpha != 0:
            g = g + np.where(ctx.below, grad * grad.dtype.type(ctx.alpha), 0)
        return g


class Elu(Function):
    """x if x > 0 else alpha * (exp(x) - 1).  d/dx = 1 or alpha * exp(x) = y + alpha."""

    @staticmethod
    def forward(ctx, x, alpha=1.0):
        out = elu_np(x, alpha)
        ctx.save_for_backward(x, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        return grad * np.where(x > 0, x.dtype.type(1), y + x.dtype.type(ctx.alpha))


class Selu(Function):
    """scale * elu(x, alpha) with Keras's constants.  d/dx = scale, or scale * alpha * exp(x) = y + scale * alpha."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "selu", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "selu", grad)


class Softplus(Function):
    """log(1 + exp(x)).  d/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "softplus", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "softplus", grad)


class Softsign(Function):
    """x / (1 + |x|).  d/dx = 1 / (1 + |x|)**2 = (1 - |y|)**2."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "softsign", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "softsign", grad)


class Swish(Function):
    """x * sigmoid(x) (also `silu`).  d/dx = s + x s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        return _forward_by_table(ctx, "swish", x)

    @staticmethod
    def backward(ctx, grad):
        return _backward_by_table(ctx, "swish", grad)


class Gelu(Function):
    """Gaussian error linear unit: 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation.
    d/dx = Phi(x) + x phi(x) (exact form)."""

    @staticmethod
    def forward(ctx, x, approximate=False):
        ctx.approximate = approximate
        if approximate:
            ctx.save_for_backward(x)
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            return (0.5 * x * (1 + np.tanh(inner))).astype(x.dtype, copy=False)
        return _forward_by_table(ctx, "gelu", x)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.approximate:
            return _backward_by_table(ctx, "gelu", grad)
        x = ctx.saved[0]
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return grad * d.astype(x.dtype, copy=False)


class Clip(Function):
    """clip(x, lo, hi).  d/dx = 1 inside [lo, hi], else 0 (as TF's clip_by_value)."""

    @staticmethod
    def forward(ctx, x, min_value=None, max_value=None):
        inside = np.ones(x.shape, bool)
        if min_value is not None:
            inside &= x >= min_value
        if max_value is not None:
            inside &= x <= max_value
        ctx.save_for_backward(inside)
        return np.clip(x, min_value, max_value).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return np.where(ctx.saved[0], grad, 0)


class Cast(Function):
    """x.astype(dtype).  The gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, x, dtype=None):
        ctx.in_dtype = x.dtype
        return x.astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if ctx.in_dtype.kind not in "fc":
            return None
        return grad.astype(ctx.in_dtype, copy=False)


# ************************************************************ reductions


class Sum(Function):
    """sum(x, axis).  d/dx = 1 broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g, ctx.shape).copy()


class Mean(Function):
    """mean(x, axis).  d/dx = 1/n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.asarray(x.mean(axis=axis, keepdims=keepdims))
        # NOTE: `max` here would be this module's `ops.max` (defined below), not the builtin.
        ctx.n = x.size // out.size if out.size else 1
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return np.broadcast_to(g / g.dtype.type(ctx.n), ctx.shape).copy()


class Max(Function):
    """max(x, axis).  The gradient is shared equally among the maximal elements."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.asarray(x.max(axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved
        out_b = _expand_reduced(out, x.shape, ctx.axis, ctx.keepdims)
        hit = (x == out_b).astype(x.dtype)
        count = hit.sum(axis=ctx.axis, keepdims=True) if ctx.axis is not None else hit.sum()
        g = _expand_reduced(grad, x.shape, ctx.axis, ctx.keepdims)
        return g * hit / count


class Min(Function):
    """min(x, axis).  The gradient is shared equally among the minimal elements."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        out = np.asarray(x.min(axis=axis, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved
        out_b = _expand_reduced(out, x.shape, ctx.axis, ctx.keepdims)
        hit = (x == out_b).astype(x.dtype)
        count = hit.sum(axis=ctx.axis, keepdims=True) if ctx.axis is not None else hit.sum()
        g = _expand_reduced(grad, x.shape, ctx.axis, ctx.keepdims)
        return g * hit / count


class Softmax(Function):
    """softmax(x, axis).  d/dx = s * (g - sum(g * s, axis))."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(s)
        ctx.axis = axis
        return s

    @staticmethod
    def backward(ctx, grad):
        s = ctx.saved[0]
        return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x, axis).  d/dx = g - softmax(x) * sum(g, axis)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        out = shifted - lse
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved[0]
        return grad - np.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


# ************************************************************ shape ops


class Reshape(Function):
    """reshape(x, shape).  d/dx = reshape(g, x.shape)."""

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"Cannot reshape a tensor of shape {x.shape} ({x.size} elements) to the requested "
                             f"shape. Received: shape={tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Transpose(Function):
    """transpose(x, axes).  d/dx = transpose(g, inverse(axes))."""

    @staticmethod
    def forward(ctx, x, axes=None):
        out = np.transpose(x, axes)
        # NOTE: argsort inverts a permutation only once negative axes are made positive: (0, -1, 1) is (0, 2, 1).
        ctx.axes = None if axes is None else tuple(int(a) % x.ndim for a in axes)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.axes is None:
            return np.transpose(grad)
        return np.transpose(grad, np.argsort(ctx.axes))


class ExpandDims(Function):
    """expand_dims(x, axis).  d/dx = squeeze(g, axis)."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.in_shape = x.shape
        return np.expand_dims(x, axis)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Squeeze(Function):
    """squeeze(x, axis).  d/dx = reshape(g, x.shape)."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.in_shape = x.shape
        try:
            return np.squeeze(x, axis)
        except ValueError:
            raise ValueError(f"Cannot squeeze axis {axis} of a tensor of shape {x.shape}: expected a size-1 axis. "
                             f"Received: axis={axis}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Flip(Function):
    """flip(x, axis).  d/dx = flip(g, axis)."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.axis = axis
        return np.flip(x, axis)

    @staticmethod
    def backward(ctx, grad):
        return np.flip(grad, ctx.axis)


class GetItem(Function):
    """x[index] (basic and advanced indexing).  d/dx scatters g back, adding over repeated indices."""

    @staticmethod
    def forward(ctx, x, index=None):
        ctx.in_shape, ctx.index, ctx.dtype = x.shape, index, x.dtype
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        out = np.zeros(ctx.in_shape, dtype=ctx.dtype)
        idx = ctx.index
        parts = idx if isinstance(idx, tuple) else (idx,)
        if any(isinstance(p, (list, np.ndarray)) for p in parts):
            np.add.at(out, idx, grad)
        else:
            out[idx] = grad
        return out


class Concatenate(Function):
    """concatenate(xs, axis).  d/dx_i = the slice of g that x_i occupies."""

    @staticmethod
    def forward(ctx, *xs, axis=-1):
        try:
            out = np.concatenate(xs, axis=axis)
        except ValueError:
            raise ValueError("`concatenate` expects inputs with matching shapes except along the concatenation "
                             f"axis. Received: axis={axis}, shapes={[x.shape for x in xs]}") from None
        ctx.sizes = [x.shape[axis] for x in xs]
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, np.cumsum(ctx.sizes)[:-1], axis=ctx.axis))


class Stack(Function):
    """stack(xs, axis).  d/dx_i = g taken at index i along axis."""

    @staticmethod
    def forward(ctx, *xs, axis=0):
        try:
            out = np.stack(xs, axis=axis)
        except ValueError:
            raise ValueError("`stack` expects inputs of identical shapes. "
                             f"Received: shapes={[x.shape for x in xs]}") from None
        ctx.axis, ctx.n = axis, len(xs)
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.take(grad, i, axis=ctx.axis) for i in range(ctx.n))


class Split(Function):
    """split(x, n or indices, axis), several outputs.  d/dx = concatenate(g_i, axis)."""

    @staticmethod
    def forward(ctx, x, indices_or_sections=2, axis=0):
        try:
            parts = np.split(x, indices_or_sections, axis=axis)
        except ValueError:
            raise ValueError(f"`split` cannot divide axis {axis} of size {x.shape[axis]} into equal parts. "
                             f"Received: num_or_indices={indices_or_sections}") from None
        ctx.axis = axis
        return tuple(parts)

    @staticmethod
    def backward(ctx, grads):
        return np.concatenate(grads, axis=ctx.axis)


def _scatter_add_rows(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """`out[rows[k]] += values[k]` for every k, repeated rows adding up (`np.add.at(out, rows, values)`), for a
    C-contiguous `out`.

    NOTE: numpy's `add.at` has a fast path only for one-dimensional operands; on rows of an (n, d) table it runs
    element by element (an Embedding(5000, 64) gradient of 2560 tokens: 1.5 ms against 0.33 ms). So the rows are
    scattered as elements of the flat table, `rows * d + column`. Every element still receives its contributions
    in the order of `rows`: the sums are the same, bit for bit.
    """
    d = int(np.prod(out.shape[1:], dtype=np.int64))
    if d == 1 or not out.flags.c_contiguous:
        np.add.at(out, rows, values)
        return
    rows = rows.astype(np.intp, copy=False) % out.shape[0]  # negative indices count from the end, as in add.at
    flat = (rows[:, None] * d + np.arange(d, dtype=np.intp)).reshape(-1)
    np.add.at(out.reshape(-1), flat, np.ascontiguousarray(values).reshape(-1))


class Take(Function):
    """take(params, indices, axis) (Embedding lookup).  d/dparams scatter-adds g at the indices."""

    fresh_grads = True  # a new zeros array scattered into

    @staticmethod
    def forward(ctx, params, indices, axis=0):
        if indices.dtype.kind not in "iu":
            raise TypeError("`take` expects integer indices. "
                            f"Received: indices of dtype {indices.dtype}")
        n = params.shape[axis]
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise ValueError(f"`take` indices must be in [0, {n}). Received: indices with min {indices.min()} "
                             f"and max {indices.max()}")
        ctx.save_for_backward(indices)
        # NOTE: backward locates the index axes of the output from `axis`, which must not be negative there.
        ctx.shape, ctx.dtype, ctx.axis = params.shape, params.dtype, axis % params.ndim
        return np.take(params, indices, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved
        out = np.zeros(ctx.shape, dtype=ctx.dtype)
        if ctx.axis == 0:
            _scatter_add_rows(out, indices.reshape(-1), grad.reshape((-1,) + ctx.shape[1:]))
        else:
            moved = np.moveaxis(out, ctx.axis, 0)
            g = np.moveaxis(grad, list(range(ctx.axis, ctx.axis + indices.ndim)),
                            list(range(indices.ndim)))
            np.add.at(moved, indices.reshape(-1), g.reshape((-1,) + moved.shape[1:]))
        return out, None


# ************************************************************ functional API


def _t(x: Any, like: Optional[Tensor] = None) -> Tensor:
    return as_tensor(x, like=like)


def _pair(x: Any, y: Any) -> Tuple[Tensor, Tensor]:
    if isinstance(x, Tensor):
        return x, _t(y, like=x)
    y = _t(y)
    return _t(x, like=y), y


def add(x, y): return Add.apply(*_pair(x, y))
def subtract(x, y): return Sub.apply(*_pair(x, y))
def multiply(x, y): return Mul.apply(*_pair(x, y))
def divide(x, y): return Div.apply(*_pair(x, y))
def power(x, y): return Pow.apply(*_pair(x, y))
def maximum(x, y): return Maximum.apply(*_pair(x, y))
def minimum(x, y): return Minimum.apply(*_pair(x, y))
def matmul(x, y): return MatMul.apply(*_pair(x, y))
def negative(x): return Neg.apply(_t(x))
def exp(x): return Exp.apply(_t(x))
def log(x): return Log.apply(_t(x))
def sqrt(x): return Sqrt.apply(_t(x))
def square(x): return Square.apply(_t(x))
def abs(x): return Abs.apply(_t(x))  # noqa: A001 - mirrors numpy/keras.ops naming
def tanh(x): return Tanh.apply(_t(x))
def sigmoid(x): return Sigmoid.apply(_t(x))
def softplus(x): return Softplus.apply(_t(x))
def softsign(x): return Softsign.apply(_t(x))
def selu(x): return Selu.apply(_t(x))
def swish(x): return Swish.apply(_t(x))
silu = swish
def exponential(x): return Exp.apply(_t(x))
def linear(x): return _t(x)


def hard_sigmoid(x, era: int = 2):
    """Keras 2's clip(0.2x + 0.5, 0, 1) (`era=2`, also Keras 1) or Keras 3's clip(x/6 + 0.5, 0, 1) (`era=3`)."""
    if era not in (1, 2, 3):
        raise ValueError(f"`hard_sigmoid` era must be 1, 2 or 3. Received: era={era}")
    return HardSigmoid.apply(_t(x), slope=1.0 / 6.0 if era == 3 else 0.2)


def relu(x, alpha: float = 0.0, max_value: Optional[float] = None, threshold: float = 0.0):
    return Relu.apply(_t(x), alpha=float(alpha), max_value=None if max_value is None else float(max_value),
                      threshold=float(threshold))


def elu(x, alpha: float = 1.0): return Elu.apply(_t(x), alpha=float(alpha))
def gelu(x, approximate: bool = False): return Gelu.apply(_t(x), approximate=bool(approximate))
def softmax(x, axis: int = -1): return Softmax.apply(_t(x), axis=axis)
def log_softmax(x, axis: int = -1): return LogSoftmax.apply(_t(x), axis=axis)
def clip(x, min_value=None, max_value=None): return Clip.apply(_t(x), min_value=min_value, max_value=max_value)
def cast(x, dtype): return Cast.apply(_t(x), dtype=np.dtype(dtype))
def sum(x, axis=None, keepdims=False): return _t(x).sum(axis, keepdims)  # noqa: A001
def mean(x, axis=None, keepdims=False): return _t(x).mean(axis, keepdims)
def max(x, axis=None, keepdims=False): return _t(x).max(axis, keepdims)  # noqa: A001
def min(x, axis=None, keepdims=False): return _t(x).min(axis, keepdims)  # noqa: A001
def reshape(x, shape): return _t(x).reshape(tuple(shape))
def transpose(x, axes=None): return Transpose.apply(_t(x), axes=None if axes is None else tuple(axes))
def expand_dims(x, axis): return ExpandDims.apply(_t(x), axis=axis)
def squeeze(x, axis=None): return Squeeze.apply(_t(x), axis=axis)
def flip(x, axis=None): return Flip.apply(_t(x), axis=axis)


def where(condition, x, y):
    x, y = _pair(x, y)
    cond = condition if isinstance(condition, Tensor) else Tensor._wrap(np.asarray(condition), False)
    return Where.apply(cond, x, y)


def _tensor_list(xs: Sequence[Any]) -> Sequence[Tensor]:
    if not xs:
        raise ValueError("Expected a non-empty list of tensors. Received: []")
    first = next((x for x in xs if isinstance(x, Tensor)), None)
    return [_t(x, like=first) for x in xs]


def concatenate(xs, axis: int = -1): return Concatenate.apply(*_tensor_list(xs), axis=axis)
def stack(xs, axis: int = 0): return Stack.apply(*_tensor_list(xs), axis=axis)


def split(x, indices_or_sections, axis: int = 0):
    """Split along `axis` into equal parts (an int) or at the given indices; returns a tuple of Tensors."""
    if not isinstance(indices_or_sections, int):
        indices_or_sections = tuple(int(i) for i in indices_or_sections)
    return Split.apply(_t(x), indices_or_sections=indices_or_sections, axis=axis)


def take(params, indices, axis: int = 0):
    idx = indices if isinstance(indices, Tensor) else Tensor._wrap(np.asarray(indices), False)
    return Take.apply(_t(params), idx, axis=axis)


gather = take


def one_hot(indices, num_classes: int, dtype: Any = None) -> Tensor:
    """One-hot encode integer `indices` (not differentiable): shape `indices.shape + (num_classes,)`."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(np.mod(idx, 1) == 0):
            idx = idx.astype(np.int64)
        else:
            raise TypeError(f"`one_hot` expects integer indices. Received: indices of dtype {idx.dtype}")
    out = np.zeros(idx.shape + (num_classes,), dtype=dtype or backend.floatx())
    valid = (idx >= 0) & (idx < num_classes)
    # NOTE: out-of-range indices give an all-zero row, as tf.one_hot.
    np.put_along_axis(out, np.where(valid, idx, 0)[..., None], valid[..., None].astype(out.dtype), axis=-1)
    return Tensor._wrap(out, False)


ALL_OPS = (
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Where, MatMul,
    Neg, Exp, Log, Sqrt, Square, Abs, Tanh, Sigmoid, HardSigmoid, Relu, Elu, Selu, Softplus, Softsign, Swish, Gelu,
    Clip, Cast,
    Sum, Mean, Max, Min, Softmax, LogSoftmax,
    Reshape, Transpose, ExpandDims, Squeeze, Flip, GetItem, Concatenate, Stack, Split, Take,
)


# ************************************************************ 1-D convolution and pooling (channels-last)


def _windows1d(xp: np.ndarray, size: int, stride: int, dilation: int, length: int) -> np.ndarray:
    """Read-only strided view `(batch, length, size, channels)` of the sliding windows of `xp` (no copy)."""
    sb, sl, sc = xp.strides
    return np.lib.stride_tricks.as_strided(xp, (xp.shape[0], length, size, xp.shape[2]),
                                           (sb, stride * sl, dilation * sl, sc), writeable=False)


def _window_count(padded: int, size: int, stride: int, dilation: int, op: str) -> int:
    length = (padded - dilation * (size - 1) - 1) // stride + 1
    if length < 1:
        raise ValueError(f"`{op}` would produce an output of size {length}: the padded input has {padded} steps, "
                         f"expected at least {dilation * (size - 1) + 1} (the window's span).")
    return length


def _scatter_windows(dcols: np.ndarray, padded_shape: Tuple[int, ...], stride: int, dilation: int) -> np.ndarray:
    """Adjoint of `_windows1d`: add each window tap's gradient back into the padded input.

    One vectorised add per tap of the window (kernel_size of them), never a loop over positions."""
    dxp = np.zeros(padded_shape, dcols.dtype)
    length = dcols.shape[1]
    for k in range(dcols.shape[2]):
        start = k * dilation
        dxp[:, start:start + stride * (length - 1) + 1:stride, :] += dcols[:, :, k, :]
    return dxp


class Conv1D(Function):
    """1-D cross-correlation of `x (batch, steps, in_channels)` with `w (kernel_size, in_channels // groups, filters)`.

    im2col on a strided view of the zero-padded input, then one (batched over groups) GEMM, as TF's
    `conv1d`: `out[b, t, f] = sum_{k, c} xp[b, t * stride + k * dilation, c] * w[k, c, f]` inside each group.
    d/dw = cols^T @ grad; d/dx = grad @ w^T scattered back through the windows.
    """

    @staticmethod
    def forward(ctx, x, w, stride=1, dilation=1, pad=(0, 0), groups=1):
        batch, steps, channels = x.shape
        size, cg, filters = w.shape
        if cg * groups != channels or filters % groups:
            raise ValueError(f"`conv1d` expected a kernel of shape (kernel_size, {channels // groups}, "
                             f"filters divisible by {groups}). Received: kernel.shape={w.shape}, "
                             f"inputs.shape={x.shape}, groups={groups}")
        xp = np.pad(x, ((0, 0), tuple(pad), (0, 0))) if any(pad) else x
        length = _window_count(xp.shape[1], size, stride, dilation, "conv1d")
        fg = filters // groups
        # im2col: the reshape copies the view into (groups, batch * length, size * cg) rows.
        cols = _windows1d(xp, size, stride, dilation, length).reshape(batch * length, size, groups, cg)
        cols = cols.transpose(2, 0, 1, 3).reshape(groups, batch * length, size * cg)
        wg = w.reshape(size, cg, groups, fg).transpose(2, 0, 1, 3).reshape(groups, size * cg, fg)
        out = np.matmul(cols, wg)
        ctx.save_for_backward(cols, wg)
        ctx.meta = (x.shape, w.shape, xp.shape, stride, dilation, tuple(pad), groups, length)
        return out.transpose(1, 0, 2).reshape(batch, length, filters)

    @staticmethod
    def backward(ctx, grad):
        cols, wg = ctx.saved
        (batch, steps, channels), (size, cg, filters), padded_shape, stride, dilation, pad, groups, length = ctx.meta
        fg = filters // groups
        g = grad.reshape(batch * length, groups, fg).transpose(1, 0, 2)
        dx = dw = None
        if ctx.needs_input_grad[1]:
            dw = np.matmul(cols.transpose(0, 2, 1), g)
            dw = dw.reshape(groups, size, cg, fg).transpose(1, 2, 0, 3).reshape(size, cg, filters)
        if ctx.needs_input_grad[0]:
            dcols = np.matmul(g, wg.transpose(0, 2, 1)).reshape(groups, batch, length, size, cg)
            dcols = dcols.transpose(1, 2, 3, 0, 4).reshape(batch, length, size, channels)
            dxp = _scatter_windows(dcols, padded_shape, stride, dilation)
            dx = dxp[:, pad[0]:pad[0] + steps, :]
        return dx, dw


class Pool1D(Function):
    """Max or average pooling over windows of axis 1 of `x (batch, steps, channels)`.

    Padding never takes part: max pooling pads with -inf, average pooling divides each window by the number of
    real steps it covers (TF's `SAME` pooling). The max gradient goes to the first maximum of each window (TF).
    """

    @staticmethod
    def forward(ctx, x, mode="max", pool=2, stride=2, pad=(0, 0)):
        steps = x.shape[1]
        fill = -np.inf if mode == "max" else 0
        xp = np.pad(x, ((0, 0), tuple(pad), (0, 0)), constant_values=fill) if any(pad) else x
        length = _window_count(xp.shape[1], pool, stride, 1, f"{mode}_pool1d")
        win = _windows1d(xp, pool, stride, 1, length)
        ctx.meta = (x.shape, xp.shape, mode, pool, stride, tuple(pad), length)
        if mode == "max":
            idx = win.argmax(axis=2)
            ctx.save_for_backward(idx)
            return np.take_along_axis(win, idx[:, :, None, :], axis=2)[:, :, 0, :]
        starts = np.arange(length) * stride - pad[0]
        counts = (np.minimum(starts + pool, steps) - np.maximum(starts, 0)).astype(x.dtype)[None, :, None]
        ctx.save_for_backward(counts)
        return (win.sum(axis=2) / counts).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        shape, padded_shape, mode, pool, stride, pad, length = ctx.meta
        if mode == "max":
            idx = ctx.saved[0]
            dcols = np.where(np.arange(pool)[None, None, :, None] == idx[:, :, None, :], grad[:, :, None, :], 0)
        else:
            dcols = np.broadcast_to((grad / ctx.saved[0])[:, :, None, :], grad.shape[:2] + (pool, grad.shape[2]))
        dxp = _scatter_windows(dcols.astype(grad.dtype, copy=False), padded_shape, stride, 1)
        return dxp[:, pad[0]:pad[0] + shape[1], :]


def conv1d(x, kernel, strides: int = 1, padding: Tuple[int, int] = (0, 0), dilation_rate: int = 1,
           groups: int = 1) -> Tensor:
    """Channels-last 1-D convolution; `padding` is the explicit `(left, right)` zero padding of the steps axis."""
    x = _t(x)
    return Conv1D.apply(x, _t(kernel, like=x), stride=int(strides), dilation=int(dilation_rate),
                        pad=(int(padding[0]), int(padding[1])), groups=int(groups))


def max_pool1d(x, pool_size: int, strides: int, padding: Tuple[int, int] = (0, 0)) -> Tensor:
    """Channels-last 1-D max pooling; `padding` is `(left, right)` steps that never win."""
    return Pool1D.apply(_t(x), mode="max", pool=int(pool_size), stride=int(strides),
                        pad=(int(padding[0]), int(padding[1])))


def avg_pool1d(x, pool_size: int, strides: int, padding: Tuple[int, int] = (0, 0)) -> Tensor:
    """Channels-last 1-D average pooling; padded steps are left out of each window's count."""
    return Pool1D.apply(_t(x), mode="avg", pool=int(pool_size), stride=int(strides),
                        pad=(int(padding[0]), int(padding[1])))


ALL_OPS = ALL_OPS + (Conv1D, Pool1D)
