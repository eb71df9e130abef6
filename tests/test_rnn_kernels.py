"""The fused sequence kernels (`minikeras.autograd.rnn`) against the composed per-timestep path, in float64.

For every recurrent layer and every argument that reaches the recurrence (masks with padding at the end and in the
middle, go_backwards, return_state, initial_state, stateful, dropout, use_bias, time_major, each activation), the
fused path and the composed path must give the same outputs AND the same gradients for the input, every weight and
the initial states (1e-6). Both paths are also checked numerically with central differences.
"""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import activations, backend
from minikeras.autograd import Tensor, check_grads, no_grad, numerical_grad, ops
from minikeras.autograd import rnn as rnn_kernels
from minikeras.layers import GRU, LSTM, SimpleRNN
from minikeras.layers.recurrent import use_fused_kernels

N, T, F, U = 3, 5, 2, 3

# Padding at the end (sample 0), in the middle (sample 1), at the start (sample 2).
MASK = np.array([[1, 1, 1, 0, 0],
                 [1, 0, 0, 1, 1],
                 [0, 0, 1, 1, 1]], dtype=bool)


def _weights(layer, rng):
    return [rng.standard_normal(w.shape) * 0.5 for w in layer.weights]


def _run(cls, kwargs, x, *, mask=None, init=None, training=False, fused=True, calls=1, weights=None):
    """Build a fresh layer with fixed weights, call it, backprop a fixed random projection of every output."""
    backend.clear_session()
    layer = cls(**kwargs)
    layer._maybe_build(x.shape)
    if weights is None:
        weights = _weights(layer, np.random.default_rng(1))
    layer.set_weights(weights)
    xt = Tensor(x, requires_grad=True)
    inits = [Tensor(s, requires_grad=True) for s in init] if init is not None else None
    backend.set_random_seed(123)  # the dropout masks: the same draws for both paths
    with use_fused_kernels(fused):
        for _ in range(calls):
            out = layer(xt, mask=mask, training=training, initial_state=inits)
    outs = out if isinstance(out, list) else [out]
    node = type(outs[0]._ctx).__name__
    assert node.endswith("Sequence") == fused, f"expected the {'fused' if fused else 'composed'} path, got {node}"
    rng = np.random.default_rng(2)
    loss = None
    for o in outs:
        term = (o * Tensor(rng.standard_normal(o.shape))).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    return {"outputs": [o.numpy().copy() for o in outs], "x": xt.grad,
            "weights": [w.grad for w in layer.weights], "init": [s.grad for s in inits or []],
            "layer": layer, "w": weights}


def _assert_same(a, b, what):
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6, err_msg=what)


def _compare(cls, kwargs, x, **opts):
    fused = _run(cls, kwargs, x, fused=True, **opts)
    composed = _run(cls, kwargs, x, fused=False, weights=fused["w"], **opts)
    for i, (a, b) in enumerate(zip(fused["outputs"], composed["outputs"])):
        _assert_same(a, b, f"output {i}")
    assert len(fused["outputs"]) == len(composed["outputs"])
    _assert_same(fused["x"], composed["x"], "grad of x")
    names = [w.name for w in fused["layer"].weights]
    for name, a, b in zip(names, fused["weights"], composed["weights"]):
        assert a is not None and b is not None, name
        _assert_same(a, b, f"grad of {name}")
    for i, (a, b) in enumerate(zip(fused["init"], composed["init"])):
        assert a is not None and b is not None
        _assert_same(a, b, f"grad of initial state {i}")
    return fused


LAYERS = {
    "lstm": (LSTM, {"recurrent_activation": "sigmoid"}),
    "lstm_hard": (LSTM, {}),
    "gru": (GRU, {}),
    "gru_reset_after": (GRU, {"reset_after": True, "recurrent_activation": "sigmoid"}),
    "simple_rnn": (SimpleRNN, {}),
}

