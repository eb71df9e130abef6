"""Numerical gradient check of every op in `ops.ALL_OPS` (float64, random projection, STYLE C4), plus op semantics.

A new op goes into `ALL_OPS` and gets a row in `CASES`; `test_every_op_has_a_gradcheck_case` fails otherwise.
Inputs of non-smooth ops keep at least `GAP` away from every kink, so central differences never straddle one.
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from minikeras.autograd import Function, Tensor, check_grads, ops
from minikeras.autograd.ops import ALL_OPS
from minikeras.autograd.tensor import _toposort

GAP = 1e-2
_rng = np.random.default_rng(20240)


# ************************************************************ input makers (deterministic: one seeded stream)


def randn(*shape, scale=1.0):
    return _rng.standard_normal(shape) * scale


def positive(*shape, low=0.5, high=2.0):
    return _rng.uniform(low, high, shape)


def nonzero(*shape):
    """Values with |x| in [0.5, 2): safe denominators."""
    return positive(*shape) * _rng.choice([-1.0, 1.0], shape)


def away(*shape, kinks=(0.0,), low=-3.0, high=3.0):
    """Uniform values, each at least GAP from every kink."""
    x = _rng.uniform(low, high, shape)
    while True:
        bad = np.zeros(shape, bool)
        for k in kinks:
            bad |= np.abs(x - k) < GAP
        if not bad.any():
            return x
        x[bad] = _rng.uniform(low, high, int(bad.sum()))


def distinct(*shape):
    """All values different by >= 0.3 (no ties for max/min)."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.3 - 0.15 * n).reshape(shape) + _rng.uniform(-0.05, 0.05, shape)


def apart(x_shape, y_shape):
    """Two arrays whose broadcast elements never tie (for maximum/minimum)."""
    y = randn(*y_shape)
    while True:
        x = randn(*x_shape)
        if np.all(np.abs(x - y) >= GAP):
            return x, y


# ************************************************************ the case table

CASES = []


def case(op, case_id, fn, *inputs, **check_kwargs):
    CASES.append(pytest.param(op, fn, inputs, check_kwargs, id=f"{op.__name__}-{case_id}"))


# elementwise binary, with broadcasting
case(ops.Add, "3x4+4", lambda x, y: x + y, randn(3, 4), randn(4))
case(ops.Add, "2x1x4+3x1", ops.add, randn(2, 1, 4), randn(3, 1))
case(ops.Add, "scalar+2x3", ops.add, randn(), randn(2, 3))
case(ops.Sub, "3x4-4", lambda x, y: x - y, randn(3, 4), randn(4))
case(ops.Sub, "4-3x4", ops.subtract, randn(4), randn(3, 4))
case(ops.Mul, "2x1x4*3x1", lambda x, y: x * y, randn(2, 1, 4), randn(3, 1))
case(ops.Mul, "3x4*scalar", ops.multiply, randn(3, 4), randn())
case(ops.Mul, "same-input", lambda x: x * x, randn(3, 2))
case(ops.Div, "3x4/4", lambda x, y: x / y, randn(3, 4), nonzero(4))
case(ops.Div, "1x4/3x1", ops.divide, randn(1, 4), nonzero(3, 1))
case(ops.Pow, "both-inputs", lambda x, y: x ** y, positive(3, 4), randn(4))
case(ops.Pow, "both-inputs-broadcast", ops.power, positive(2, 1), randn(1, 3))
case(ops.Pow, "negative-base-int-exponent", lambda x: x ** 3, nonzero(3, 4))
case(ops.Pow, "rpow", lambda y: 2.0 ** y, randn(5))
case(ops.Maximum, "3x4,4", ops.maximum, *apart((3, 4), (4,)))
case(ops.Maximum, "2x3,2x3", ops.maximum, *apart((2, 3), (2, 3)))
case(ops.Minimum, "3x4,4", ops.minimum, *apart((3, 4), (4,)))
case(ops.Minimum, "2x3,2x3", ops.minimum, *apart((2, 3), (2, 3)))
case(ops.Where, "cond3x4,x3x4,y4", ops.where, randn(3, 4) > 0, randn(3, 4), randn(4))
case(ops.Where, "cond4,x3x1,y1x4", ops.where, randn(4) > 0, randn(3, 1), randn(1, 4))

