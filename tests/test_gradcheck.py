"""The test of the test: `check_grads` must catch wrong backward rules, and say where (tinygrad's habit, STYLE C4)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from minikeras.autograd import Function, check_grads, ops, unbroadcast


class DoubledMul(Function):
    """x * y with a backward that returns twice the true gradient for both inputs."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        return 2 * unbroadcast(grad * y, x.shape), 2 * unbroadcast(grad * x, y.shape)


class WrongSecondInputMul(Function):
    """x * y, right for x, twice too large for y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved
        return unbroadcast(grad * y, x.shape), 2 * unbroadcast(grad * x, y.shape)


class IdentityBackwardSoftmax(Function):
    """softmax whose backward passes `grad` through unchanged. A check on `sum(softmax(x))` cannot see it."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def backward(ctx, grad):
        return grad


def doubled_mul(x, y):
    return DoubledMul.apply(x, y)


def wrong_second_input_mul(x, y):
    return WrongSecondInputMul.apply(x, y)


def bad_softmax(x):
    return IdentityBackwardSoftmax.apply(x, axis=-1)


def _parse(msg):
    m = re.search(r"input (\d+) of shape \(([\d, ]*)\): worst element \(([\d, ]*)\)", msg)
    assert m, f"message does not name the input and the worst element: {msg}"
    index = tuple(int(k) for k in m.group(3).split(",") if k.strip())
    return int(m.group(1)), index


def test_doubled_backward_fails_naming_function_input_and_worst_element(rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    with pytest.raises(AssertionError, match=r"gradient check failed for doubled_mul, input 0") as info:
        check_grads(doubled_mul, x, y, seed=7)
    msg = str(info.value)
    i, worst = _parse(msg)
    assert i == 0
    # the analytic grad is 2 R y against R y: the worst element is where |R y| is largest
    R = np.random.default_rng(7).standard_normal((3, 4))
    assert worst == np.unravel_index(np.argmax(np.abs(R * y)), (3, 4))
    assert "analytic" in msg and "numeric" in msg


def test_wrong_gradient_of_second_input_is_reported_as_input_1(rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal(4)
    with pytest.raises(AssertionError, match=r"wrong_second_input_mul, input 1 of shape \(4,\): worst element"):
        check_grads(wrong_second_input_mul, x, y)
    check_grads(wrong_second_input_mul, x, y, wrt=0)  # input 0's rule is right


def test_softmax_with_identity_backward_is_caught(rng):
    x = rng.standard_normal((3, 5))
    with pytest.raises(AssertionError, match=r"gradient check failed for bad_softmax, input 0 of shape \(3, 5\): "
                                             r"worst element \(\d+, \d+\)"):
        check_grads(bad_softmax, x)


class CenteredBackwardSoftmax(IdentityBackwardSoftmax):
    """softmax whose backward returns `grad - mean(grad)`: zero for `grad = ones`, like the true rule."""

    @staticmethod
    def backward(ctx, grad):
        return grad - grad.mean(axis=-1, keepdims=True)


def centered_softmax(x):
    return CenteredBackwardSoftmax.apply(x, axis=-1)


def test_sum_based_check_would_miss_a_softmax_bug(rng):
    """Why check_grads projects on a random R: sum(softmax(x)) is constant, so checking the gradient of the sum
    passes a wrong backward that maps ones to zeros; the weighted check does not."""
    x = rng.standard_normal((2, 3))
    check_grads(lambda a: centered_softmax(a).sum(), x)  # passes: blind to the bug
    with pytest.raises(AssertionError, match="centered_softmax, input 0"):
        check_grads(centered_softmax, x)
    check_grads(ops.softmax, x)  # the real op passes the weighted check


def test_correct_ops_pass(rng):
    check_grads(lambda x, y: (x * y).tanh() @ y.T, rng.standard_normal((3, 4)), rng.standard_normal((1, 4)))


def test_integer_inputs_are_passed_as_constants(rng):
    p = rng.standard_normal((4, 3))
    check_grads(lambda params, idx: ops.take(params, idx), p, np.array([3, 0, 3]))


def test_nan_numeric_gradient_fails_instead_of_passing(rng):
    """Regression: NaN errors compared `NaN > 0` as False, so a check outside an op's domain passed."""
    with pytest.raises(AssertionError, match=r"input 0 of shape \(2,\): worst element \(0,\).*numeric nan"):
        with np.errstate(invalid="ignore"):
            check_grads(ops.log, np.array([-1.0, 2.0]))


def test_check_grads_uses_float64(rng):
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return x * 2.0

    check_grads(fn, rng.standard_normal(3).astype(np.float32))
    assert set(seen) == {np.dtype(np.float64)}
