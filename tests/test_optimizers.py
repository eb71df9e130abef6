"""Optimizers: replay of real tf_keras 2.21 optimizer runs, state layout and names, configs, errors.

Fixtures: tests/fixtures/keras2/optimizers/ (made by tests/fixtures/keras2_optimizer_cases.py) and the training
cases of tests/fixtures/keras2/train_* (first step, from the recorded gradients).
"""
from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest

from helpers import FIXTURES, load_json
from minikeras import callbacks as callbacks_module
from minikeras import optimizers
from minikeras.autograd import Tensor, Variable
from minikeras.optimizers import legacy, schedules
from minikeras.optimizers import optimizer as optimizer_module
from minikeras.autograd import threads

OPT_DIR = FIXTURES / "keras2" / "optimizers"
CASES = load_json(OPT_DIR / "cases.json")
STEPS = CASES["steps"]


def _max_norm(w, max_value=1.0, axis=0):
    """keras.constraints.MaxNorm(1.0) on arrays (the fixture's constraint), as tf_keras computes it."""
    norms = np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))
    desired = np.clip(norms, 0, max_value)
    return w * (desired / (np.float32(1e-7) + norms))


CONSTRAINTS = {"max_norm": _max_norm, "non_neg": lambda w: w * (w >= 0).astype(w.dtype), None: None}


def _build(case):
    if case["from_config"] is not None:
        return optimizers.get(copy.deepcopy(case["from_config"]))
    module = legacy if case["module"].endswith("legacy") else optimizers
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("learning_rate"), dict):
        kwargs["learning_rate"] = schedules.deserialize(kwargs["learning_rate"])
    return getattr(module, case["class"])(**kwargs)


def _state(opt):
    variables = opt.variables() if callable(opt.variables) else opt.variables
    return list(variables)