OPTIONS = {
    "default": ({}, {}),
    "return_sequences": ({"return_sequences": True}, {}),
    "go_backwards": ({"go_backwards": True}, {}),
    "go_backwards_sequences": ({"go_backwards": True, "return_sequences": True}, {}),
    "return_state": ({"return_sequences": True, "return_state": True}, {}),
    "mask": ({}, {"mask": MASK}),
    "mask_sequences": ({"return_sequences": True}, {"mask": MASK}),
    "mask_go_backwards": ({"return_sequences": True, "go_backwards": True}, {"mask": MASK}),
    "mask_return_state": ({"return_state": True, "go_backwards": True}, {"mask": MASK}),
    "mask_zero_output": ({"return_sequences": True, "zero_output_for_mask": True}, {"mask": MASK}),
    "mask_zero_output_last": ({"zero_output_for_mask": True}, {"mask": MASK}),
    "initial_state": ({"return_sequences": True}, {"init": True}),
    "initial_state_mask": ({"return_sequences": True, "return_state": True}, {"init": True, "mask": MASK}),
    "no_bias": ({"use_bias": False, "return_sequences": True}, {}),
    "time_major": ({"time_major": True, "return_sequences": True}, {"time_major": True}),
    "time_major_mask": ({"time_major": True}, {"time_major": True, "mask": MASK}),
    "dropout_impl1": ({"dropout": 0.3, "recurrent_dropout": 0.4, "return_sequences": True}, {"training": True}),
    "dropout_impl2": ({"dropout": 0.3, "implementation": 2}, {"training": True}),
    "dropout_mask": ({"dropout": 0.3, "recurrent_dropout": 0.2}, {"training": True, "mask": MASK}),
    "stateful_two_calls": ({"stateful": True, "return_sequences": True}, {"calls": 2}),
}


def _state_count(cls):
    return 2 if cls is LSTM else 1


def _padding_mask(n, t):
    """Padding at the end, in the middle and at the start (cycling over the samples); the MASK pattern for 3x5."""
    if (n, t) == MASK.shape:
        return MASK
    mask = np.ones((n, t), bool)
    for i in range(n):
        k = max(1, t // 3)
        mask[i, [slice(t - k, t), slice(k, 2 * k), slice(0, k)][i % 3]] = False
    return mask


def _prepare(cls, layer_kwargs, extra, rng, shape=(N, T, F, U)):
    n, t, f, u = shape
    kwargs = dict(layer_kwargs, units=u)
    extra = dict(extra)
    x = rng.standard_normal((n, t, f))
    mask = _padding_mask(n, t) if extra.pop("mask", None) is not None else None
    if extra.pop("time_major", False):
        x = x.transpose(1, 0, 2).copy()
        mask = None if mask is None else mask.T.copy()
    if cls is SimpleRNN:
        kwargs.pop("implementation", None)
    init = None
    if extra.pop("init", False):
        init = [rng.standard_normal((n, u)) for _ in range(_state_count(cls))]
    return kwargs, x, dict(mask=mask, init=init, **extra)


SHAPES = {"3x5x2-3": (N, T, F, U), "1x1x3-4": (1, 1, 3, 4), "4x7x1-1": (4, 7, 1, 1), "2x3x6-5": (2, 3, 6, 5)}


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_fused_matches_composed(layer_name, option, float64):
    cls, base = LAYERS[layer_name]
    kwargs, extra = OPTIONS[option]
    kwargs, x, opts = _prepare(cls, {**base, **kwargs}, extra, np.random.default_rng(0))
    _compare(cls, kwargs, x, **opts)


@pytest.mark.parametrize("shape", list(SHAPES.values())[1:], ids=list(SHAPES)[1:])
@pytest.mark.parametrize("option", ["default", "mask_go_backwards", "initial_state_mask", "dropout_mask",
                                    "stateful_two_calls", "time_major"])
@pytest.mark.parametrize("layer_name", list(LAYERS))
def test_fused_matches_composed_other_shapes(layer_name, option, shape, float64):
    cls, base = LAYERS[layer_name]
    kwargs, extra = OPTIONS[option]
    kwargs, x, opts = _prepare(cls, {**base, **kwargs}, extra, np.random.default_rng(1), shape)
    _compare(cls, kwargs, x, **opts)


FUSED_ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign", "elu", "selu", "softplus",
                     "swish", "gelu", "exponential", "relu6", "leaky_relu"]


