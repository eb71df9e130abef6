"""The Tensor and its engine: dtypes, gradient accumulation, `no_grad`, error messages, deep graphs."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from minikeras import backend
from minikeras.autograd import Tensor, Variable, check_grads, enable_grad, is_grad_enabled, no_grad, ops

# ************************************************************ dtypes


def test_python_numbers_and_lists_become_float32():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(3.0).dtype == np.float32
    assert Tensor([[True, False]]).dtype == np.bool_


def test_numpy_arrays_keep_their_dtype():
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor(np.zeros(2, np.float16)).dtype == np.float16
    assert Tensor(np.arange(3)).dtype.kind == "i"
    assert Tensor(np.float64(1.0)).dtype == np.float64
    assert Tensor(np.zeros(2), dtype="float32").dtype == np.float32


def test_set_floatx_changes_the_default(float64):
    assert backend.floatx() == "float64"
    assert Tensor([1.0]).dtype == np.float64
    assert Tensor(2).dtype == np.float64


def test_floatx_is_restored_after_the_float64_fixture():
    assert backend.floatx() == "float32"


@pytest.mark.parametrize("expr", [
    lambda t: t * np.ones(2),
    lambda t: np.ones(2) * t,
    lambda t: t + np.float64(1.0),
    lambda t: np.float64(1.0) - t,
    lambda t: t / np.full(2, 3.0),
    lambda t: t ** np.float64(2.0),
    lambda t: ops.add(np.ones(2), t),
    lambda t: ops.where(np.array([True, False]), t, np.zeros(2)),
    lambda t: ops.concatenate([t, np.ones(2)]),
    lambda t: ops.maximum(t, 0.5),
], ids=["mul", "rmul", "add-scalar", "rsub-scalar", "div", "pow", "ops.add", "where", "concatenate", "maximum"])
def test_float32_tensor_with_float64_constant_stays_float32(expr):
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = expr(t)
    assert isinstance(out, Tensor)
    assert out.dtype == np.float32


def test_float32_leaf_grads_stay_float32():
    w = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    x = Tensor(np.ones((4, 2)))  # float64 Tensor: Tensor-Tensor ops promote
    out = x @ w
    assert out.dtype == np.float64
    out.sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad, np.full((2, 3), 4.0))


def test_cast_grad_comes_back_in_input_dtype():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = ops.cast(x, "float64") * np.array([3.0, 4.0])
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3, 4])


def test_only_float_tensors_require_grad():
    with pytest.raises(TypeError, match="floating point"):
        Tensor(np.arange(3), requires_grad=True)


# ************************************************************ numpy interop, repr, comparisons


def test_np_asarray_gives_the_data_and_np_array_copies():
    t = Tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copy = np.array(t)
    copy[0] = 99.0  # regression: numpy 2 passes copy=True, which must not alias the tensor
    assert t.data[0] == 1.0


def test_repr_shows_values_dtype_grad_and_name():
    t = Tensor([1.0, 2.0], requires_grad=True, name="w")
    r = repr(t)
    assert r.startswith("Tensor([1., 2.]")
    assert "dtype=float32" in r and "requires_grad=True" in r and "name='w'" in r
    assert "requires_grad" not in repr(Tensor([1.0]))
    assert repr(Variable(np.zeros(2, np.float32), name="d/b")) == "<Variable name='d/b' shape=(2,) dtype=float32>"


@pytest.mark.parametrize("cmp, expected", [
    (lambda t: t < 2, [True, False, False]),
    (lambda t: t <= 2, [True, True, False]),
    (lambda t: t > 2, [False, False, True]),
    (lambda t: t >= Tensor([2.0, 2.0, 2.0]), [False, True, True]),
    (lambda t: t.eq(2), [False, True, False]),
    (lambda t: t.ne(np.array([1.0, 0.0, 3.0])), [False, True, False]),
], ids=["lt", "le", "gt", "ge-tensor", "eq", "ne-array"])
def test_comparisons_return_bool_tensors_without_grad(cmp, expected):
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = cmp(t)
    assert isinstance(out, Tensor)
    assert out.dtype == np.bool_
    assert not out.requires_grad and out._ctx is None
    np.testing.assert_array_equal(out.numpy(), expected)


def test_double_equals_stays_identity_so_tensors_hash():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert a != b and a == a
    assert len({a, b}) == 2


# ************************************************************ errors


def test_backward_on_non_scalar_without_grad_raises():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one element.*Received: shape=\(2, 3\)"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).backward()


def test_backward_grad_of_wrong_shape_raises():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"expected `grad` of shape \(2, 3\).*grad.shape=\(3,\)"):
        y.backward(np.ones(3))


@pytest.mark.parametrize("fn, shapes, op_name", [
    (ops.add, [(3, 4), (5,)], "add"),
    (lambda a, b: a + b, [(3, 4), (2, 4)], "add"),
    (ops.subtract, [(2, 3), (3, 2)], "subtract"),
    (lambda a, b: a - b, [(4,), (3,)], "subtract"),
    (ops.multiply, [(2, 3), (4,)], "multiply"),
    (ops.divide, [(2, 3), (2, 2)], "divide"),
    (ops.matmul, [(3, 4), (5, 2)], "matmul"),
    (ops.matmul, [(2, 3, 4), (5, 4, 2)], "matmul"),  # batch axes that do not broadcast (regression)
    (lambda a, b: ops.concatenate([a, b], axis=0), [(2, 3), (2, 4)], "concatenate"),
], ids=["add", "add-operator", "subtract", "sub-operator", "multiply", "divide", "matmul", "matmul-batch",
        "concatenate"])
def test_incompatible_shapes_name_the_op_and_both_shapes(fn, shapes, op_name):
    a, b = (Tensor(np.ones(s), requires_grad=True) for s in shapes)
    with pytest.raises(ValueError) as info:
        fn(a, b)
    msg = str(info.value)
    assert f"`{op_name}`" in msg
    for s in shapes:
        assert str(s) in msg


def test_variable_assign_shape_mismatch_raises():
    v = Variable(np.zeros((2, 3), np.float32), name="dense/kernel")
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*'dense/kernel' of shape \(2, 3\)"):
        v.assign(np.zeros((3, 2)))


def test_variable_assign_is_in_place_and_keeps_dtype():
    v = Variable(np.zeros(2, np.float32))
    data = v.data
    assert v.assign(np.array([1.0, 2.0])) is v
    assert v.data is data and v.dtype == np.float32
    np.testing.assert_array_equal(v.numpy(), [1, 2])


def test_variable_owns_its_storage():
    """Regression: `Variable(arr)` shared `arr`, so `assign` wrote into the caller's array."""
    init = np.zeros(2, np.float32)
    v = Variable(init)
    v.assign([1.0, 2.0])
    np.testing.assert_array_equal(init, [0, 0])
    ro = np.broadcast_to(np.float32(0.5), (3,))  # read-only view: assign would fail if it were kept
    Variable(ro).assign([1.0, 2.0, 3.0])


