"""Ops that declare `fresh_grads` hand back only new arrays, so leaves keep them without a copy: no gradient may
share memory with another gradient, an input, a saved array or the incoming gradient."""
import itertools

import numpy as np
import pytest

from minikeras.autograd import Function, Tensor, ops, rnn


def _matmul(rng):
    x, y = (Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 4), (4, 5)])
    return [x, y], ops.matmul(x, y)


def _matmul_same_tensor(rng):
    x = Tensor(rng.standard_normal((4, 4)), requires_grad=True)
    return [x], ops.matmul(x, x)


def _take(rng):
    p = Tensor(rng.standard_normal((6, 3)), requires_grad=True)
    return [p], ops.take(p, np.array([[0, 2, 2], [5, 0, 1]]))


def _lstm(rng):
    n, t, f, u = 3, 4, 2, 5
    shapes = [(n, t, f), (f, 4 * u), (u, 4 * u), (4 * u,), (n, u), (n, u)]
    leaves = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    y, h, c = rnn.lstm_sequence(*leaves, return_sequences=True)
    return leaves, y


CASES = {"matmul": _matmul, "matmul_same_tensor": _matmul_same_tensor, "take": _take, "lstm": _lstm}


def test_every_fresh_op_has_a_case():
    fresh = {cls.__name__ for cls in _subclasses(Function) if cls.fresh_grads}
    assert fresh == {"MatMul", "Take", "LSTMSequence"}, "give each op that declares fresh_grads a case above"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_share_no_memory(case):
    rng = np.random.default_rng(0)
    leaves, out = CASES[case](rng)
    incoming = rng.standard_normal(out.shape)
    out.backward(incoming)
    grads = [leaf.grad for leaf in leaves]
    assert all(g is not None for g in grads)
    for g in grads:
        assert not np.shares_memory(g, incoming)
        for leaf in leaves:
            assert not np.shares_memory(g, leaf.data)
    for a, b in itertools.combinations(grads, 2):
        assert not np.shares_memory(a, b)
    before = [g.copy() for g in grads]
    grads[0][...] = 123.0  # an in-place change of one gradient touches nothing else
    for g, b in zip(grads[1:], before[1:]):
        np.testing.assert_array_equal(g, b)