def _replay(name):
    case = CASES["cases"][name]
    with np.load(OPT_DIR / f"{name}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = _build(case)
    variables = [Variable(arrays[f"init_{i}"], name=n, constraint=CONSTRAINTS[c])
                 for i, (n, c) in enumerate(zip(case["variable_names"], case["constraints"]))]
    return case, arrays, opt, variables


# Where minikeras deliberately differs from tf_keras 2.21 (each pinned by its own test below):
# - `lr=` is honoured, as Keras 2.0-2.10 did (tf_keras 2.21 ignores it);
# - Nadam inside `fit`/`train_on_batch` follows tf_keras's eager rule (the momentum cache moves once per step, as
#   in Keras 3), not what tf_keras's traced train function computes (once per variable and step).
DIFFERS_FROM_TF_KERAS = {"adam_lr_kwarg", "nadam_tf_function", "keras_fit_nadam", "keras_train_on_batch_nadam"}


@pytest.mark.parametrize("name", sorted(set(CASES["cases"]) - DIFFERS_FROM_TF_KERAS))
def test_replay_matches_tf_keras(name):
    """Every step's variable values (atol 1e-6), the learning rate, and the final state (names, order, values)."""
    case, arrays, opt, variables = _replay(name)
    for k in range(case.get("steps", STEPS)):
        opt.apply_gradients([(arrays[f"grad_{k}_{i}"], v) for i, v in enumerate(variables)])
        for i, v in enumerate(variables):
            np.testing.assert_allclose(v.data, arrays[f"after_{k}_{i}"], atol=1e-6, rtol=0,
                                       err_msg=f"{name}: variable {i} after step {k}")
        if "legacy" not in type(opt).__module__:
            np.testing.assert_allclose(float(opt.learning_rate.data), arrays[f"lr_{k}"], rtol=1e-7,
                                       err_msg=f"{name}: learning rate after step {k}")
    state = _state(opt)
    assert [v.name + ":0" for v in state] == case["optimizer_variables"]
    for j, v in enumerate(state):
        assert v.dtype == arrays[f"opt_{j}"].dtype, f"{name}: dtype of {v.name}"
        np.testing.assert_allclose(v.data, arrays[f"opt_{j}"], atol=1e-6, rtol=0, err_msg=f"{name}: {v.name}")
    assert opt.get_config() == case["config"]
    assert json.loads(json.dumps(opt.get_config())) == case["config"]


@pytest.mark.parametrize("name", sorted(CASES["cases"]))
def test_flat_update_in_parts_gives_the_same_bits(name, monkeypatch):
    """The flat update split into parts on several threads (forced here: 3 parts of any size), or on one thread
    into blocks (forced here: 5 elements each), is elementwise, so every variable and slot is bit-identical to the
    update of the whole buffer."""
    def run(parts, block=1 << 62):
        threads.set_kernel_threads(3 if parts else 1)
        monkeypatch.setattr(optimizer_module, "_MIN_PART", 1 if parts else 1 << 62)
        monkeypatch.setattr(optimizer_module, "_BLOCK", block)
        try:
            case, arrays, opt, variables = _replay(name)
            for k in range(case.get("steps", STEPS)):
                opt.apply_gradients([(arrays[f"grad_{k}_{i}"], v) for i, v in enumerate(variables)])
            return [v.data.copy() for v in variables] + [v.data.copy() for v in _state(opt)]
        finally:
            threads.set_kernel_threads(None)

    calls = []
    real = optimizer_module.run_parallel
    monkeypatch.setattr(optimizer_module, "run_parallel", lambda tasks: (calls.append(len(tasks)), real(tasks)))
    whole = run(parts=False)
    assert not calls
    split = run(parts=True)
    assert calls and set(calls) == {3}
    sizes = []
    monkeypatch.setattr(optimizer_module, "run_parallel", real)
    cls = type(_replay(name)[2])
    rule = "_update_flat" if hasattr(cls, "_update_flat") else "_apply_flat"
    original = getattr(cls, rule)
    monkeypatch.setattr(cls, rule, lambda self, *a: (sizes.append(a[1].size), original(self, *a))[1])
    blocks = run(parts=False, block=5)
    assert max(sizes) == 5 and min(sizes) <= 5  # block by block, the last one shorter or not
    for a, b, c in zip(whole, split, blocks):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("name", sorted(set(CASES["cases"]) - DIFFERS_FROM_TF_KERAS))
def test_config_round_trip_continues_identically(name):
    """from_config(get_config()) + set_weights(get_weights()) continues training exactly like the original."""
    case, arrays, opt, variables = _replay(name)
    for k in range(2):
        opt.apply_gradients([(arrays[f"grad_{k}_{i}"], v) for i, v in enumerate(variables)])
    config = json.loads(json.dumps(opt.get_config()))
    module = legacy if "legacy" in type(opt).__module__ else optimizers
    clone = getattr(module, type(opt).__name__).from_config(config)
    if case["kwargs"] and case["kwargs"].get("adaptive_epsilon"):
        clone.adaptive_epsilon = True  # tf_keras leaves adaptive_epsilon out of the config
    clone_vars = [Variable(v.data, name=v.name, constraint=v.constraint) for v in variables]
    clone.build(clone_vars)
    clone.set_weights(opt.get_weights())
    if hasattr(opt, "_u_product"):
        clone._u_product, clone._u_product_counter = opt._u_product, opt._u_product_counter
    for k in range(2, STEPS):
        opt.apply_gradients([(arrays[f"grad_{k}_{i}"], v) for i, v in enumerate(variables)])
        clone.apply_gradients([(arrays[f"grad_{k}_{i}"], v) for i, v in enumerate(clone_vars)])
    for v, c in zip(variables, clone_vars):
        np.testing.assert_array_equal(v.data, c.data)


# ------------------------------------------------------------------ the shared training fixtures (first step)

TRAIN_CASES = sorted(p.name for p in (FIXTURES / "keras2").glob("train_*")
                     if (p / "io.npz").exists() and p.name != "train_nadam")  # Nadam: see DIFFERS_FROM_TF_KERAS


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_first_training_step_of_keras_models(case):
    """The first `train_on_batch` update of the shared LSTM training cases, from the recorded gradients."""
    from minikeras import constraints

    folder = FIXTURES / "keras2" / case
    meta = load_json(folder / "meta.json")
    layer_configs = {layer["config"]["name"]: layer["config"]
                     for layer in load_json(folder / "config.json")["config"]["layers"]}
    with np.load(folder / "io.npz") as z:
        arrays = {k: z[k] for k in z.files}
    opt = optimizers.deserialize({"class_name": meta["optimizer"]["class"], "config": meta["optimizer"]["config"]})
    assert opt.get_config() == meta["optimizer"]["config"]

    def constraint(weight_name):  # "lstm/lstm_cell/recurrent_kernel:0" -> the LSTM's recurrent_constraint
        kind = weight_name[:-2].split("/")[-1]
        key = {"recurrent_kernel": "recurrent_constraint"}.get(kind, f"{kind}_constraint")
        return constraints.get(layer_configs[weight_name.split("/")[0]].get(key))

    variables = [Variable(arrays[f"w_before_{i}"], name=n[:-2], constraint=constraint(n))
                 for i, n in enumerate(meta["weight_names"]) if f"grad_{i}" in arrays]
    opt.apply_gradients([(arrays[f"grad_{i}"], v) for i, v in enumerate(variables)])
    for i, v in enumerate(variables):
        np.testing.assert_allclose(v.data, arrays[f"w_step1_{i}"], atol=1e-6, rtol=0, err_msg=f"{case}: weight {i}")
    assert [w.name + ":0" for w in opt.variables] == meta["optimizer_variables"]


# ------------------------------------------------------------------ get / serialize / deserialize


@pytest.mark.parametrize("name, cls", [("adam", optimizers.Adam), ("Adam", optimizers.Adam),
                                       ("ADAM", optimizers.Adam), ("sgd", optimizers.SGD),
                                       ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop),
                                       ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                                       ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam),
                                       ("adamw", optimizers.AdamW)])
def test_get_by_name_gives_the_new_optimizers(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls
    assert opt.get_config()["is_legacy_optimizer"] is False


def test_get_returns_instances_and_instantiates_classes():
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    assert type(optimizers.get(optimizers.Adam)) is optimizers.Adam
    old = legacy.Adam()
    assert optimizers.get(old) is old


@pytest.mark.parametrize("bad", [3, None, 2.5, ["adam"]])
def test_get_rejects_non_identifiers(bad):
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(bad)


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="Unknown optimizer: 'foo'"):
        optimizers.get("foo")


def test_serialize_is_tf_keras_four_key_dict():
    out = optimizers.serialize(optimizers.Adam())
    assert out == {"module": "keras.optimizers", "class_name": "Adam", "config": optimizers.Adam().get_config(),
                   "registered_name": None}
    assert optimizers.serialize(legacy.Adam())["module"] == "keras.optimizers.legacy"
    assert type(optimizers.deserialize(out)) is optimizers.Adam
    assert optimizers.serialize(None) is None


