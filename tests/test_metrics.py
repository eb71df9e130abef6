"""Metrics: parity with real tf_keras 2.21 (functions, stateful results, state variables), `get_metric`'s
resolution of 'accuracy', identifiers, configs and errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import FIXTURES, load_json
from minikeras import losses, metrics
from minikeras.autograd import Tensor, ops

LOSSES_META = load_json(FIXTURES / "keras2" / "losses" / "meta.json")
EXTRA = load_json(FIXTURES / "keras2" / "losses_extra.json")
TOL = dict(atol=1e-6, rtol=1e-6)


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


IO = _arrays(FIXTURES / "keras2" / "losses" / "io.npz")
XA = _arrays(FIXTURES / "keras2" / "losses_extra.npz")


@pytest.mark.parametrize("spec", LOSSES_META["metrics"], ids=lambda s: s["name"])
def test_accuracy_metrics_match_tf_keras(spec):
    fn = getattr(metrics, spec["function"].split(".")[-1])
    y_true, y_pred = IO[spec["y_true"]], IO[spec["y_pred"]]
    arrays = spec["arrays"]
    np.testing.assert_allclose(fn(y_true, y_pred, **spec["kwargs"]).data, IO[arrays["per_sample"]], **TOL)
    cls = getattr(metrics, spec["class"])
    m = cls(**spec["kwargs"])
    assert m.get_config() == spec["class_config"]
    m.update_state(y_true, y_pred)
    np.testing.assert_allclose(m.result().data, IO[arrays["result"]], **TOL)
    m = cls(**spec["kwargs"])
    m.update_state(y_true, y_pred, sample_weight=IO["sample_weight"])
    np.testing.assert_allclose(m.result().data, IO[arrays["result_with_sample_weight"]], **TOL)


@pytest.mark.parametrize("spec", LOSSES_META["losses"], ids=lambda s: s["name"])
def test_loss_functions_as_metrics_match_tf_keras(spec):
    """`compile(metrics=['mse'])` wraps the loss function in a MeanMetricWrapper: the mean of the per-sample values."""
    fn = losses.get(spec["function"].split(".")[-1])
    m = metrics.MeanMetricWrapper(fn, name=spec["name"], **spec["kwargs"])
    m.update_state(IO[spec["y_true"]], IO[spec["y_pred"]])
    np.testing.assert_allclose(m.result().data, IO[spec["arrays"]["per_sample"]].mean(), **TOL)


@pytest.mark.parametrize("case", [c for c in EXTRA["cases"] if c["kind"] == "metric"], ids=lambda c: c["name"])
def test_stateful_metrics_over_two_batches_match_tf_keras(case):
    m = getattr(metrics, case["class"])(**case["kwargs"])
    expected = dict(case["config"])
    if expected["name"] != m.name:  # auto-names count the metrics created before in the generating session
        assert expected["name"].rsplit("_", 1)[0] == m.name
        expected["name"] = m.name
    assert m.get_config() == expected
    half = case["split"]
    y_pred = XA[case["y_pred"]]
    sw = XA[case["sample_weight"]][half:]
    if case["y_true"] is None:
        m.update_state(y_pred[:half])
        np.testing.assert_allclose(m.result().data, XA[case["result_1"]], **TOL)
        m.update_state(y_pred[half:], sample_weight=sw)
    else:
        y_true = XA[case["y_true"]]
        m.update_state(y_true[:half], y_pred[:half])
        np.testing.assert_allclose(m.result().data, XA[case["result_1"]], **TOL)
        m.update_state(y_true[half:], y_pred[half:], sample_weight=sw)
    np.testing.assert_allclose(m.result().data, XA[case["result_2"]], **TOL)
    assert [v.name + ":0" for v in m.variables] == case["state_names"]
    for v, key in zip(m.variables, case["state"]):
        assert v.dtype == XA[key].dtype
        np.testing.assert_allclose(v.data, XA[key], **TOL)
    m.reset_state()
    assert all(not np.any(v.data) for v in m.variables)


@pytest.mark.parametrize("case", [c for c in EXTRA["cases"] if c["kind"] == "metric_function"],
                         ids=lambda c: c["name"])
def test_metric_functions_match_tf_keras(case):
    value = getattr(metrics, case["function"])(XA[case["y_true"]], XA[case["y_pred"]], **case["kwargs"])
    np.testing.assert_allclose(value.data, XA[case["value"]], **TOL)


# ------------------------------------------------------------------ get_metric: what compile does with strings


@pytest.mark.parametrize("identifier, output_shape, target_shape, expected", [
    ("accuracy", (8, 1), (8, 1), "binary_accuracy"),
    ("acc", (8, 1), (8,), "binary_accuracy"),
    ("accuracy", (8, 3), (8, 3), "categorical_accuracy"),
    ("accuracy", (8, 3), (8,), "sparse_categorical_accuracy"),
    ("Accuracy", (8, 3), (8, 1), "sparse_categorical_accuracy"),
    ("ACC", (8, 5, 3), (8, 5), "sparse_categorical_accuracy"),
    ("crossentropy", (8, 1), (8, 1), "binary_crossentropy"),
    ("ce", (8, 3), (8,), "sparse_categorical_crossentropy"),
    ("ce", (8, 3), None, "categorical_crossentropy"),
])
def test_get_metric_resolves_accuracy_from_shapes_as_tf_keras(identifier, output_shape, target_shape, expected):
    m = metrics.get_metric(identifier, output_shape=output_shape, target_shape=target_shape)
    assert isinstance(m, metrics.MeanMetricWrapper)
    assert m._fn.__name__ == expected
    assert m.name == identifier  # the logged name is what the user wrote


@pytest.mark.parametrize("loss, expected", [
    ("binary_crossentropy", "binary_accuracy"), (losses.BinaryCrossentropy(), "binary_accuracy"),
    ("sparse_categorical_crossentropy", "sparse_categorical_accuracy"),
    (losses.sparse_categorical_crossentropy, "sparse_categorical_accuracy"),
    ("categorical_crossentropy", "categorical_accuracy"), ("mse", "categorical_accuracy"),
])
def test_get_metric_without_shapes_uses_the_loss(loss, expected):
    assert metrics.get_metric("acc", loss=loss)._fn.__name__ == expected


def test_get_metric_other_identifiers():
    m = metrics.get_metric("mse")
    assert m.name == "mse" and m._fn is losses.mean_squared_error
    obj = metrics.Precision()
    assert metrics.get_metric(obj) is obj
    assert isinstance(metrics.get_metric("Precision"), metrics.Precision)

    def my_metric(y, p):
        return losses.mae(y, p)

    assert metrics.get_metric(my_metric).name == "my_metric"
    assert metrics.get_metric(None) is None


def test_binary_accuracy_metric_through_a_sigmoid_output():
    """Metrics never build a graph; a Tensor output with a recorded graph is accepted."""
    logits = Tensor(np.array([[2.0], [-1.0], [0.3]], "float32"), requires_grad=True)
    m = metrics.get_metric("accuracy", output_shape=(3, 1))
    m.update_state(np.array([1.0, 1.0, 0.0], "float32"), ops.sigmoid(logits))
    assert float(m.result()) == pytest.approx(1 / 3)
    assert logits.grad is None


# ------------------------------------------------------------------ Metric base


def test_mean_sum_and_weights():
    m = metrics.Mean()
    assert m.name == "mean" and m.get_config() == {"name": "mean", "dtype": "float32"}
    m.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 2.0])
    assert float(m.result()) == pytest.approx(7 / 3)
    assert [v.name for v in m.variables] == ["total", "count"]
    m.update_state(np.ones((2, 3)), sample_weight=[1.0, 1.0])  # weights of rank - 1 get a trailing axis
    assert float(m.result()) == pytest.approx(13 / 9)
    assert float(m(5.0)) == pytest.approx(18 / 10)  # calling updates and returns the result
    low = metrics.Mean()  # weights of lower rank still: the values are averaged over the extra axes (tf_keras: 5.5)
    low.update_state(np.arange(24.0).reshape(2, 3, 4), sample_weight=[1.0, 0.0])
    assert float(low.result()) == 5.5 and float(low.variables[1].data) == 1.0
    s = metrics.Sum()
    s.update_state([[1.0, 2.0], [3.0, 4.0]], sample_weight=[0.5, 1.0])
    assert float(s.result()) == pytest.approx(8.5)
    assert float(metrics.Mean().result()) == 0.0  # divide_no_nan
    assert m.result().dtype == np.float32 and m.variables[0].dtype == np.float32


def test_merge_state_and_deep_copy_of_metric_objects():
    a, b = metrics.Mean(), metrics.Mean()
    a.update_state([1.0, 2.0])
    b.update_state([6.0])
    a.merge_state([b])
    assert float(a.result()) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="is not compatible"):
        a.merge_state([metrics.Sum()])
    again = metrics.Mean.from_config(a.get_config())
    again.set_weights(a.get_weights())
    assert float(again.result()) == pytest.approx(3.0)


def test_auto_names_are_made_unique_like_keras():
    assert metrics.Precision().name == "precision"
    assert metrics.Precision().name == "precision_1"
    assert metrics.Recall(name="r").name == "r"
    assert metrics.BinaryAccuracy().name == "binary_accuracy"
    assert metrics.BinaryAccuracy().name == "binary_accuracy"


@pytest.mark.parametrize("cls", [metrics.Accuracy, metrics.BinaryAccuracy, metrics.CategoricalAccuracy,
                                 metrics.SparseCategoricalAccuracy, metrics.TopKCategoricalAccuracy,
                                 metrics.SparseTopKCategoricalAccuracy, metrics.MeanSquaredError,
                                 metrics.MeanAbsoluteError, metrics.MeanAbsolutePercentageError,
                                 metrics.MeanSquaredLogarithmicError, metrics.RootMeanSquaredError,
                                 metrics.CosineSimilarity, metrics.LogCoshError, metrics.Poisson,
                                 metrics.KLDivergence, metrics.BinaryCrossentropy, metrics.CategoricalCrossentropy,
                                 metrics.SparseCategoricalCrossentropy, metrics.Hinge, metrics.SquaredHinge,
                                 metrics.CategoricalHinge, metrics.Precision, metrics.Recall, metrics.TruePositives,
                                 metrics.FalsePositives, metrics.TrueNegatives, metrics.FalseNegatives,
                                 metrics.Mean, metrics.Sum])
def test_metric_classes_serialize_round_trip(cls):
    m = cls()
    config = json.loads(json.dumps(metrics.serialize(m)))
    assert config["module"] == "keras.metrics" and config["class_name"] == cls.__name__
    again = metrics.deserialize(config)
    assert type(again) is cls and again.get_config() == m.get_config()
    assert type(metrics.get({"class_name": cls.__name__, "config": m.get_config()})) is cls
    assert type(metrics.get(cls.__name__)) is cls


def test_mean_metric_wrapper_config_names_its_function():
    """tf_keras's h5 training_config holds {"class_name": "MeanMetricWrapper", "config": {..., "fn": name}}."""
    m = metrics.MeanMetricWrapper(metrics.categorical_accuracy, name="accuracy")
    assert m.get_config() == {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}
    again = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert again._fn is metrics.categorical_accuracy and again.name == "accuracy"
    k = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="acc", threshold=0.7)
    assert k.get_config()["threshold"] == 0.7