# matmul: 2-D, batched, broadcast batch axes, 1-D operands
case(ops.MatMul, "3x4@4x5", lambda x, y: x @ y, randn(3, 4), randn(4, 5))
case(ops.MatMul, "2x3x4@4x5-shared-weight", ops.matmul, randn(2, 3, 4), randn(4, 5))
case(ops.MatMul, "2x3x4@2x4x5", ops.matmul, randn(2, 3, 4), randn(2, 4, 5))
case(ops.MatMul, "2x1x3x4@5x4x2-broadcast", ops.matmul, randn(2, 1, 3, 4), randn(5, 4, 2))
case(ops.MatMul, "3x4@2x4x5-broadcast", ops.matmul, randn(3, 4), randn(2, 4, 5))
case(ops.MatMul, "4@4x5", ops.matmul, randn(4), randn(4, 5))
case(ops.MatMul, "3x4@4", ops.matmul, randn(3, 4), randn(4))
case(ops.MatMul, "4@4", ops.matmul, randn(4), randn(4))
case(ops.MatMul, "4@2x4x3", ops.matmul, randn(4), randn(2, 4, 3))
case(ops.MatMul, "2x3x4@4", ops.matmul, randn(2, 3, 4), randn(4))

# elementwise unary
case(ops.Neg, "3x4", lambda x: -x, randn(3, 4))
case(ops.Exp, "3x4", ops.exp, randn(3, 4))
case(ops.Log, "3x4", ops.log, positive(3, 4))
case(ops.Sqrt, "3x4", ops.sqrt, positive(3, 4))
case(ops.Square, "3x4", ops.square, randn(3, 4))
case(ops.Abs, "3x4", ops.abs, away(3, 4))
case(ops.Tanh, "3x4", ops.tanh, randn(3, 4, scale=2.0))
case(ops.Sigmoid, "3x4", ops.sigmoid, randn(3, 4, scale=3.0))
case(ops.HardSigmoid, "keras2", lambda x: ops.hard_sigmoid(x, era=2), away(4, 6, kinks=(-2.5, 2.5), low=-4, high=4))
case(ops.HardSigmoid, "keras3", lambda x: ops.hard_sigmoid(x, era=3), away(4, 6, kinks=(-3.0, 3.0), low=-4, high=4))
RELU_COMBOS = [
    dict(),
    dict(alpha=0.1),
    dict(max_value=2.0),
    dict(max_value=6.0),
    dict(threshold=0.5),
    dict(threshold=-0.5),
    dict(threshold=-0.5, max_value=1.5),
    dict(alpha=0.2, max_value=1.5),
    dict(alpha=0.3, threshold=0.5),
    dict(alpha=0.1, max_value=2.0, threshold=0.5),
]
for _kw in RELU_COMBOS:
    _kinks = (0.0, _kw.get("threshold", 0.0)) + ((_kw["max_value"],) if "max_value" in _kw else ())
    case(ops.Relu, ",".join(f"{k}={v}" for k, v in _kw.items()) or "default",
         lambda x, kw=_kw: ops.relu(x, **kw), away(4, 6, kinks=_kinks, low=-3, high=7))
case(ops.Elu, "alpha=1", ops.elu, away(3, 4))
case(ops.Elu, "alpha=0.5", lambda x: ops.elu(x, alpha=0.5), away(3, 4))
case(ops.Selu, "3x4", ops.selu, away(3, 4))
case(ops.Softplus, "3x4", ops.softplus, randn(3, 4, scale=3.0))
case(ops.Softsign, "3x4", ops.softsign, away(3, 4))
case(ops.Swish, "3x4", ops.swish, randn(3, 4, scale=3.0))
case(ops.Gelu, "exact", lambda x: ops.gelu(x, approximate=False), randn(3, 4, scale=2.0))
case(ops.Gelu, "approximate", lambda x: ops.gelu(x, approximate=True), randn(3, 4, scale=2.0))
case(ops.Clip, "both-bounds", lambda x: ops.clip(x, -1.0, 1.5), away(3, 4, kinks=(-1.0, 1.5)))
case(ops.Clip, "min-only", lambda x: x.clip(0.2, None), away(3, 4, kinks=(0.2,)))
case(ops.Clip, "max-only", lambda x: x.clip(None, -0.2), away(3, 4, kinks=(-0.2,)))
# NOTE: a float32 round trip rounds x to ~6e-8 relative, so the central difference needs a step far above that.
case(ops.Cast, "float32->float64", lambda x: ops.cast(ops.cast(x, "float32"), "float64"), randn(3, 4),
     eps=1e-2, atol=1e-4)
case(ops.Cast, "float64->float32", lambda x: x.astype("float32") * 3.0, randn(3, 4), eps=1e-2, atol=1e-4)

