"""Losses: parity with real tf_keras 2.21 (values and gradients), gradient checks, reductions, config, errors.

Fixtures: tests/fixtures/keras2/losses/ (per-sample functions and reduced classes) and
tests/fixtures/keras2/losses_extra.* (gradients, recovered logits, label smoothing with logits, ignore_class, axes,
reductions with sample weights; made by tests/fixtures/keras2_optimizer_cases.py).
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from helpers import FIXTURES, load_json
from minikeras import losses
from minikeras.autograd import Tensor, check_grads, no_grad, ops

LOSSES_DIR = FIXTURES / "keras2" / "losses"
LOSSES_META = load_json(LOSSES_DIR / "meta.json")
EXTRA = load_json(FIXTURES / "keras2" / "losses_extra.json")
TOL = dict(atol=1e-6, rtol=1e-6)


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


IO = _arrays(LOSSES_DIR / "io.npz")
XA = _arrays(FIXTURES / "keras2" / "losses_extra.npz")


# ------------------------------------------------------------------ the shared losses/ fixture


@pytest.mark.parametrize("spec", LOSSES_META["losses"], ids=lambda s: s["name"])
def test_loss_functions_and_classes_match_tf_keras(spec):
    fn = getattr(losses, spec["function"].split(".")[-1])
    y_true, y_pred = IO[spec["y_true"]], IO[spec["y_pred"]]
    arrays = spec["arrays"]
    np.testing.assert_allclose(fn(y_true, y_pred, **spec["kwargs"]).data, IO[arrays["per_sample"]], **TOL)
    cls = getattr(losses, spec["class"])
    obj = cls(**spec["kwargs"])
    assert obj.get_config() == spec["class_config"]
    np.testing.assert_allclose(obj(y_true, y_pred).data, IO[arrays["reduced"]], **TOL)
    sw = IO["sample_weight"]
    if "reduced_with_sample_weight" in arrays:
        np.testing.assert_allclose(obj(y_true, y_pred, sample_weight=sw).data,
                                   IO[arrays["reduced_with_sample_weight"]], **TOL)
    summed = cls(reduction="sum", **spec["kwargs"])
    if "reduced_sum" in arrays:
        np.testing.assert_allclose(summed(y_true, y_pred).data, IO[arrays["reduced_sum"]], **TOL)
    if "reduced_sum_with_sample_weight" in arrays:
        np.testing.assert_allclose(summed(y_true, y_pred, sample_weight=sw).data,
                                   IO[arrays["reduced_sum_with_sample_weight"]], **TOL)


# ------------------------------------------------------------------ losses_extra: gradients and more

ACTIVATIONS = {"sigmoid": ops.sigmoid, "softmax": ops.softmax, None: lambda x: x}


def _run_extra(case, fn):
    x = Tensor(XA[case["y_pred"]], requires_grad=True)
    y_true = Tensor(XA[case["y_true"]])
    pred = ACTIVATIONS[case["via"]](x)
    if case.get("sample_weight"):
        value = fn(y_true, pred, sample_weight=XA[case["sample_weight"]])
    else:
        value = fn(y_true, pred)
    return x, value


def _check_extra(case, x, value):
    name = case["name"]
    np.testing.assert_allclose(value.data, XA[case["value"]], **TOL, err_msg=f"{name}: value")
    if "mask" in case:
        np.testing.assert_array_equal(value._keras_mask, XA[case["mask"]])
    if "grad" in case:
        proj = XA[case["proj"]]
        (value * Tensor(np.asarray(proj, np.float32))).sum().backward()
        np.testing.assert_allclose(x.grad, XA[case["grad"]], atol=1e-6, rtol=1e-5, err_msg=f"{name}: gradient")


@pytest.mark.parametrize("case", [c for c in EXTRA["cases"] if c["kind"] == "function"], ids=lambda c: c["name"])
def test_extra_loss_functions_match_tf_keras(case):
    fn = getattr(losses, case["function"])
    x, value = _run_extra(case, lambda t, p: fn(t, p, **case["kwargs"]))
    _check_extra(case, x, value)


@pytest.mark.parametrize("case", [c for c in EXTRA["cases"] if c["kind"] == "class"], ids=lambda c: c["name"])
def test_extra_loss_classes_match_tf_keras(case):
    obj = getattr(losses, case["class"])(**case["kwargs"])
    assert obj.get_config() == case["config"]
    if "error" in case:
        with pytest.raises(ValueError):
            _run_extra(case, obj)
        return
    x, value = _run_extra(case, obj)
    _check_extra(case, x, value)


# ------------------------------------------------------------------ the logits behind sigmoid/softmax outputs


def test_sigmoid_output_uses_the_logits_like_tf_keras():
    y = np.array([[0.0, 1.0]], "float32")
    logits = Tensor(np.array([[20.0, -3.0]], "float32"), requires_grad=True)
    recovered = losses.binary_crossentropy(y, ops.sigmoid(logits))
    direct = losses.binary_crossentropy(y, logits, from_logits=True)
    np.testing.assert_allclose(recovered.data, direct.data)
    assert float(recovered.data[0]) == pytest.approx(11.5242939)  # tf_keras: 11.524294 (probabilities: 9.190912)
    with no_grad():  # no graph recorded: the producing op is unknown, the clipped probability path runs
        plain = losses.binary_crossentropy(y, ops.sigmoid(logits))
    assert float(plain.data[0]) == pytest.approx(9.190912, rel=1e-6)


def test_from_logits_on_a_softmax_output_warns_and_uses_the_logits():
    y = np.eye(3, dtype="float32")[[0, 2]]
    logits = Tensor(np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]], "float32"), requires_grad=True)
    with pytest.warns(UserWarning, match="received `from_logits=True`, but the `output` argument was produced by a "
                                         "Softmax activation"):
        value = losses.categorical_crossentropy(y, ops.softmax(logits), from_logits=True)
    np.testing.assert_allclose(value.data, losses.categorical_crossentropy(y, logits, from_logits=True).data)


# ------------------------------------------------------------------ gradient checks (float64)

RNG = np.random.default_rng(7)
N, C = 4, 3
Y_BIN = RNG.integers(0, 2, (N, C)).astype(np.float64)
Y_ONEHOT = np.eye(C)[RNG.integers(0, C, N)]
Y_SPARSE = RNG.integers(0, C, N)
Y_REG = RNG.standard_normal((N, C))
Y_POS = RNG.uniform(0.2, 2.0, (N, C))
SW = RNG.uniform(0.5, 2.0, N)
PROBS = RNG.uniform(0.1, 0.9, (N, C))          # away from the clip at epsilon and 1 - epsilon
PROBS_ROWS = PROBS / PROBS.sum(-1, keepdims=True)
LOGITS = RNG.standard_normal((N, C)) * 2
REG = RNG.standard_normal((N, C))
POS = RNG.uniform(0.2, 2.0, (N, C))

GRAD_CASES = [
    ("mse", lambda p: losses.mean_squared_error(Y_REG, p), REG),
    ("mae", lambda p: losses.mean_absolute_error(Y_REG, p), REG),
    ("mape", lambda p: losses.mean_absolute_percentage_error(Y_REG, p), REG),
    ("msle", lambda p: losses.mean_squared_logarithmic_error(Y_POS, p), POS),
    ("hinge", lambda p: losses.hinge(Y_BIN, p), REG),
    ("squared_hinge", lambda p: losses.squared_hinge(Y_BIN, p), REG),
    ("categorical_hinge", lambda p: losses.categorical_hinge(Y_ONEHOT, p), REG),
    ("kld", lambda p: losses.kl_divergence(PROBS_ROWS[::-1], p), PROBS_ROWS),
    ("poisson", lambda p: losses.poisson(Y_POS, p), POS),
    ("huber", lambda p: losses.huber(Y_REG, p, delta=0.8), REG),
    ("log_cosh", lambda p: losses.log_cosh(Y_REG, p), REG),
    ("cosine_similarity", lambda p: losses.cosine_similarity(Y_REG, p), REG),
    ("cosine_similarity_axis0", lambda p: losses.cosine_similarity(Y_REG, p, axis=0), REG),
    ("bce_probs", lambda p: losses.binary_crossentropy(Y_BIN, p), PROBS),
    ("bce_probs_smoothing", lambda p: losses.binary_crossentropy(Y_BIN, p, label_smoothing=0.2), PROBS),
    ("bce_logits", lambda x: losses.binary_crossentropy(Y_BIN, x, from_logits=True), LOGITS),
    ("bce_logits_smoothing", lambda x: losses.binary_crossentropy(Y_BIN, x, from_logits=True, label_smoothing=0.1),
     LOGITS),
    ("bce_sigmoid_recovered", lambda x: losses.binary_crossentropy(Y_BIN, ops.sigmoid(x)), LOGITS),
    ("cce_probs", lambda p: losses.categorical_crossentropy(Y_ONEHOT, p), PROBS),
    ("cce_probs_smoothing", lambda p: losses.categorical_crossentropy(Y_ONEHOT, p, label_smoothing=0.1), PROBS),
    ("cce_logits", lambda x: losses.categorical_crossentropy(Y_ONEHOT, x, from_logits=True), LOGITS),
    ("cce_logits_smoothing", lambda x: losses.categorical_crossentropy(Y_ONEHOT, x, from_logits=True,
                                                                        label_smoothing=0.2), LOGITS),
    ("cce_softmax_recovered", lambda x: losses.categorical_crossentropy(Y_ONEHOT, ops.softmax(x)), LOGITS),
    ("scce_probs", lambda p: losses.sparse_categorical_crossentropy(Y_SPARSE, p), PROBS),
    ("scce_logits", lambda x: losses.sparse_categorical_crossentropy(Y_SPARSE, x, from_logits=True), LOGITS),
    ("scce_logits_axis0", lambda x: losses.sparse_categorical_crossentropy(Y_SPARSE[:C], x, from_logits=True,
                                                                            axis=0), LOGITS[:, :C]),
    ("scce_ignore_class", lambda x: losses.sparse_categorical_crossentropy(np.where(Y_SPARSE == 0, -1, Y_SPARSE), x,
                                                                            from_logits=True, ignore_class=-1),
     LOGITS),
    ("class_bce_sw", lambda x: losses.BinaryCrossentropy(from_logits=True)(Y_BIN, x, sample_weight=SW), LOGITS),
    ("class_cce_sum_sw", lambda p: losses.CategoricalCrossentropy(reduction="sum")(Y_ONEHOT, p,
                                                                                   sample_weight=SW[:, None]), PROBS),
    ("class_scce_none_sw", lambda x: losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")(
        Y_SPARSE, x, sample_weight=SW), LOGITS),
    ("class_scce_ignore_sw", lambda x: losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)(
        Tensor(Y_SPARSE), x, sample_weight=SW), LOGITS),
    ("class_mse_sw", lambda p: losses.MeanSquaredError()(Y_REG, p, sample_weight=SW), REG),
    ("class_huber_sw", lambda p: losses.Huber(delta=0.5)(Y_REG, p, sample_weight=SW), REG),
    ("class_kld", lambda p: losses.KLDivergence()(PROBS_ROWS[::-1], p), PROBS_ROWS),
    ("class_cosine_axis0", lambda p: losses.CosineSimilarity(axis=0)(Y_REG, p), REG),
    ("class_logcosh_sum", lambda p: losses.LogCosh(reduction="sum")(Y_REG, p, sample_weight=SW), REG),
    ("class_poisson", lambda p: losses.Poisson()(Y_POS, p, sample_weight=SW), POS),
    ("class_hinge", lambda p: losses.Hinge()(Y_BIN, p), REG),
    ("class_squared_hinge", lambda p: losses.SquaredHinge()(Y_BIN, p), REG),
    ("class_categorical_hinge", lambda p: losses.CategoricalHinge()(Y_ONEHOT, p, sample_weight=SW), REG),
    ("class_mae", lambda p: losses.MeanAbsoluteError()(Y_REG, p), REG),
    ("class_mape", lambda p: losses.MeanAbsolutePercentageError()(Y_REG, p), REG),
    ("class_msle", lambda p: losses.MeanSquaredLogarithmicError()(Y_POS, p), POS),
]


@pytest.mark.parametrize("name, fn, x", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_loss_gradients(name, fn, x, float64):
    fn.__name__ = name
    check_grads(fn, x)


def test_gradients_with_respect_to_targets(float64):
    """Soft targets are differentiable too (distillation losses)."""
    check_grads(lambda t: losses.categorical_crossentropy(t, Tensor(PROBS_ROWS)), PROBS_ROWS[::-1].copy())
    check_grads(lambda t: losses.kl_divergence(t, Tensor(PROBS_ROWS)), PROBS_ROWS[::-1].copy())
    check_grads(lambda t: losses.mean_squared_error(t, Tensor(REG)), Y_REG)


def test_gradient_check_catches_a_wrong_gradient(float64):
    """A test of the test: the numerical check must notice a loss whose backward is off."""
    with pytest.raises(AssertionError, match="gradient check failed"):
        # the added term depends on p but is cut from the graph, so its gradient is missing
        check_grads(lambda p: losses.mean_squared_error(Y_REG, p) + Tensor(p.data.sum(-1)), REG)


# ------------------------------------------------------------------ reductions and sample weights


def test_reductions_and_sample_weight_broadcasting():
    y = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "float32")
    p = np.zeros_like(y)
    per_sample = np.array([2.5, 12.5, 30.5], "float32")
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="none")(y, p).data, per_sample)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="sum")(y, p).data, per_sample.sum())
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p).data, per_sample.mean())
    sw = np.array([1.0, 0.0, 2.0], "float32")
    for weights in (sw, sw[:, None], list(sw)):
        # sum_over_batch_size divides by the number of elements, not by the sum of the weights
        np.testing.assert_allclose(losses.MeanSquaredError()(y, p, sample_weight=weights).data,
                                   (per_sample * sw).sum() / 3, rtol=1e-6)
    np.testing.assert_allclose(losses.MeanSquaredError()(y, p, sample_weight=2.0).data, 2 * per_sample.mean())
    with pytest.raises(ValueError, match="Can not squeeze dim"):
        losses.MeanSquaredError()(y, p, sample_weight=np.ones((3, 2), "float32"))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        losses.MeanSquaredError()(y, p, sample_weight=np.ones(4, "float32"))
    assert float(losses.MeanSquaredError()(np.zeros((0, 2)), np.zeros((0, 2), "float32")).data) == 0.0


def test_trailing_axis_of_one_is_squeezed_for_tensors():
    y = Tensor(np.array([1.0, 2.0, 3.0], "float32"))
    p = Tensor(np.array([[1.0], [1.0], [1.0]], "float32"))
    assert float(losses.MeanSquaredError()(y, p).data) == pytest.approx(5 / 3)


def test_keras_mask_on_predictions_averages_over_valid_steps():
    y = np.ones((2, 3, 1), "float32")
    p = Tensor(np.zeros((2, 3, 1), "float32"))
    p._keras_mask = np.array([[True, True, False], [True, False, False]])
    assert float(losses.MeanSquaredError()(y, p).data) == pytest.approx(1.0)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="none")(y, p).data, [[1, 1, 0], [1, 0, 0]])


# ------------------------------------------------------------------ identifiers and configs


@pytest.mark.parametrize("name, expected", [
    ("mse", "mean_squared_error"), ("MSE", "mean_squared_error"), ("mean_squared_error", "mean_squared_error"),
    ("mae", "mean_absolute_error"), ("mape", "mean_absolute_percentage_error"),
    ("msle", "mean_squared_logarithmic_error"), ("binary_crossentropy", "binary_crossentropy"),
    ("bce", "binary_crossentropy"), ("categorical_crossentropy", "categorical_crossentropy"),
    ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"), ("hinge", "hinge"),
    ("squared_hinge", "squared_hinge"), ("categorical_hinge", "categorical_hinge"), ("kld", "kl_divergence"),
    ("kullback_leibler_divergence", "kl_divergence"), ("poisson", "poisson"), ("huber", "huber"),
    ("huber_loss", "huber"), ("logcosh", "log_cosh"), ("log_cosh", "log_cosh"),
    ("cosine_similarity", "cosine_similarity"),
])
def test_get_strings_give_functions(name, expected):
    assert losses.get(name).__name__ == expected


@pytest.mark.parametrize("cls", [losses.MeanSquaredError, losses.MeanAbsoluteError,
                                 losses.MeanAbsolutePercentageError, losses.MeanSquaredLogarithmicError,
                                 losses.BinaryCrossentropy, losses.CategoricalCrossentropy,
                                 losses.SparseCategoricalCrossentropy, losses.CosineSimilarity, losses.Hinge,
                                 losses.SquaredHinge, losses.CategoricalHinge, losses.Poisson, losses.LogCosh,
                                 losses.KLDivergence, losses.Huber])
def test_loss_classes_serialize_round_trip(cls):
    obj = cls()
    config = json.loads(json.dumps(losses.serialize(obj)))
    assert set(config) == {"module", "class_name", "config", "registered_name"}
    assert config["module"] == "keras.losses" and config["class_name"] == cls.__name__
    again = losses.deserialize(config)
    assert type(again) is cls and again.get_config() == obj.get_config()
    two_key = losses.get({"class_name": cls.__name__, "config": obj.get_config()})
    assert type(two_key) is cls
    assert type(losses.get(cls.__name__)) is cls
    assert type(losses.get(cls)) is cls


def test_serialize_functions_and_wrappers():
    assert losses.serialize(losses.mse) == "mean_squared_error"
    wrapper = losses.LossFunctionWrapper(losses.hinge, name="h", reduction="sum")
    config = wrapper.get_config()
    assert config == {"reduction": "sum", "name": "h", "fn": "hinge"}
    again = losses.LossFunctionWrapper.from_config(config)
    assert again.fn is losses.hinge and again.reduction == "sum"
    assert losses.get({"module": "builtins", "class_name": "function", "config": "mean_squared_error",
                       "registered_name": "function"}) is losses.mean_squared_error
    custom = lambda y, p: losses.mse(y, p)  # noqa: E731
    assert losses.get(custom) is custom
    assert losses.get(None) is None
    assert losses.is_categorical_crossentropy("categorical_crossentropy")
    assert losses.is_categorical_crossentropy(losses.CategoricalCrossentropy())


def test_unknown_identifiers():
    with pytest.raises(ValueError, match="Unknown loss function: 'nope'"):
        losses.get("nope")
    with pytest.raises(ValueError, match="Could not interpret loss function identifier"):
        losses.get(42)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("labels", [[0, 4, 1], [-1, 0, 1], [7, 0, 0]])
def test_sparse_labels_out_of_range(labels):
    p = np.full((3, 4), 0.25, "float32")
    bad = [v for v in labels if v < 0 or v >= 4][0]
    with pytest.raises(ValueError, match=rf"label value of {bad} which is outside the valid range of \[0, 4\)"):
        losses.sparse_categorical_crossentropy(np.array(labels), p)
    with pytest.raises(ValueError, match="outside the valid range"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(np.array(labels), p)


def test_sparse_labels_with_wrong_shape():
    with pytest.raises(ValueError, match="must equal `logits.shape` except for the last dimension"):
        losses.sparse_categorical_crossentropy(np.zeros((3, 2), "int64"), np.full((3, 4), 0.25, "float32"))


@pytest.mark.parametrize("y_true_shape", [(3, 3), (3, 5), (3, 1), (3,)])
def test_categorical_class_count_mismatch(y_true_shape):
    with pytest.raises(ValueError, match=r"Shapes \(3,.*are incompatible.*one column per class"):
        losses.categorical_crossentropy(np.zeros(y_true_shape, "float32"), np.full((3, 4), 0.25, "float32"))


@pytest.mark.parametrize("fn", [losses.mean_squared_error, losses.mean_absolute_error, losses.hinge,
                                losses.binary_crossentropy, losses.kl_divergence, losses.poisson, losses.huber])
def test_incompatible_shapes(fn):
    with pytest.raises(ValueError, match="Incompatible shapes"):
        fn(np.zeros((3, 2), "float32"), np.zeros((3, 5), "float32"))


@pytest.mark.parametrize("reduction", ["mean", "SUM", None, "sum_over_batch"])
def test_invalid_reduction(reduction):
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        losses.MeanSquaredError(reduction=reduction)


@pytest.mark.parametrize("axis", [True, 1.5, "x"])
def test_axis_must_be_an_int(axis):
    with pytest.raises(ValueError, match="`axis` must be of type `int`"):
        losses.categorical_crossentropy(np.eye(2, dtype="float32"), np.eye(2, dtype="float32"), axis=axis)


def test_single_class_categorical_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses.categorical_crossentropy(np.ones((2, 1), "float32"), np.ones((2, 1), "float32"))
    assert any("Consider using 'binary_crossentropy'" in str(w.message) for w in caught)