def test_keras2_file_configs_build_legacy_optimizers():
    """tf_keras: a non-empty config without is_legacy_optimizer builds the legacy class (which honours lr, decay)."""
    opt = optimizers.deserialize({"class_name": "Adam", "config": {"lr": 0.02, "decay": 0.1, "beta_1": 0.8}})
    assert type(opt) is legacy.Adam
    assert opt.get_config() == {"name": "Adam", "learning_rate": 0.02, "decay": 0.1, "beta_1": 0.8, "beta_2": 0.999,
                                "epsilon": 1e-07, "amsgrad": False}
    new = optimizers.deserialize({"class_name": "Adam", "config": {"learning_rate": 0.02,
                                                                   "is_legacy_optimizer": False}})
    assert type(new) is optimizers.Adam
    # tf_keras writes "Custom>Adam" into h5 training configs
    assert type(optimizers.deserialize({"class_name": "Custom>Adam", "config": new.get_config()})) is optimizers.Adam
    assert type(optimizers.get({"class_name": "SGD", "config": {}})) is optimizers.SGD


def test_schedule_in_config_round_trips():
    opt = optimizers.Adam(schedules.ExponentialDecay(0.1, 10, 0.5))
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    assert config["config"]["learning_rate"]["class_name"] == "ExponentialDecay"
    again = optimizers.deserialize(config)
    assert isinstance(again._learning_rate, schedules.ExponentialDecay)
    assert again.get_config() == opt.get_config()


# ------------------------------------------------------------------ arguments


def test_lr_keyword_is_honoured_with_a_deprecation_warning():
    """Keras 2.0-2.10 trained with `lr=`; tf_keras 2.21 ignores it (its fixture `adam_lr_kwarg` trained at 0.001),
    minikeras uses it: `Adam(lr=0.5)` is `Adam(learning_rate=0.5)`, and `lr` wins over `learning_rate`."""
    case, arrays, _, variables = _replay("adam_lr_kwarg")
    with pytest.warns(DeprecationWarning, match="`lr` argument is deprecated"):
        opt = optimizers.Adam(lr=0.5)
    assert float(opt.learning_rate.data) == 0.5
    with pytest.warns(DeprecationWarning):
        assert float(optimizers.SGD(learning_rate=0.1, lr=0.2).lr.data) == pytest.approx(0.2)
    same = optimizers.Adam(learning_rate=0.5)
    twins = [Variable(v.data, name=v.name) for v in variables]
    grads = [arrays[f"grad_0_{i}"] for i in range(len(variables))]
    opt.apply_gradients(zip(grads, variables))
    same.apply_gradients(zip(grads, twins))
    for v, w, i in zip(variables, twins, range(len(variables))):
        np.testing.assert_array_equal(v.data, w.data)
        # tf_keras 2.21's step used 0.001, so ours (0.5) lands far from it
        assert np.abs(v.data - arrays[f"after_0_{i}"]).max() > 0.1
    assert opt.get_config() == same.get_config()


def test_legacy_optimizer_honours_lr():
    with pytest.warns(UserWarning, match="`lr` argument is deprecated"):
        opt = legacy.SGD(lr=0.3)
    assert float(opt.lr.data) == pytest.approx(0.3)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop, optimizers.Nadam,
                                 optimizers.Adagrad, optimizers.Adadelta, optimizers.Adamax])
def test_decay_is_keras2_inverse_time_decay(cls):
    """Keras 2.x (keras-team/keras keras/optimizers.py, Keras 2.2/2.3, every `get_updates`):
    `lr = lr * (1. / (1. + decay * K.cast(iterations, K.dtype(decay))))`, float32, before the step's increment.
    An optimizer with `decay` takes, at each step, the same step as one without it at that learning rate."""
    lr, decay = 0.1, 0.25
    with pytest.warns(DeprecationWarning, match="`decay` argument is deprecated"):
        opt = cls(learning_rate=lr, decay=decay)
    reference = cls(learning_rate=lr)
    rng = np.random.default_rng(0)
    v = Variable(rng.standard_normal((3, 2)).astype("float32"), name="v")
    w = Variable(v.data, name="w")
    f = np.float32
    for it in range(4):
        g = rng.standard_normal((3, 2)).astype("float32")
        reference.learning_rate = f(lr) * (f(1.0) / (f(1.0) + f(decay) * f(it)))
        opt.apply_gradients([(g, v)])
        reference.apply_gradients([(g, w)])
        np.testing.assert_array_equal(v.data, w.data, err_msg=f"step {it}")
    assert float(opt.lr.data) == pytest.approx(lr)  # `lr` stays the base rate, as in Keras 2
    # written as the schedule it is (tf_keras 2.11+ and Keras 3 refuse a `decay` key, and read this)
    config = opt.get_config()
    assert "decay" not in config and "decay" not in reference.get_config()
    assert config["learning_rate"] == {"module": "keras.optimizers.schedules", "class_name": "InverseTimeDecay",
                                       "config": {"initial_learning_rate": float(f(lr)), "decay_steps": 1,
                                                  "decay_rate": decay, "staircase": False, "name": None},
                                       "registered_name": None}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reloaded = cls.from_config(config)
    assert reloaded.get_config() == config
    # a fresh pair, one rebuilt from the other's config, takes the same steps up to float32's last bit
    with pytest.warns(DeprecationWarning):
        first = cls(learning_rate=lr, decay=decay)
    second = cls.from_config(first.get_config())
    a, b = Variable(v.data.copy(), name="a"), Variable(v.data.copy(), name="b")
    for it in range(4):
        g = rng.standard_normal((3, 2)).astype("float32")
        first.apply_gradients([(g, a)])
        second.apply_gradients([(g, b)])
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