# reductions: axis None / int / negative / tuple, keepdims both ways
for _op, _fn, _make in ((ops.Sum, ops.sum, randn), (ops.Mean, ops.mean, randn),
                        (ops.Max, ops.max, distinct), (ops.Min, ops.min, distinct)):
    for _axis, _kd in ((None, False), (None, True), (1, False), (-1, True), ((0, 2), False), ((-1, -3), True)):
        case(_op, f"axis={_axis},keepdims={_kd}", lambda x, f=_fn, a=_axis, k=_kd: f(x, axis=a, keepdims=k),
             _make(2, 3, 4))
for _op, _fn in ((ops.Softmax, ops.softmax), (ops.LogSoftmax, ops.log_softmax)):
    case(_op, "axis=0", lambda x, f=_fn: f(x, axis=0), randn(3, 4, scale=2.0))
    case(_op, "axis=-1", lambda x, f=_fn: f(x, axis=-1), randn(3, 4, scale=2.0))
    case(_op, "3d-axis=1", lambda x, f=_fn: f(x, axis=1), randn(2, 3, 4))

# shape ops
case(ops.Reshape, "2x3x4->6x-1", lambda x: x.reshape(6, -1), randn(2, 3, 4))
case(ops.Reshape, "2x3x4->24", lambda x: ops.reshape(x, (24,)), randn(2, 3, 4))
case(ops.Transpose, "2d-T", lambda x: x.T, randn(3, 4))
case(ops.Transpose, "axes=(1,0,2)", lambda x: ops.transpose(x, (1, 0, 2)), randn(2, 3, 4))
case(ops.Transpose, "axes=(0,-1,1)", lambda x: ops.transpose(x, (0, -1, 1)), randn(2, 3, 4))
case(ops.Transpose, "axes=(-1,-3,-2)", lambda x: x.transpose(-1, -3, -2), randn(2, 3, 4))
case(ops.ExpandDims, "axis=0", lambda x: ops.expand_dims(x, 0), randn(3, 4))
case(ops.ExpandDims, "axis=-1", lambda x: x.expand_dims(-1), randn(3, 4))
case(ops.Squeeze, "axis=1", lambda x: ops.squeeze(x, 1), randn(2, 1, 3))
case(ops.Squeeze, "axis=None", lambda x: x.squeeze(), randn(1, 3, 1))
case(ops.Squeeze, "axis=-2", lambda x: ops.squeeze(x, -2), randn(2, 1, 3))
case(ops.Flip, "axis=0", lambda x: ops.flip(x, 0), randn(3, 4))
case(ops.Flip, "axis=(0,-1)", lambda x: x.flip((0, -1)), randn(2, 3, 4))

# indexing
case(ops.GetItem, "basic-slices", lambda x: x[1:, ::2], randn(4, 5))
case(ops.GetItem, "negative-steps", lambda x: x[::-1, 4:0:-2], randn(4, 5))
case(ops.GetItem, "int-ellipsis-newaxis", lambda x: x[None, 1, ..., -1], randn(3, 4, 5))
case(ops.GetItem, "fancy-repeats", lambda x: x[[0, 2, 0, 0, 1]], randn(3, 4))
case(ops.GetItem, "fancy-tuple-repeats", lambda x: x[[0, 0, 1, 2], [1, 1, 3, 1]], randn(3, 4))
case(ops.GetItem, "array-index-2d", lambda x: x[np.array([[1, 1], [0, 2]])], randn(3, 4))
case(ops.GetItem, "slice-and-fancy", lambda x: x[1:, [3, 0, 3]], randn(3, 4))
_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
case(ops.GetItem, "boolean-mask", lambda x: x[_MASK], randn(3, 4))
case(ops.GetItem, "boolean-rows", lambda x: x[np.array([True, False, True])], randn(3, 4))
case(ops.GetItem, "tensor-index", lambda x: x[Tensor(np.array([2, 2, 0]))], randn(3, 4))
case(ops.Take, "axis=0-2d-repeats", lambda p, i: ops.take(p, i), randn(3, 4), np.array([[0, 2, 2], [1, 0, 2]]))
case(ops.Take, "axis=1-repeats", lambda p: ops.take(p, [3, 3, 0], axis=1), randn(3, 4))
case(ops.Take, "axis=-1-2d-indices", lambda p: ops.take(p, np.array([[0, 4], [4, 4]]), axis=-1), randn(3, 5))
case(ops.Take, "negative-indices", lambda p: ops.gather(p, [-1, 0, -1]), randn(3, 4))