ACTIVATION_SLOTS = [(LSTM, "activation"), (LSTM, "recurrent_activation"), (GRU, "activation"),
                    (GRU, "recurrent_activation"), (SimpleRNN, "activation")]


@pytest.mark.parametrize("name", FUSED_ACTIVATIONS)
@pytest.mark.parametrize("cls, which", ACTIVATION_SLOTS, ids=[f"{c.__name__}-{w}" for c, w in ACTIVATION_SLOTS])
def test_each_activation_fused_matches_composed(cls, which, name, float64):
    kwargs = {"units": U, which: name, "return_sequences": True}
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, T, F)) * 0.5
    _compare(cls, kwargs, x, mask=MASK)


def test_keras3_hard_sigmoid_goes_through_the_fused_path(float64):
    with activations.keras_era(3):
        kwargs = {"units": U, "recurrent_activation": "hard_sigmoid", "return_sequences": True}
        x = np.random.default_rng(4).standard_normal((N, T, F)) * 3
        out3 = _compare(LSTM, kwargs, x)
    out2 = _run(LSTM, kwargs, x, weights=out3["w"])
    assert np.max(np.abs(out3["outputs"][0] - out2["outputs"][0])) > 1e-3  # the two formulas differ


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN], ids=["lstm", "gru", "simple_rnn"])
def test_one_step_and_one_sample(cls, float64):
    rng = np.random.default_rng(5)
    _compare(cls, {"units": 4, "return_sequences": True}, rng.standard_normal((1, 1, 3)))
    _compare(cls, {"units": 1}, rng.standard_normal((2, 3, 1)), mask=np.array([[0, 0, 0], [1, 0, 1]], bool))


def test_fully_masked_sample_outputs_zero_and_keeps_initial_state(float64):
    rng = np.random.default_rng(6)
    mask = np.array([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    init = [rng.standard_normal((N, U)) for _ in range(2)]
    res = _compare(LSTM, {"units": U, "return_sequences": True, "return_state": True}, rng.standard_normal((N, T, F)),
                   mask=mask, init=init)
    seq, h, c = res["outputs"]
    # NOTE: tf-keras's backend.rnn starts the carried output from zeros, not from the initial state
    np.testing.assert_array_equal(seq[0], 0)
    np.testing.assert_allclose(h[0], init[0][0])
    np.testing.assert_allclose(c[0], init[1][0])
    np.testing.assert_allclose(seq[2, 1:], np.repeat(seq[2, :1], 4, axis=0))


def test_dropout_masks_are_applied_and_reused(float64):
    x = np.random.default_rng(7).standard_normal((N, T, F))
    kwargs = {"units": U, "dropout": 0.5, "recurrent_dropout": 0.5, "return_sequences": True}
    train = _run(LSTM, kwargs, x, training=True)
    infer = _run(LSTM, kwargs, x, training=False, weights=train["w"])
    assert np.max(np.abs(train["outputs"][0] - infer["outputs"][0])) > 1e-3
    # one draw per call: a second call with the same seed gives the same numbers
    again = _run(LSTM, kwargs, x, training=True, weights=train["w"])
    np.testing.assert_array_equal(train["outputs"][0], again["outputs"][0])


# ************************************************************ numerical gradient checks


def _lstm_fn(**opts):
    def fn(x, k, r, b, h0, c0):
        y, h, c = rnn_kernels.lstm_sequence(x, k, r, b, h0, c0, **opts)
        return ops.concatenate([y.reshape(-1), h.reshape(-1), c.reshape(-1)], axis=0)
    fn.__name__ = f"LSTMSequence{opts}"
    return fn


def _lstm_arrays(rng, n=2, t=4, f=3, u=2):
    return (rng.standard_normal((n, t, f)), rng.standard_normal((f, 4 * u)) * 0.5,
            rng.standard_normal((u, 4 * u)) * 0.5, rng.standard_normal(4 * u) * 0.5,
            rng.standard_normal((n, u)), rng.standard_normal((n, u)))


LSTM_KERNEL_CASES = {
    "plain": {},
    "sequences": {"return_sequences": True},
    "mask_backwards": {"return_sequences": True, "go_backwards": True,
                       "mask": np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)},
    "mask_last_output": {"mask": np.array([[1, 1, 0, 0], [0, 1, 0, 1]], bool)},
    "zero_output": {"return_sequences": True, "zero_output_for_mask": True,
                    "mask": np.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool)},
    "hard_sigmoid_relu": {"return_sequences": True, "activation": "relu", "recurrent_activation": "hard_sigmoid"},
    "swish_softplus": {"activation": "swish", "recurrent_activation": "softplus"},
    "time_major": {"time_major": True, "return_sequences": True},
}