def test_decay_on_a_schedule_stays_a_decay_key():
    """Keras 2 applied `decay` on top of a schedule's rate; no standard schedule says that, so the key stays (only
    minikeras reads it back)."""
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    with pytest.warns(DeprecationWarning):
        opt = optimizers.Adam(learning_rate=schedule, decay=0.25)
    config = opt.get_config()
    assert config["decay"] == 0.25 and config["learning_rate"]["class_name"] == "ExponentialDecay"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert optimizers.Adam.from_config(config).get_config() == config


def test_decay_argument_validation():
    for bad in (-0.1, "0.1", None):
        with pytest.raises(ValueError, match="`decay` must be a number >= 0"):
            optimizers.Adam(decay=bad)


def test_set_value_on_lr_changes_the_next_step():
    """`K.set_value(model.optimizer.lr, x)` (the backend calls `lr.assign(x)`): the next step uses it."""
    from minikeras import backend as K

    v = Variable(np.ones(2, "float32"), name="v")
    for opt in (optimizers.SGD(0.1), legacy.SGD(0.1)):
        v.assign([1.0, 1.0])
        opt.apply_gradients([(np.ones(2, "float32"), v)])
        np.testing.assert_allclose(v.data, 0.9)
        K.set_value(opt.lr, 0.5)
        assert K.get_value(opt.lr) == np.float32(0.5) and K.get_value(opt.learning_rate) == np.float32(0.5)
        opt.apply_gradients([(np.ones(2, "float32"), v)])
        np.testing.assert_allclose(v.data, 0.4, rtol=1e-6)


def test_set_value_on_a_compiled_model_changes_training():
    from minikeras import backend as K
    from minikeras.layers import Dense
    from minikeras.models import Sequential

    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    models = []
    for lr in (0.1, 0.02):
        model = Sequential([Dense(1, kernel_initializer="ones", input_shape=(3,))])
        with pytest.warns(DeprecationWarning):
            model.compile(optimizer=optimizers.SGD(lr=0.1), loss="mse")
        model.train_on_batch(x, y)
        K.set_value(model.optimizer.lr, lr)
        model.train_on_batch(x, y)
        models.append(model)
    reference = Sequential([Dense(1, kernel_initializer="ones", input_shape=(3,))])
    reference.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    reference.train_on_batch(x, y)
    reference.optimizer.learning_rate.assign(0.02)
    reference.train_on_batch(x, y)
    np.testing.assert_array_equal(models[1].get_weights()[0], reference.get_weights()[0])
    assert not np.array_equal(models[0].get_weights()[0], models[1].get_weights()[0])
    with pytest.warns(DeprecationWarning):
        decayed = optimizers.Adam(decay=0.5)
    assert K.get_value(decayed.decay) == np.float32(0.5)


@pytest.mark.parametrize("kwarg", ["foo", "momentum_decay", "beta1"])
def test_unknown_kwargs_raise_type_error(kwarg):
    with pytest.raises(TypeError, match=f"{kwarg} is not a valid argument"):
        optimizers.Adam(**{kwarg: 1})
    with pytest.raises(TypeError, match=f"Unexpected keyword argument passed to optimizer: {kwarg}"):
        legacy.Adam(**{kwarg: 1})


def test_argument_validation():
    with pytest.raises(ValueError, match="At most one of `clipnorm` and `global_clipnorm`"):
        optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="`momentum` must be between"):
            optimizers.SGD(momentum=bad)
    with pytest.raises(ValueError, match="`ema_momentum` must be in the range"):
        optimizers.Adam(use_ema=True, ema_momentum=2.0)
    with pytest.raises(ValueError, match="Missing value of `weight_decay`"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="decay cannot be less than 0|Expected decay >= 0"):
        legacy.SGD(decay=-1.0)
    with pytest.raises(ValueError, match="boundaries should be 1 less"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])


def test_jit_compile_is_stored_false():
    assert optimizers.Adam(jit_compile=True).get_config()["jit_compile"] is False


# ------------------------------------------------------------------ learning rate


def test_learning_rate_is_a_settable_variable_with_lr_alias():
    opt = optimizers.Adam(0.1)
    assert isinstance(opt.learning_rate, Variable)
    assert opt.lr is opt.learning_rate
    opt.learning_rate = 0.5
    assert opt.get_config()["learning_rate"] == 0.5
    opt.lr = 0.25
    assert float(opt.learning_rate.data) == 0.25
    opt.learning_rate.assign(0.125)  # what the callbacks do
    assert opt.get_config()["learning_rate"] == 0.125


def test_schedule_learning_rate_is_not_settable():
    opt = optimizers.SGD(schedules.InverseTimeDecay(0.1, 1, 1.0))
    assert float(opt.learning_rate.data) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5


@pytest.mark.parametrize("schedule, expected", [
    (schedules.ExponentialDecay(0.1, 4, 0.5), lambda s: 0.1 * 0.5 ** (s / 4)),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 4)),
    (schedules.InverseTimeDecay(0.1, 2, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 2)),
    (schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 2 else 0.5 if s <= 5 else 0.1),
    (schedules.PolynomialDecay(0.1, 4, 0.01, power=2), lambda s: (0.1 - 0.01) * (1 - min(s, 4) / 4) ** 2 + 0.01),
    (schedules.CosineDecay(0.1, 4, alpha=0.2),
     lambda s: 0.1 * (0.8 * 0.5 * (1 + np.cos(np.pi * min(s, 4) / 4)) + 0.2)),
    (schedules.CosineDecayRestarts(0.1, 2, t_mul=1.0),
     lambda s: 0.1 * 0.5 * (1 + np.cos(np.pi * ((s / 2) % 1)))),
])
def test_schedules_follow_their_formulas(schedule, expected):
    for step in range(9):
        assert float(schedule(step)) == pytest.approx(expected(step), rel=1e-6, abs=1e-7)
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["module"] == "keras.optimizers.schedules"
    assert schedules.deserialize(config).get_config() == schedule.get_config()