# joining and splitting
case(ops.Concatenate, "axis=0-three", lambda a, b, c: ops.concatenate([a, b, c], axis=0),
     randn(2, 3), randn(1, 3), randn(4, 3))
case(ops.Concatenate, "axis=-1", lambda a, b: ops.concatenate([a, b]), randn(2, 1), randn(2, 3))
case(ops.Concatenate, "with-constant", lambda a: ops.concatenate([a, np.ones((2, 2))], axis=1) * a.sum(), randn(2, 3))
case(ops.Stack, "axis=0", lambda a, b: ops.stack([a, b]), randn(3, 4), randn(3, 4))
case(ops.Stack, "axis=-1", lambda a, b, c: ops.stack([a, b, c], axis=-1), randn(2, 3), randn(2, 3), randn(2, 3))


def _split_some_outputs(x):
    a, _, c = ops.split(x, 3, axis=1)
    return a * 2.0 + c


def _split_indices_middle(x):
    return ops.split(x, [1, 3], axis=-1)[1]


def _split_one_section(x):
    (only,) = ops.split(x, 1, axis=0)
    return only * x


def _split_both_used(x):
    a, b = ops.split(x, 2)
    return a * b + a


case(ops.Split, "3-sections-outputs-0-and-2", _split_some_outputs, randn(2, 6))
case(ops.Split, "indices-middle-only", _split_indices_middle, randn(3, 5))
case(ops.Split, "one-section", _split_one_section, randn(4, 3))
case(ops.Split, "both-used", _split_both_used, randn(4, 3))

# 1-D convolution (padding, strides, dilation, groups) and pooling (distinct values: no ties inside a window)
case(ops.Conv1D, "valid", ops.conv1d, randn(2, 7, 3), randn(3, 3, 4))
case(ops.Conv1D, "stride2-pad1-2", lambda x, w: ops.conv1d(x, w, strides=2, padding=(1, 2)), randn(2, 8, 3),
     randn(3, 3, 2))
case(ops.Conv1D, "dilation2-causal", lambda x, w: ops.conv1d(x, w, padding=(4, 0), dilation_rate=2),
     randn(2, 6, 2), randn(3, 2, 3))
case(ops.Conv1D, "groups2", lambda x, w: ops.conv1d(x, w, strides=3, groups=2), randn(2, 9, 4), randn(2, 2, 6))
case(ops.Pool1D, "max-valid", lambda x: ops.max_pool1d(x, 2, 2), distinct(2, 7, 3))
case(ops.Pool1D, "max-same-overlap", lambda x: ops.max_pool1d(x, 3, 2, padding=(1, 1)), distinct(2, 7, 3))
case(ops.Pool1D, "avg-valid-overlap", lambda x: ops.avg_pool1d(x, 3, 1), randn(2, 6, 3))
case(ops.Pool1D, "avg-same", lambda x: ops.avg_pool1d(x, 4, 3, padding=(1, 2)), randn(2, 8, 2))


# ************************************************************ the tests


def _tensors(inputs):
    return [Tensor(np.asarray(a, np.float64), requires_grad=True) if np.asarray(a).dtype.kind == "f"
            else Tensor(np.asarray(a)) for a in inputs]


def _op_types(out):
    return {type(ctx) for ctx in _toposort(out._ctx)}


@pytest.mark.parametrize("op, fn, inputs, check_kwargs", CASES)
def test_op_gradient(op, fn, inputs, check_kwargs):
    out = fn(*_tensors(inputs))
    assert op in _op_types(out), f"case for {op.__name__} does not run {op.__name__}"
    check_grads(fn, *inputs, **check_kwargs)


def test_every_op_has_a_gradcheck_case():
    covered = {p.values[0] for p in CASES}
    missing = [op.__name__ for op in ALL_OPS if op not in covered]
    assert not missing, f"ops without a gradient check case in tests/test_autograd_ops.py: {missing}"


def test_all_ops_lists_every_function_defined_in_ops():
    defined = {cls for _, cls in inspect.getmembers(ops, inspect.isclass)
               if issubclass(cls, Function) and cls is not Function and cls.__module__ == ops.__name__}
    assert defined == set(ALL_OPS), f"Function subclasses missing from ALL_OPS: {defined - set(ALL_OPS)}"


# ************************************************************ semantics the gradient check cannot see