@pytest.mark.parametrize("case", list(LSTM_KERNEL_CASES))
def test_lstm_kernel_numerical_gradients(case):
    rng = np.random.default_rng(10)
    arrays = _lstm_arrays(rng)
    opts = dict(LSTM_KERNEL_CASES[case])
    if opts.get("time_major"):
        arrays = (arrays[0].transpose(1, 0, 2).copy(),) + arrays[1:]
        if "mask" in opts:
            opts["mask"] = opts["mask"].T
    check_grads(_lstm_fn(**opts), *arrays)


def test_lstm_kernel_numerical_gradients_with_dropout():
    rng = np.random.default_rng(11)
    arrays = _lstm_arrays(rng)
    dp = (rng.random((4, 2, 3)) > 0.3) / 0.7
    rdp = (rng.random((4, 2, 2)) > 0.3) / 0.7
    check_grads(_lstm_fn(dropout_mask=dp, recurrent_dropout_mask=rdp, return_sequences=True), *arrays)
    check_grads(_lstm_fn(dropout_mask=dp[:1]), *arrays)


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
def test_gru_kernel_numerical_gradients(reset_after, dropout):
    rng = np.random.default_rng(12)
    n, t, f, u = 2, 4, 3, 2
    x, k, r = rng.standard_normal((n, t, f)), rng.standard_normal((f, 3 * u)), rng.standard_normal((u, 3 * u))
    b = rng.standard_normal((2, 3 * u) if reset_after else (3 * u,)) * 0.5
    h0 = rng.standard_normal((n, u))
    opts = dict(reset_after=reset_after, return_sequences=True, go_backwards=True,
                mask=np.array([[1, 0, 1, 1], [1, 1, 0, 0]], bool), recurrent_activation="hard_sigmoid")
    if dropout:
        opts.update(dropout_mask=(rng.random((3, n, f)) > 0.3) / 0.7,
                    recurrent_dropout_mask=(rng.random((3, n, u)) > 0.3) / 0.7)

    def fn(x, k, r, b, h0):
        y, h = rnn_kernels.gru_sequence(x, k, r, b, h0, **opts)
        return ops.concatenate([y.reshape(-1), h.reshape(-1)], axis=0)
    check_grads(fn, x, k, r, b, h0)


@pytest.mark.parametrize("use_bias", [False, True])
def test_simple_rnn_kernel_numerical_gradients(use_bias):
    rng = np.random.default_rng(13)
    x, k, r, b, h0 = (rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 2)), rng.standard_normal((2, 2)),
                      rng.standard_normal(2), rng.standard_normal((2, 2)))
    opts = dict(mask=np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool), activation="elu",
                dropout_mask=(rng.random((1, 2, 3)) > 0.3) / 0.7, recurrent_dropout_mask=(rng.random((1, 2, 2)) > 0.3) / 0.7)

    def fn(x, k, r, b, h0):
        y, h = rnn_kernels.simple_rnn_sequence(x, k, r, b if use_bias else None, h0, **opts)
        return ops.concatenate([y.reshape(-1), h.reshape(-1)], axis=0)
    check_grads(fn, x, k, r, b, h0)


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN], ids=["lstm", "gru", "simple_rnn"])
def test_composed_path_numerical_gradients(cls, float64):
    """The oracle itself: the per-timestep graph of autograd ops, checked against central differences."""
    layer = cls(2, return_sequences=True, go_backwards=True)
    layer._maybe_build((2, 3, 2))
    mask = np.array([[1, 0, 1], [1, 1, 0]], bool)
    rng = np.random.default_rng(14)
    for var in layer.weights:
        var.assign(rng.standard_normal(var.shape) * 0.5)
    x = rng.standard_normal((2, 3, 2))

    def composed(xt):
        with use_fused_kernels(False):
            return layer(xt, mask=mask)
    check_grads(composed, x)
    # the weights are Variables: differentiate the same projected loss through `assign`
    R = np.random.default_rng(0).standard_normal((2, 3, 2))
    for var in layer.weights:
        var.grad = None  # check_grads above also backpropagated into the weights
    (composed(Tensor(x)) * Tensor(R)).sum().backward()
    for var in layer.weights:
        def loss(a, var=var):
            old = var.data.copy()
            var.assign(a)
            with no_grad():
                value = float((composed(Tensor(x)).data * R).sum())
            var.assign(old)
            return value
        np.testing.assert_allclose(var.grad, numerical_grad(loss, var.data.copy()), atol=1e-6, rtol=1e-4,
                                   err_msg=f"composed path, weight {var.name}")