# ------------------------------------------------------------------ state


def _two_vars():
    return [Variable(np.ones((3, 2), "float32"), name="dense/kernel"),
            Variable(np.zeros((2,), "float32"), name="dense/bias")]


def test_state_order_and_names():
    """iteration first; Adam interleaves m, v per variable; RMSprop groups by slot kind; build() has no prefix."""
    vs = _two_vars()
    adam = optimizers.Adam()
    adam.apply_gradients([(np.ones(v.shape, "float32"), v) for v in vs])
    assert [v.name for v in adam.variables] == ["iteration", "Adam/m/dense/kernel", "Adam/v/dense/kernel",
                                                 "Adam/m/dense/bias", "Adam/v/dense/bias"]
    assert adam.variables() == adam.variables  # callable, as tf_keras's CallableList
    assert adam.iterations.dtype == np.int64 and int(adam.iterations.data) == 1
    rms = optimizers.RMSprop(momentum=0.5, centered=True)
    rms.build(vs)
    assert [v.name for v in rms.variables] == ["iteration", "velocity/dense/kernel", "velocity/dense/bias",
                                                "momentum/dense/kernel", "momentum/dense/bias",
                                                "average_gradient/dense/kernel", "average_gradient/dense/bias"]
    ada = optimizers.Adagrad(initial_accumulator_value=0.5)
    ada.build(vs)
    np.testing.assert_array_equal(ada.variables[1].data, np.full((3, 2), 0.5, "float32"))


def test_set_weights_errors():
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="has not yet been built"):
        opt.set_weights([np.array(0)])
    vs = _two_vars()
    opt.build(vs)
    with pytest.raises(ValueError, match="has 5 variables"):
        opt.set_weights(opt.get_weights()[:3])
    bad = opt.get_weights()
    bad[1] = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match="not compatible with provided weight shape"):
        opt.set_weights(bad)


def test_legacy_set_weights_accepts_keras2_layouts():
    vs = _two_vars()
    adam = legacy.Adam()
    adam.build(vs)
    weights = adam.get_weights()
    adam.set_weights(weights + [np.zeros((1,), "float32")] * 2)  # Keras 2.2 placeholder vhats
    ada = legacy.Adagrad()
    ada.build(vs)
    ada.set_weights([np.full(v.shape, 3.0, "float32") for v in vs])  # files without the iteration counter
    assert ada.get_weights()[1][0, 0] == 3.0
    assert [v.name for v in legacy.Nadam().variables()] == []


def test_iterations_cannot_be_replaced_after_build():
    opt = optimizers.SGD()
    opt.iterations = 7
    assert int(opt.iterations.data) == 7 and opt.variables[0] is opt.iterations
    opt.build(_two_vars())
    with pytest.raises(RuntimeError, match="Cannot set `iterations`"):
        opt.iterations = 3


def test_unknown_variable_after_build():
    opt = optimizers.Adam()
    opt.build(_two_vars())
    other = Variable(np.zeros(2, "float32"), name="other")
    with pytest.raises(KeyError, match="cannot recognize variable other"):
        opt.apply_gradients([(np.zeros(2, "float32"), other)])


def test_none_gradients_are_skipped_with_a_warning():
    vs = _two_vars()
    opt = optimizers.SGD(0.5)
    with pytest.warns(UserWarning, match="Gradients do not exist for variables"):
        opt.apply_gradients([(np.ones((3, 2), "float32"), vs[0]), (None, vs[1])])
    assert vs[0].data[0, 0] == 0.5 and vs[1].data[0] == 0
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply_gradients([(None, vs[0]), (None, vs[1])])
    assert opt.apply_gradients([]) is opt.iterations


def test_gradient_shape_and_type_errors():
    vs = _two_vars()
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="does not match variable"):
        opt.apply_gradients([(np.ones((2, 3), "float32"), vs[0])])
    with pytest.raises(TypeError, match="Expected a minikeras Variable"):
        opt.apply_gradients([(np.ones(2, "float32"), np.zeros(2, "float32"))])


def test_step_uses_grad_and_minimize_computes_it():
    w = Variable(np.array([1.0, -2.0], "float32"), name="w")
    opt = optimizers.SGD(0.1)
    (w * w).sum().backward()
    opt.step([w])
    np.testing.assert_allclose(w.data, [0.8, -1.6])
    opt.minimize(lambda: (w * w).sum(), [w])
    np.testing.assert_allclose(w.data, [0.64, -1.28], rtol=1e-6)


def test_gradients_may_be_tensors_and_are_cast():
    v = Variable(np.zeros(2, "float32"), name="v")
    optimizers.SGD(1.0).apply_gradients([(Tensor(np.array([1.0, 2.0])), v)])
    assert v.dtype == np.float32
    np.testing.assert_array_equal(v.data, [-1.0, -2.0])


def test_clipnorm_of_zero_gradient_is_zero():
    v = Variable(np.ones(2, "float32"), name="v")
    for opt in (optimizers.SGD(clipnorm=1.0), optimizers.SGD(global_clipnorm=1.0)):
        opt.apply_gradients([(np.zeros(2, "float32"), v)])
        np.testing.assert_array_equal(v.data, [1.0, 1.0])