def test_variable_storage_is_c_ordered_whatever_it_was_given():
    """An initializer may return a transposed array (the orthogonal one does for a wide recurrent kernel) and
    `assign` keeps a variable's layout: the storage is in C order from the start, which the kernels' weight folds
    read fast."""
    wide = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    v = Variable(wide)
    assert v.data.flags.c_contiguous
    np.testing.assert_array_equal(v.data, wide)
    v.assign(np.asfortranarray(wide * 2))
    assert v.data.flags.c_contiguous
    np.testing.assert_array_equal(v.data, wide * 2)


# ************************************************************ gradient accumulation


def test_tensor_used_twice():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)


def test_same_tensor_as_both_inputs_of_one_op():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2, 2])


def test_non_leaf_used_twice():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad, 8 * x.data)


def _diamond(x):
    y = x.exp()
    left, right = y * 3.0, y.tanh()
    return left * right + left


def test_diamond_graph():
    x = Tensor([0.1, -0.4, 0.7], requires_grad=True)
    _diamond(x).sum().backward()
    e = np.exp(x.data)
    t = np.tanh(e)
    expected = (3 * e * t + 3 * e * e * (1 - t * t) + 3 * e).astype(np.float32)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5)
    check_grads(_diamond, np.array([0.1, -0.4, 0.7]))