def test_a_wrong_backward_fails_the_check():
    """Test of the test: a BPTT off by 1% in one weight gradient must be caught."""
    class Broken(rnn_kernels.LSTMSequence):
        @staticmethod
        def backward(ctx, grads):
            out = list(rnn_kernels.LSTMSequence.backward(ctx, grads))
            out[2] = out[2] * 1.01
            return tuple(out)

    def fn(x, k, r, b, h0, c0):
        y, h, c = Broken.apply(x, k, r, b, h0, c0, has_bias=True, return_sequences=True)
        return y
    with pytest.raises(AssertionError, match="input 2"):
        check_grads(fn, *_lstm_arrays(np.random.default_rng(15)))


# ************************************************************ no_grad, storage, gate values


def test_inference_stores_nothing_and_matches_training_forward():
    rng = np.random.default_rng(16)
    x, k, r, b, h0, c0 = (a.astype("float32") for a in _lstm_arrays(rng))
    tensors = [Tensor(a) for a in (x, k, r, b, h0, c0)]
    with no_grad():
        y0, h0_, c0_ = rnn_kernels.lstm_sequence(*tensors, return_sequences=True)
    assert y0._ctx is None and y0.dtype == np.float32
    tensors[0] = Tensor(x, requires_grad=True)
    y1, _, _ = rnn_kernels.lstm_sequence(*tensors, return_sequences=True)
    assert y1._ctx is not None and y1._ctx.saved["A"].shape[0] == x.shape[1]
    np.testing.assert_array_equal(y0.numpy(), y1.numpy())


def test_float32_stays_float32():
    layer = LSTM(3, return_sequences=True)
    x = Tensor(np.ones((2, 4, 5), "float32"), requires_grad=True)
    y = layer(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and all(w.grad.dtype == np.float32 for w in layer.weights)


def test_lstm_gate_values_match_the_layer():
    rng = np.random.default_rng(17)
    layer = LSTM(3, return_sequences=True, return_state=True, go_backwards=True)
    x = rng.standard_normal((2, 4, 5)).astype("float32")
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)
    seq, h, c = layer(x, mask=mask)
    k, r, b = (w.numpy() for w in layer.weights)
    g = rnn_kernels.lstm_gate_values(x, k, r, b, mask=mask, recurrent_activation="hard_sigmoid", go_backwards=True)
    assert {name: a.shape for name, a in g.items()} == {n: (2, 4, 3) for n in ("i", "f", "o", "c_tilde", "c", "h")}
    np.testing.assert_allclose(g["h"][:, -1], h.numpy(), atol=1e-6)
    np.testing.assert_allclose(g["c"][:, -1], c.numpy(), atol=1e-6)
    # at unmasked steps (in processing order) the output is h, c = f * c_prev + i * c~ and h = o * tanh(c)
    active = mask[:, ::-1]
    c_prev = np.concatenate([np.zeros((2, 1, 3), "float32"), g["c"][:, :-1]], axis=1)
    np.testing.assert_allclose(g["h"][active], seq.numpy()[active], atol=1e-6)
    np.testing.assert_allclose(g["c"][active], (g["f"] * c_prev + g["i"] * g["c_tilde"])[active], atol=1e-6)
    np.testing.assert_allclose(g["h"][active], (g["o"] * np.tanh(g["c"]))[active], atol=1e-6)
    # at masked steps the states are carried
    np.testing.assert_allclose(g["c"][~active], c_prev[~active], atol=1e-6)
    assert np.all((g["i"] >= 0) & (g["i"] <= 1))