def test_weight_decay_exclusion():
    vs = _two_vars()
    opt = optimizers.SGD(0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    vs[1].data[...] = 1.0
    opt.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in vs])
    np.testing.assert_allclose(vs[0].data, 0.95)
    np.testing.assert_allclose(vs[1].data, 1.0)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_ema_finalize_copies_the_averages():
    v = Variable(np.zeros(2, "float32"), name="v")
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    opt.apply_gradients([(-np.ones(2, "float32"), v)])
    np.testing.assert_allclose(v.data, 1.0)
    opt.finalize_variable_values([v])
    np.testing.assert_allclose(v.data, 0.5)


def _several_variables(rng):
    """Variables of different sizes (a scalar and an empty one included), one dtype."""
    shapes = [(3, 4), (7,), (2, 2, 2), (), (0, 3), (5, 1)]
    return [Variable(rng.standard_normal(s).astype("float32"), name=f"v{i}") for i, s in enumerate(shapes)]


def test_variables_become_views_of_one_flat_buffer_and_stay_so():
    rng = np.random.default_rng(0)
    vs = _several_variables(rng)
    opt = optimizers.Adam()
    opt.build(vs)
    (buffer, pairs), = opt._flat_weight_buffers()
    assert buffer.size == sum(v.data.size for v in vs)
    assert all(v.data is view and (v.data.size == 0 or np.shares_memory(v.data, buffer)) for v, view in pairs)
    slots = opt.variables[1:]
    assert len({id(np.asarray(s.data).base) for s in slots}) == 2  # one buffer for all m, one for all v
    vs[0].assign(np.ones((3, 4)))  # assign, set_weights and loading write in place
    assert np.shares_memory(vs[0].data, buffer) and buffer[0] == 1.0
    vs[1].data = np.full(7, 2.0, "float32")  # rebinding detaches ...
    assert not np.shares_memory(vs[1].data, buffer)
    opt.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in vs])
    assert np.shares_memory(vs[1].data, buffer)  # ... and the next step moves it back, with its new value
    np.testing.assert_array_equal(vs[1].data, 2.0)


def test_model_weights_stay_in_the_flat_buffer_through_set_weights_and_loading(tmp_path):
    """`set_weights`, `load_weights` and `load_model`'s weight loading write in place: after each, the layer
    variables are still the optimizer's views, and training continues as from a fresh model given those weights."""
    from minikeras.layers import LSTM, Dense
    from minikeras.models import Sequential

    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((4, 3, 2)).astype("float32"), rng.standard_normal((4, 1)).astype("float32")

    def make():
        model = Sequential([LSTM(3, input_shape=(3, 2), recurrent_activation="sigmoid"), Dense(1)])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        return model

    model = make()
    model.train_on_batch(x, y)

    def bound():
        (buffer, pairs), = model.optimizer._flat_weight_buffers()
        return all(v.data is view and np.shares_memory(v.data, buffer) for v, view in pairs)

    assert bound()
    other = [rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(other)
    assert bound()
    reference = make()
    reference.set_weights(other)
    model.save_weights(tmp_path / "w.h5")
    model.set_weights([np.zeros_like(w) for w in other])
    model.load_weights(tmp_path / "w.h5")
    assert bound()
    model.train_on_batch(x, y)
    reference.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"global_clipnorm": 0.7}, {"clipvalue": 0.3}])
def test_clipping_and_constraints_per_variable_on_the_flat_buffer(clip):
    """tf_keras's rules per variable (tf.clip_by_norm of each gradient, tf.clip_by_global_norm, clip by value, each
    variable's own constraint), against a plain per-variable numpy reference, several steps."""
    rng = np.random.default_rng(1)
    vs = _several_variables(rng)
    vs[0].constraint = _max_norm
    vs[2].constraint = CONSTRAINTS["non_neg"]
    ref = [v.data.astype(np.float64) for v in vs]
    opt = optimizers.SGD(0.1, **clip)
    for step in range(3):
        grads = [(rng.standard_normal(v.shape) * 3).astype("float32") for v in vs]
        g64 = [g.astype(np.float64) for g in grads]
        if "clipnorm" in clip:
            g64 = [g * 0.5 / max(np.sqrt((g * g).sum()), 0.5) for g in g64]
        elif "global_clipnorm" in clip:
            norm = np.sqrt(sum((g * g).sum() for g in g64))
            g64 = [g * 0.7 / max(norm, 0.7) for g in g64]
        else:
            g64 = [np.clip(g, -0.3, 0.3) for g in g64]
        ref = [r - 0.1 * g for r, g in zip(ref, g64)]
        ref = [np.asarray(v.constraint(r.astype("float32")), np.float64) if v.constraint else r
               for v, r in zip(vs, ref)]
        opt.apply_gradients(zip(grads, vs))
        for v, r in zip(vs, ref):
            np.testing.assert_allclose(v.data, r, atol=2e-6, rtol=1e-5, err_msg=f"{v.name}, step {step}")
    assert (vs[2].data >= 0).all()
    assert np.sqrt((vs[0].data ** 2).sum(axis=0)).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop, optimizers.Adagrad,
                                 optimizers.Adadelta, optimizers.Adamax, optimizers.Nadam, optimizers.AdamW,
                                 legacy.SGD, legacy.Adam, legacy.RMSprop, legacy.Adagrad, legacy.Adadelta,
                                 legacy.Adamax, legacy.Nadam])