def _grad(fn, x):
    t = Tensor(np.asarray(x, np.float64), requires_grad=True)
    fn(t).sum().backward()
    return t.grad


def test_max_min_share_gradient_between_ties():
    np.testing.assert_allclose(_grad(lambda t: t.max(), [1.0, 3.0, 3.0]), [0, 0.5, 0.5])
    np.testing.assert_allclose(_grad(lambda t: t.min(axis=-1), [[2.0, 2.0], [1.0, 5.0]]), [[0.5, 0.5], [1, 0]])


def test_maximum_minimum_give_ties_to_x():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([1.0, 0.0], requires_grad=True)
    ops.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
    np.testing.assert_array_equal(y.grad, [0, 0])


@pytest.mark.parametrize("era, slope, bound", [(1, 0.2, 2.5), (2, 0.2, 2.5), (3, 1 / 6, 3.0)])
def test_hard_sigmoid_forward_both_eras(era, slope, bound):
    x = np.linspace(-5, 5, 41, dtype=np.float32)
    out = ops.hard_sigmoid(Tensor(x), era=era)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.clip(slope * x + 0.5, 0, 1), atol=1e-7)
    assert ops.hard_sigmoid(Tensor([bound + 0.1]), era=era).item() == 1.0


def test_hard_sigmoid_rejects_unknown_era():
    with pytest.raises(ValueError, match="era"):
        ops.hard_sigmoid(Tensor([0.0]), era=4)


@pytest.mark.parametrize("kw", RELU_COMBOS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_relu_forward_matches_keras_formula(kw):
    """tf-keras's backend.relu: x*(x>threshold) or relu(x), clip to [0, max_value], minus alpha*relu(threshold-x)."""
    x = np.linspace(-4, 8, 97).astype(np.float32)
    alpha, max_value, threshold = kw.get("alpha", 0.0), kw.get("max_value"), kw.get("threshold", 0.0)
    ref = x * (x > threshold) if threshold != 0 else np.maximum(x, 0)
    if max_value is not None:
        ref = np.clip(ref, 0, max_value)
    ref = ref - alpha * np.maximum(threshold - x, 0)
    out = ops.relu(Tensor(x), **kw)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def test_take_rejects_out_of_range_and_float_indices():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ops.take(Tensor(np.zeros((3, 2))), [0, 3])
    with pytest.raises(TypeError, match="integer indices"):
        ops.take(Tensor(np.zeros((3, 2))), np.array([0.0, 1.0]))


def test_split_unused_outputs_get_zero_gradient():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    _, mid, _ = ops.split(x, 3, axis=0)
    (mid * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0], [2, 2], [0, 0]])


def test_split_single_section_backward():
    """Regression: `split(x, 1)` returns a 1-tuple; its backward must still get a tuple of grads."""
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    (only,) = ops.split(x, 1, axis=0)
    (only * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((4, 3), 3.0))


def test_transpose_negative_axes_backward():
    """Regression: the inverse permutation of axes (0, -1, 1) is argsort((0, 2, 1)), not argsort((0, -1, 1))."""
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = ops.transpose(x, (0, -1, 1))
    assert y.shape == (2, 4, 3)
    g = np.arange(24.0).reshape(2, 4, 3)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, np.transpose(g, (0, 2, 1)))


def test_take_negative_axis_with_2d_indices_backward():
    """Regression: the scatter-add located the index axes from a negative `axis` and summed the wrong elements."""
    p = Tensor(np.zeros((2, 3)), requires_grad=True)
    y = ops.take(p, np.array([[0, 2], [2, 2]]), axis=-1)
    assert y.shape == (2, 2, 2)
    y.backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(p.grad, [[1, 0, 3], [1, 0, 3]])


def test_getitem_fancy_index_scatter_adds_repeats():
    x = Tensor(np.zeros(3), requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row_shape", [(), (1,), (7,), (3, 5)])
def test_take_backward_scatter_is_numpys_add_at_bit_for_bit(dtype, row_shape):
    # the rows are scattered as elements of the flat table (numpy's fast path): same sums, same order
    rng = np.random.default_rng(3)
    table = rng.standard_normal((11,) + row_shape).astype(dtype)
    idx = rng.integers(-11, 11, (6, 9))
    p = Tensor(table, requires_grad=True)
    y = ops.take(p, idx)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    want = np.zeros_like(table)
    np.add.at(want, idx.reshape(-1), g.reshape((-1,) + row_shape))
    assert p.grad.dtype == want.dtype
    np.testing.assert_array_equal(p.grad, want)
