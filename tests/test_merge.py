"""Merge layers: values against numpy, gradients (float64 numerical checks), shapes (symbolic and concrete),
masks merged as tf.keras merges them, errors, configs."""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import Input, Model
from minikeras.autograd import Tensor, check_grads
from minikeras.layers import (Add, Average, Concatenate, Dot, Embedding, Masking, Maximum, Minimum, Multiply,
                              Subtract, add, average, concatenate, deserialize, dot, maximum, minimum, multiply,
                              serialize, subtract)

rng = np.random.default_rng(7)


def arr(*shape):
    return rng.standard_normal(shape)


def apart(*shape):
    """Two arrays with no near-ties (maximum/minimum are not differentiable at ties)."""
    a = arr(*shape)
    b = a + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.0, shape)
    return a, b


ELEMWISE = [
    (Add, lambda xs: xs[0] + xs[1] + xs[2]),
    (Multiply, lambda xs: xs[0] * xs[1] * xs[2]),
    (Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
    (Maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    (Minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
]


@pytest.mark.parametrize("cls,ref", ELEMWISE, ids=[c.__name__ for c, _ in ELEMWISE])
def test_elementwise_values_and_gradients(cls, ref):
    a, b = apart(3, 4)
    c = b + np.sign(b - a) * 0.5  # keeps the three apart
    xs = [a, b, c]
    out = cls(dtype="float64")(xs)
    np.testing.assert_allclose(out.numpy(), ref(xs), rtol=1e-12)
    layer = cls(dtype="float64")
    check_grads(lambda x, y, z: layer([x, y, z]), a, b, c)


def test_subtract_values_gradients_and_arity():
    a, b = arr(2, 3), arr(2, 3)
    layer = Subtract(dtype="float64")
    np.testing.assert_allclose(layer([a, b]).numpy(), a - b)
    check_grads(lambda x, y: layer([x, y]), a, b)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([a, b, a])


def test_elementwise_broadcasts_lower_rank_inputs_as_tf_keras():
    # (2, 3) and (2, 4, 3): the rank-2 input gets an axis of size 1 after the batch axis
    a, b = arr(2, 3), arr(2, 4, 3)
    layer = Add(dtype="float64")
    np.testing.assert_allclose(layer([a, b]).numpy(), a[:, None, :] + b)
    check_grads(lambda x, y: layer([x, y]), a, b)
    assert Add().compute_output_shape([(None, 3), (None, 4, 3)]) == (None, 4, 3)
    assert Add().compute_output_shape([(None, 1, 3), (None, 4, 1)]) == (None, 4, 3)


def test_elementwise_shape_mismatch_is_keras_error():
    with pytest.raises(ValueError, match=r"Inputs have incompatible shapes. Received shapes \(3,\) and \(4,\)"):
        Add()([Input((3,)), Input((4,))])
    with pytest.raises(ValueError, match="Cannot merge tensors with different batch sizes"):
        Add().build([(2, 3), (5, 3)])
    with pytest.raises(ValueError, match="should be called on a list of inputs"):
        Add()(np.ones((2, 3)))


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_values_gradients_shapes(axis):
    a, b = arr(2, 3, 4), arr(2, 3, 4)
    layer = Concatenate(axis=axis, dtype="float64")
    np.testing.assert_allclose(layer([a, b]).numpy(), np.concatenate([a, b], axis=axis))
    check_grads(lambda x, y: layer([x, y]), a, b)
    expected = [None, 3, 4]
    expected[axis] = None if axis == 1 else expected[axis] * 2
    x = Input((None, 4)) if axis == 1 else Input((3, 4))
    y = Input((None, 4)) if axis == 1 else Input((3, 4))
    out = Concatenate(axis=axis)([x, y])
    assert out.shape == ((None, None, 4) if axis == 1 else tuple(expected))


def test_concatenate_mismatch_is_keras_error():
    with pytest.raises(ValueError, match="requires inputs with matching shapes except for the concatenation axis"):
        concatenate([Input((3, 4)), Input((5, 4))])
    # unknown sizes are compatible with anything; the other axes come from the first input, as tf.keras
    assert concatenate([Input((None, 4)), Input((5, 2))]).shape == (None, None, 6)


@pytest.mark.parametrize("axes,shapes", [
    (1, [(2, 3), (2, 3)]),
    (-1, [(2, 4, 3), (2, 5, 3)]),
    ((2, 2), [(2, 4, 3), (2, 5, 3)]),
    ((1, 2), [(2, 3, 4), (2, 5, 3)]),
    ((2, 1), [(2, 4, 3), (2, 3, 5)]),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_numpy_batch_dot_and_gradients(axes, shapes, normalize):
    a, b = arr(*shapes[0]), arr(*shapes[1])
    layer = Dot(axes=axes, normalize=normalize, dtype="float64")
    out = layer([a, b]).numpy()
    ax = [axes, axes] if isinstance(axes, int) else list(axes)
    ax = [x % len(s) for x, s in zip(ax, shapes)]
    x1, x2 = a, b
    if normalize:
        x1 = a / np.sqrt(np.maximum((a * a).sum(ax[0], keepdims=True), 1e-12))
        x2 = b / np.sqrt(np.maximum((b * b).sum(ax[1], keepdims=True), 1e-12))
    ref = np.stack([np.tensordot(x1[i], x2[i], axes=(ax[0] - 1, ax[1] - 1)) for i in range(a.shape[0])])
    if ref.ndim == 1:
        ref = ref[:, None]
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-12)
    assert layer.compute_output_shape([(None,) + s[1:] for s in shapes]) == (None,) + ref.shape[1:]
    check_grads(lambda x, y: layer([x, y]), a, b)


def test_dot_errors_are_keras_messages():
    with pytest.raises(TypeError, match="it should be a list or an int"):
        Dot(axes="1")
    with pytest.raises(ValueError, match="it should contain two elements"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 3 \(at axis 1\) != 4"):
        dot([Input((3,)), Input((4,))], axes=1)
    with pytest.raises(ValueError, match="a list of 2 inputs"):
        Dot(axes=1)([Input((3,)), Input((3,)), Input((3,))])


def test_functional_forms_make_the_layers():
    x, y = Input((3,)), Input((3,))
    for fn, cls in [(add, Add), (subtract, Subtract), (multiply, Multiply), (average, Average),
                    (maximum, Maximum), (minimum, Minimum)]:
        out = fn([x, y], name=f"m_{cls.__name__.lower()}")
        assert isinstance(out._keras_history.layer, cls) and out.shape == (None, 3)
        assert out._keras_history.layer.name == f"m_{cls.__name__.lower()}"
    assert concatenate([x, y], axis=1).shape == (None, 6)
    assert dot([x, y], axes=1, normalize=True)._keras_history.layer.normalize is True


def test_merge_configs_round_trip_in_tf_keras_format():
    for layer, extra in [(Add(name="a"), {}), (Concatenate(axis=1, name="c"), {"axis": 1}),
                         (Dot(axes=(1, 2), normalize=True, name="d"), {"axes": [1, 2], "normalize": True})]:
        config = layer.get_config()
        assert config == {"name": layer.name, "trainable": True, "dtype": "float32", **extra}
        again = deserialize(serialize(layer))
        assert type(again) is type(layer) and again.get_config() == config


def test_elementwise_mask_is_the_and_of_the_input_masks():
    ids = Input((4,), dtype="int32")
    feats = Input((4, 2))
    e = Embedding(10, 2, mask_zero=True)(ids)
    m = Masking(0.0)(feats)
    model = Model([ids, feats], Add()([e, m]))
    token = np.array([[1, 2, 0, 3], [0, 1, 1, 1]])
    values = np.ones((2, 4, 2), "float32")
    values[0, 3] = 0.0
    values[1, 1] = 0.0
    out = model([token, values])
    np.testing.assert_array_equal(out._keras_mask, (token != 0) & np.any(values != 0, axis=-1))


def test_concatenate_mask_treats_unmasked_inputs_as_true():
    ids = Input((3,), dtype="int32")
    feats = Input((3, 2))
    e = Embedding(10, 2, mask_zero=True)(ids)
    model = Model([ids, feats], Concatenate()([e, feats]))
    token = np.array([[1, 0, 2]])
    out = model([token, np.ones((1, 3, 2), "float32")])
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])
    # no input mask at all: no output mask
    plain = Model(feats, Concatenate()([feats, feats]))
    assert plain(np.ones((1, 3, 2), "float32"))._keras_mask is None


def test_dot_has_no_output_mask():
    ids = Input((3,), dtype="int32")
    e = Embedding(10, 2, mask_zero=True)(ids)
    model = Model(ids, Dot(axes=2)([e, e]))
    assert model(np.array([[1, 0, 2]]))._keras_mask is None


def test_merge_on_real_tensors_keeps_graph_gradients():
    a = Tensor(arr(2, 3), requires_grad=True)
    b = Tensor(arr(2, 3), requires_grad=True)
    out = Concatenate(dtype="float64")([a, b]).sum()
    out.backward()
    np.testing.assert_allclose(a.grad, np.ones((2, 3)))
    np.testing.assert_allclose(b.grad, np.ones((2, 3)))


def test_merge_layers_and_masks_match_tf_keras():
    """tests/fixtures/keras2_merge_cases.py's model (every merge layer on masked sequences, each read by an LSTM
    whose output depends on the merged mask; Dot with normalize; broadcasting Add), built by the same code with
    minikeras: tf_keras 2.21's config and, with its weights, its outputs (2e-5)."""
    import importlib.util
    import pathlib

    import minikeras
    from helpers import keras_case, load_io, load_json

    path = pathlib.Path(__file__).resolve().parent / "fixtures" / "keras2_merge_cases.py"
    spec = importlib.util.spec_from_file_location("keras2_merge_cases", path)
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    minikeras.backend.clear_session()
    model = cases.build(minikeras)
    case = keras_case(2, "merge_masks")
    assert model.get_config() == load_json(case / "config.json")["config"]
    io = load_io(case)
    model.set_weights([io[f"model_w_{i}"] for i in range(len(model.weights))])
    outputs = model.predict([io["x0"], io["x1"], io["x2"]], verbose=0)
    assert len(outputs) == 10
    for i, y in enumerate(outputs):
        np.testing.assert_allclose(y, io[f"y_pred_{i}"], atol=2e-5, err_msg=model.output_names[i])