def test_flat_update_equals_the_per_variable_update(cls):
    """The whole-buffer step and the variable-by-variable step (taken when some gradient is missing) agree
    bit for bit: one update rule, written once, on arrays of any size."""
    rng = np.random.default_rng(2)
    kwargs = {"momentum": 0.9, "nesterov": True} if cls in (optimizers.SGD, legacy.SGD) else {}
    if cls in (optimizers.RMSprop, legacy.RMSprop):
        kwargs = {"momentum": 0.5, "centered": True}
    if cls is legacy.Adam:
        kwargs = {"amsgrad": True}
    flat_vars, single_vars = _several_variables(rng), None
    single_vars = [Variable(v.data, name=v.name) for v in flat_vars]
    extra = Variable(np.zeros(2, "float32"), name="extra")  # never has a gradient: forces the per-variable path
    flat_opt, single_opt = cls(**kwargs), cls(**kwargs)
    flat_opt.build(flat_vars)
    single_opt.build(single_vars + [extra])
    for _ in range(3):
        grads = [rng.standard_normal(v.shape).astype("float32") for v in flat_vars]
        flat_opt.apply_gradients(zip(grads, flat_vars))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single_opt.apply_gradients(list(zip(grads, single_vars)) + [(None, extra)])
    for a, b in zip(flat_vars, single_vars):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("make", [lambda: optimizers.Adam(use_ema=True), lambda: legacy.RMSprop(momentum=0.5)])
def test_a_copied_optimizer_keeps_its_own_flat_buffers(make):
    """copy.deepcopy / pickle copy each view as a separate array: the copy re-links its variables into its own
    buffers, trains exactly like the original, and never touches the original's arrays."""
    import pickle

    rng = np.random.default_rng(6)
    vs = _several_variables(rng)
    opt = make()
    opt.apply_gradients([(np.ones(v.shape, "float32"), v) for v in vs])
    holder = {"vars": vs, "opt": opt}
    for duplicate in (copy.deepcopy, lambda h: pickle.loads(pickle.dumps(h))):
        twin = duplicate(holder)
        before = [v.data.copy() for v in vs] + opt.get_weights()
        grads = [rng.standard_normal(v.shape).astype("float32") for v in vs]
        twin["opt"].apply_gradients(zip(grads, twin["vars"]))
        for a, b in zip(before, [v.data for v in vs] + opt.get_weights()):
            np.testing.assert_array_equal(a, b)  # the original is untouched
        opt.apply_gradients(zip(grads, vs))
        for a, b in zip([v.data for v in vs] + opt.get_weights(),
                        [v.data for v in twin["vars"]] + twin["opt"].get_weights()):
            np.testing.assert_array_equal(a, b)
        state = twin["opt"].get_state()
        twin["opt"].apply_gradients(zip(grads, twin["vars"]))
        twin["opt"].set_state(state)
        np.testing.assert_array_equal(twin["opt"].get_weights()[-1], opt.get_weights()[-1])


def test_one_flat_buffer_per_dtype():
    rng = np.random.default_rng(7)
    vs = [Variable(rng.standard_normal(s).astype(d), name=f"v{i}")
          for i, (s, d) in enumerate([((3, 2), "float32"), ((4,), "float64"), ((2,), "float32"), ((), "float64")])]
    twins = [Variable(v.data, name=v.name) for v in vs]
    opt, ref = optimizers.Adam(0.1, clipnorm=0.5), optimizers.Adam(0.1, clipnorm=0.5)
    opt.build(vs)
    ref.build(twins + [Variable(np.zeros(1, "float32"), name="never")])
    assert sorted(str(b.dtype) for b, _ in opt._flat_weight_buffers()) == ["float32", "float64"]
    for _ in range(3):
        grads = [rng.standard_normal(v.shape).astype(v.dtype) for v in vs]
        opt.apply_gradients(zip(grads, vs))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref.apply_gradients(list(zip(grads, twins)) + [(None, ref._built_variables[-1])])
    for a, b in zip(vs, twins):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.data, b.data)


def _checkpoint(model):
    """Everything a training batch can change, copied."""
    rnn = [layer for layer in model.layers if getattr(layer, "stateful", False) and hasattr(layer, "states")]
    rnn += [inner for layer in model.layers for inner in (getattr(layer, "forward_layer", None),
                                                          getattr(layer, "backward_layer", None)) if inner is not None]
    return {"weights": [w.copy() for w in model.get_weights()],
            "optimizer": [w.copy() for w in model.optimizer.get_weights()],
            "optimizer_variables": [v.name for v in _state(model.optimizer)],
            "states": [s.data.copy() for layer in rnn for s in layer.states if s is not None]}


def _assert_identical(a, b):
    assert a["optimizer_variables"] == b["optimizer_variables"]
    for key in ("weights", "optimizer", "states"):
        assert len(a[key]) == len(b[key]), key
        for x, y in zip(a[key], b[key]):
            np.testing.assert_array_equal(x, y, err_msg=key)