@pytest.mark.parametrize("name, fn", [("accuracy", metrics.accuracy), ("acc", metrics.accuracy),
                                      ("binary_accuracy", metrics.binary_accuracy),
                                      ("categorical_accuracy", metrics.categorical_accuracy),
                                      ("top_k_categorical_accuracy", metrics.top_k_categorical_accuracy),
                                      ("mse", losses.mean_squared_error), ("MAE", losses.mean_absolute_error),
                                      ("kld", losses.kl_divergence), ("logcosh", losses.log_cosh),
                                      ("binary_crossentropy", losses.binary_crossentropy),
                                      ("cosine_similarity", metrics.cosine_similarity)])
def test_get_strings(name, fn):
    assert metrics.get(name) is fn


def test_metric_errors():
    with pytest.raises(ValueError, match="Unknown metric function: 'nope'"):
        metrics.get("nope")
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get(3)
    for bad in (1.5, -0.1, [0.2, 2.0]):
        with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
            metrics.Precision(thresholds=bad)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Mean"):
        metrics.Metric.__init__(metrics.Mean(), foo=1)
    with pytest.raises(RuntimeError, match="can only be a single Tensor"):
        metrics.Mean().update_state({"a": 1.0})
    with pytest.raises(ValueError, match="are incompatible"):
        metrics.Precision().update_state(np.zeros((2, 3)), np.zeros((2, 4)))


def test_top_k_ties_count_as_in_and_non_finite_rows_as_out():
    y = np.array([2, 0, 1])
    p = np.array([[0.3, 0.3, 0.3, 0.1], [np.nan, 0.5, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]], "float32")
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(y, p, k=1).data, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(y, p, k=3).data, [1.0, 0.0, 1.0])