def test_leaf_grads_add_up_over_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 4])
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 3])


def test_backward_on_a_leaf_accumulates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.backward(np.array([1.0, 1.0]))
    x.backward(np.array([0.5, 2.0]))
    np.testing.assert_array_equal(x.grad, [1.5, 3.0])


def test_tensor_used_by_multi_output_op_and_directly():
    def fn(x):
        a, b = ops.split(x, 2, axis=0)
        return (a * b).sum() + (x * x).sum()

    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad, [[3 + 2, 4 + 4], [1 + 6, 2 + 8]])
    check_grads(fn, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_multi_output_op_with_dead_outputs():
    x = Tensor(np.arange(4.0), requires_grad=True)
    ops.split(x, 2)[1].sum().backward()  # output 0 is garbage collected before backward
    np.testing.assert_array_equal(x.grad, [0, 0, 1, 1])


def test_leaf_grads_never_share_memory():
    """Regression: Add hands the same array to both inputs; an in-place update of one grad changed the other."""
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0.0  # e.g. in-place gradient clipping
    np.testing.assert_array_equal(b.grad, [1, 1])


def test_leaf_grad_does_not_alias_the_grad_passed_to_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    g = np.ones(2, np.float32)
    (x + 0.0).backward(g)
    g[0] = 99.0
    np.testing.assert_array_equal(x.grad, [1, 1])
    h = np.ones(2, np.float32)
    x.zero_grad()
    x.backward(h)
    h[0] = 99.0
    np.testing.assert_array_equal(x.grad, [1, 1])


def test_grads_flow_only_to_tensors_that_require_them():
    w = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (w * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(w.grad, [3, 4])


def test_detach_cuts_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.detach()
    assert not y.requires_grad and y._ctx is None and np.shares_memory(y.data, x.data)
    (x * y).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 2])


# ************************************************************ no_grad / enable_grad


def test_no_grad_records_nothing():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (w * 2.0).exp().sum()
        a, b = ops.split(w, 2)
    assert is_grad_enabled()
    for t in (y, a, b):
        assert t._ctx is None and not t.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_nested_no_grad_and_enable_grad():
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = w * 2.0
            with no_grad():
                z = w * 2.0
            assert is_grad_enabled()
        assert not is_grad_enabled()
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert y.requires_grad and y._ctx is not None
    assert not z.requires_grad


def test_no_grad_instance_can_be_reentered():
    ng = no_grad()
    with ng:
        with enable_grad():
            with ng:
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled()


def test_no_grad_as_decorator():
    @no_grad()
    def predict(w):
        return w * 2.0

    w = Tensor([1.0], requires_grad=True)
    y = predict(w)
    assert not y.requires_grad and y._ctx is None
    assert is_grad_enabled()
    assert predict.__name__ == "predict"


def test_no_grad_decorator_survives_recursion():
    """Regression: one decorator instance stored the previous state on itself; recursion left grads disabled."""
    @no_grad()
    def depth(n):
        assert not is_grad_enabled()
        return depth(n - 1) if n else 0

    depth(3)
    assert is_grad_enabled()


def test_enable_grad_as_decorator_inside_no_grad():
    @enable_grad()
    def train_step(w):
        return (w * w).sum()

    w = Tensor([3.0], requires_grad=True)
    with no_grad():
        loss = train_step(w)
        assert not is_grad_enabled()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [6])


def test_no_grad_is_per_thread():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


# ************************************************************ deep graphs


def test_long_chain_backprops_without_recursion_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
    np.testing.assert_array_equal(y.numpy(), [5001, 5002])
    del y  # freeing a 5000-deep graph must not overflow the C stack either


def test_long_chain_of_multiplications():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 5000], rtol=1e-3)