def _stateful_model(optimizer, bidirectional=False):
    from minikeras.layers import LSTM, Bidirectional, Dense
    from minikeras.models import Sequential

    if bidirectional:
        model = Sequential([Bidirectional(LSTM(4, stateful=True), batch_input_shape=(2, 3, 2)), Dense(1)])
    else:
        model = Sequential([LSTM(4, stateful=True, batch_input_shape=(2, 3, 2)), Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


class _FailAfterUpdate:
    """Makes the next `apply_gradients` update everything, then raise (as a failure late in a step would)."""

    def __init__(self, optimizer):
        self.optimizer, self.original = optimizer, optimizer.apply_gradients

    def __call__(self, *args, **kwargs):
        self.original(*args, **kwargs)
        raise RuntimeError("injected failure after the update")


@pytest.mark.parametrize("optimizer, bidirectional", [
    ("adam", False), ("nadam", False), ("rmsprop", True),
    (lambda: optimizers.SGD(0.1, momentum=0.9, clipnorm=1.0, use_ema=True), False),
    (lambda: legacy.Nadam(), True), (lambda: legacy.RMSprop(momentum=0.5, centered=True), False)])
def test_failed_batch_rolls_back_weights_slots_iterations_and_rnn_states(optimizer, bidirectional):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 3, 2)).astype("float32"), rng.standard_normal((2, 1)).astype("float32")
    model = _stateful_model(optimizer() if callable(optimizer) else optimizer, bidirectional)
    model.train_on_batch(x, y)  # built, one step taken, states non-zero
    model.train_on_batch(x, y)
    captured = model._capture_state()  # the weights: one copy of the one flat buffer, none weight by weight
    assert len(captured.flats) == 1 and captured.weights == []
    assert len(captured.optimizer.flats) == len(model.optimizer._layouts[0].slots)
    before = _checkpoint(model)
    u_product = getattr(model.optimizer, "_u_product", None)
    model.optimizer.apply_gradients = _FailAfterUpdate(model.optimizer)
    with pytest.raises(RuntimeError, match="injected failure"):
        model.train_on_batch(x, y)
    del model.optimizer.apply_gradients
    _assert_identical(_checkpoint(model), before)
    assert len(before["states"]) == (4 if bidirectional else 2)
    assert getattr(model.optimizer, "_u_product", None) == u_product
    # the same through fit, failing in a callback after the update of the second batch
    xs, ys = np.concatenate([x, x]), np.concatenate([y, y])
    seen = {}

    class Fail(callbacks_module.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                seen["start"] = _checkpoint(self.model)

        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise RuntimeError("callback failure")

    with pytest.raises(RuntimeError, match="callback failure"):
        model.fit(xs, ys, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[Fail()])
    _assert_identical(_checkpoint(model), seen["start"])
    model.train_on_batch(x, y)  # training goes on from there
    assert int(model.optimizer.iterations.data) == 4


@pytest.mark.parametrize("make", [optimizers.Adam, legacy.Adam])
def test_failed_first_batch_leaves_the_optimizer_unbuilt(make):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2, 3, 2)).astype("float32"), rng.standard_normal((2, 1)).astype("float32")
    model = _stateful_model(make())
    model.predict(x, verbose=0)
    model.reset_states()
    weights = [w.copy() for w in model.get_weights()]
    model.optimizer.apply_gradients = _FailAfterUpdate(model.optimizer)
    with pytest.raises(RuntimeError, match="injected failure"):
        model.train_on_batch(x, y)
    del model.optimizer.apply_gradients
    assert len(_state(model.optimizer)) == (1 if make is optimizers.Adam else 0)
    assert int(model.optimizer.iterations.data) == 0
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert all(not s.data.any() for s in model.layers[0].states)
    model.train_on_batch(x, y)
    names = [v.name for v in _state(model.optimizer)]
    assert len(names) == 1 + 2 * len(model.trainable_weights) and names[0].endswith("iter" + "ation" * (
        make is optimizers.Adam)) and "/m" in names[1]


def test_get_state_set_state_is_exact():
    rng = np.random.default_rng(5)
    vs = _several_variables(rng)
    grads = [[rng.standard_normal(v.shape).astype("float32") for v in vs] for _ in range(6)]
    with pytest.warns(DeprecationWarning):
        decayed = optimizers.SGD(0.1, momentum=0.5, decay=0.1)
    for opt in (optimizers.Nadam(clipnorm=1.0), optimizers.Adam(schedules.ExponentialDecay(0.1, 2, 0.5)), decayed,
                legacy.Nadam(clipvalue=0.5), legacy.Adam(amsgrad=True, decay=0.1, global_clipnorm=1.0)):
        for k in range(2):
            opt.apply_gradients(zip(grads[k], vs))
        state, weights = opt.get_state(), [v.data.copy() for v in vs]
        for k in range(2, 6):
            opt.apply_gradients(zip(grads[k], vs))
        first = [v.data.copy() for v in vs] + opt.get_weights()
        opt.set_state(state)
        for v, w in zip(vs, weights):
            v.assign(w)
        assert int(opt.iterations.data) == 2
        for k in range(2, 6):
            opt.apply_gradients(zip(grads[k], vs))
        for a, b in zip(first, [v.data.copy() for v in vs] + opt.get_weights()):
            np.testing.assert_array_equal(a, b)
        with pytest.raises(ValueError, match="cannot take a state captured from other variables"):
            type(opt)().set_state(state)


def test_save_and_load_own_variables():
    vs = _two_vars()
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(v.shape, "float32"), v) for v in vs])
    store = {}
    opt.save_own_variables(store)
    assert sorted(store) == ["0", "1", "2", "3", "4"]
    other = optimizers.Adam()
    other.build(vs)
    other.load_own_variables(store)
    for a, b in zip(opt.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        optimizers.Adam().load_own_variables(store)


def test_a_weight_passed_as_its_own_gradient_is_read_before_the_step(monkeypatch):
    """Gradients are read where they lie, block by block (forced here: 64 elements each, one thread), unless one
    shares memory with the buffers the update writes: then they are copied first, so the step sees every gradient
    as it was when the step began."""
    monkeypatch.setattr(optimizer_module, "_BLOCK", 64)
    monkeypatch.setattr(optimizer_module, "_MIN_PART", 1 << 62)
    rng = np.random.default_rng(15)
    init = [rng.standard_normal(s).astype("float32") for s in [(40, 30), (50,)]]
    results = []
    for own in (True, False):
        vs, opt = [Variable(a.copy(), name=f"v{i}") for i, a in enumerate(init)], optimizers.Adam(weight_decay=0.1)
        for _ in range(3):
            opt.apply_gradients([(v.data if own else v.data.copy(), v) for v in vs])
        results.append([v.data.copy() for v in vs])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