def test_bad_kernel_inputs_raise():
    rng = np.random.default_rng(18)
    x, k, r, b, h0, c0 = (Tensor(a) for a in _lstm_arrays(rng))
    with pytest.raises(ValueError, match="no activation named"):
        rnn_kernels.lstm_sequence(x, k, r, b, h0, c0, activation="softmax")
    with pytest.raises(ValueError, match="incompatible shapes"):
        rnn_kernels.lstm_sequence(x, r, r, b, h0, c0)
    with pytest.raises(ValueError, match="mask must have shape"):
        rnn_kernels.lstm_sequence(x, k, r, b, h0, c0, mask=np.ones((2, 3), bool))


@pytest.mark.parametrize("act", ["sigmoid", "softplus", "swish"])
def test_saturated_inputs_stay_finite_without_warnings(act):
    import warnings

    x = np.random.default_rng(19).standard_normal((2, 6, 3)).astype("float32") * 1e4
    kwargs = {"recurrent_activation": act} if act in ("sigmoid", "softplus") else {"activation": act}
    layer = LSTM(4, return_sequences=True, **kwargs)
    xt = Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        y = layer(xt)
        y.sum().backward()
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(xt.grad))


# ************************************************************ per-thread batch chunks


@pytest.fixture
def chunked(monkeypatch):
    """Force the kernels to split every batch into 3 row chunks (one thread each), and to run the gradient
    products after the backward recurrence on the threads side by side."""
    monkeypatch.setattr(rnn_kernels, "_MIN_ROWS_PER_THREAD", 1)
    monkeypatch.setattr(rnn_kernels, "_MIN_WORK_PER_CALL", 0)
    monkeypatch.setattr(rnn_kernels, "_MIN_PARALLEL_MACS", 0)
    rnn_kernels.set_kernel_threads(3)
    yield
    rnn_kernels.set_kernel_threads(None)


@pytest.mark.parametrize("option", ["return_state", "mask_go_backwards", "mask_zero_output_last", "initial_state",
                                    "dropout_impl1", "dropout_impl2", "dropout_mask"])
@pytest.mark.parametrize("layer_name", ["lstm", "lstm_hard", "gru", "gru_reset_after", "simple_rnn"])
def test_chunked_batches_match_composed(layer_name, option, chunked, float64):
    assert len(rnn_kernels._row_chunks(T, 7, 4 * U)) == 3
    cls, base = LAYERS[layer_name]
    kwargs, extra = OPTIONS[option]
    kwargs, x, opts = _prepare(cls, {**base, **kwargs}, extra, np.random.default_rng(1), (7, T, F, U))
    _compare(cls, kwargs, x, **opts)


def test_chunked_results_are_deterministic(chunked):
    rng = np.random.default_rng(8)
    arrays = [a.astype("float32") for a in _lstm_arrays(rng, n=9, t=6, f=5, u=4)]

    def run():
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        y, h, c = rnn_kernels.lstm_sequence(*tensors, return_sequences=True)
        (y * Tensor(np.linspace(-1, 1, y.size, dtype="float32").reshape(y.shape))).sum().backward()
        return [y.numpy()] + [t.grad for t in tensors]

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # bit-identical, run after run
    rnn_kernels.set_kernel_threads(1)
    for a, b in zip(first, run()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # and the same numbers as one chunk


@pytest.mark.parametrize("n", [1, 2])  # one sample: the activations run on its row (`_RowPlan`) where they fold
@pytest.mark.parametrize("recurrent_activation", ["hard_sigmoid", "sigmoid", "tanh"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("option", ["plain", "mask_go_backwards", "time_major", "go_backwards", "last_output"])
def test_small_inference_runs_unfolded_and_matches_the_folded_kernel(activation, recurrent_activation, option, n,
                                                                     float64):
    """Short inference calls on few samples skip the per-call weight folding; same numbers as the folded path."""
    rng = np.random.default_rng(21)
    t, f, u = 3, 2000, 4  # (F + u) * 4u = 32064 > T * (6000 + 9Nu) = 18216: unfolded; training always folds
    x = rng.standard_normal((n, t, f))
    k, r, b = rng.standard_normal((f, 4 * u)), rng.standard_normal((u, 4 * u)), rng.standard_normal(4 * u)
    h0, c0 = rng.standard_normal((n, u)), rng.standard_normal((n, u))
    opts = dict(return_sequences=True, activation=activation, recurrent_activation=recurrent_activation)
    if option == "mask_go_backwards":
        opts.update(mask=np.array([[1, 1, 0], [1, 0, 1]][:n], bool), go_backwards=True)
    if option == "time_major":
        x = x.transpose(1, 0, 2)
        opts.update(time_major=True)
    if option == "go_backwards":
        opts.update(go_backwards=True)
    if option == "last_output":
        opts.update(return_sequences=False)
    args = [Tensor(a) for a in (x, k, r, b, h0, c0)]
    with no_grad():
        small = rnn_kernels.lstm_sequence(*args, **opts)
    args[0] = Tensor(x, requires_grad=True)
    folded = rnn_kernels.lstm_sequence(*args, **opts)
    for a, c, what in zip(small, folded, ["output", "h", "c"]):
        np.testing.assert_allclose(a.numpy(), c.numpy(), atol=1e-12, rtol=1e-12, err_msg=what)


@pytest.mark.parametrize("acts", [("tanh", "sigmoid"), ("tanh", "hard_sigmoid"), ("sigmoid", "hard_sigmoid_keras3"),
                                  ("relu", "sigmoid")])
def test_one_sample_row_activations_are_bit_identical_to_the_per_gate_ones(acts, monkeypatch):
    """One sample's gates activated as one row (vector folds, `_RowPlan`) give the float32 bits of the per-gate
    activations they replace (where an activation has no fold, such as relu, the per-gate plan runs anyway)."""
    rng = np.random.default_rng(5)
    arrays = [a.astype("float32") for a in _lstm_arrays(rng, n=1, t=3, f=3000, u=6)]
    opts = dict(return_sequences=True, activation=acts[0], recurrent_activation=acts[1])
    real, plans = rnn_kernels._row_plan, []
    monkeypatch.setattr(rnn_kernels, "_row_plan", lambda *args: plans.append(real(*args)) or plans[-1])
    with no_grad():
        rows = [y.numpy() for y in rnn_kernels.lstm_sequence(*[Tensor(a) for a in arrays], **opts)]
        assert len(plans) == 1 and (plans[0] is None) == (acts[0] == "relu")  # the row path ran where it can
        monkeypatch.setattr(rnn_kernels, "_row_plan", lambda *args: None)
        gates = [y.numpy() for y in rnn_kernels.lstm_sequence(*[Tensor(a) for a in arrays], **opts)]
    for a, b in zip(rows, gates):
        np.testing.assert_array_equal(a, b)


def test_gradient_products_run_side_by_side_on_the_kernel_threads(chunked, monkeypatch):
    # the input, weight and bias gradients after the recurrence are independent jobs: whole products, shared out
    calls = []
    real = rnn_kernels.run_parallel
    monkeypatch.setattr(rnn_kernels, "run_parallel", lambda tasks: (calls.append(len(tasks)), real(tasks)))
    rng = np.random.default_rng(4)
    tensors = [Tensor(a, requires_grad=True) for a in _lstm_arrays(rng, n=6, t=3, f=5, u=4)]
    y, _, _ = rnn_kernels.lstm_sequence(*tensors, return_sequences=True)
    calls.clear()
    y.sum().backward()
    assert calls == [3, 3]  # the batch's row chunks, then dx, dk, dU and db on 3 threads
    grads = [t.grad.copy() for t in tensors]
    monkeypatch.setattr(rnn_kernels, "_MIN_PARALLEL_MACS", 1 << 62)
    for t in tensors:
        t.grad = None
    y, _, _ = rnn_kernels.lstm_sequence(*tensors, return_sequences=True)
    y.sum().backward()
    for a, t in zip(grads, tensors):
        np.testing.assert_array_equal(a, t.grad)  # each product whole on one thread: the same bits

