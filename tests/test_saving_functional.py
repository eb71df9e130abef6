"""Functional models in files: Keras 3 <-> Keras 2 config conversion and Keras's layer order, checked against the
configs real tf_keras 2.21 and Keras 3.15.1 wrote for the same models (tests/fixtures/keras{2,3}/fn_*)."""
from __future__ import annotations

import copy
import json

import h5py
import pytest

from minikeras.saving import functional as F
from minikeras.saving.errors import ConfigError, UnsupportedConfigError, WeightMismatchError
from helpers import keras_case, load_json

CASES = ["fn_seq2seq", "fn_seq2seq_encoder", "fn_seq2seq_decoder", "fn_concat_two_input", "fn_shared_lstm",
         "fn_two_output", "fn_masking_two_input", "fn_masking_depth"]


def config(era, name):
    return load_json(keras_case(era, name) / "config.json")


def h5_model_config(era, name):
    with h5py.File(keras_case(era, name) / "model.h5", "r") as f:
        raw = f.attrs["model_config"]
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def renamed_graph(k2config):
    """The graph of a Keras 2-form config with layers renamed by their position in Keras's layer order, so two
    configs of the same model that differ only in auto-generated names compare equal."""
    order = F.layer_order(k2config)
    rename = {n: f"L{i}" for i, n in enumerate(order)}
    inner = k2config["config"]
    nodes = {rename[e["name"]]: (e["class_name"], [[[rename[r[0]], r[1], r[2]] for r in node]
                                                   for node in e["inbound_nodes"]])
             for e in inner["layers"]}
    io = {k: [[rename[r[0]], r[1], r[2]] for r in inner[k]] for k in ("input_layers", "output_layers")}
    return nodes, io


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("era", [2, 3])
def test_layer_order_is_keras_model_layers(era, name):
    want = [n for n, _ in load_json(keras_case(era, name) / "meta.json")["layers"]]
    assert F.layer_order(config(era, name)) == want


@pytest.mark.parametrize("name", CASES)
def test_keras3_config_converts_to_tf_keras_graph(name):
    """Keras 3's args/kwargs nodes become exactly the nodes tf_keras wrote for the same model."""
    got = F.keras3_to_keras2(config(3, name))
    want = F.keras3_to_keras2(config(2, name))  # the Keras 2 form passes through, checked
    assert renamed_graph(got) == renamed_graph(want)


@pytest.mark.parametrize("name", CASES)
def test_keras3_legacy_h5_model_config_converts(name):
    """Keras 3's own legacy .h5 writes the same graph without `module` keys (NotEqual included)."""
    got = F.keras3_to_keras2(h5_model_config(3, name))
    assert renamed_graph(got) == renamed_graph(F.keras3_to_keras2(config(3, name)))


def test_tf_keras_h5_model_config_passes_through():
    cfg = h5_model_config(2, "fn_seq2seq")
    out = F.keras3_to_keras2(cfg)
    lstm_1 = next(e for e in out["config"]["layers"] if e["name"] == "lstm_1")
    assert lstm_1["inbound_nodes"] == [[["input_2", 0, 0, {}], ["lstm", 0, 1, {}], ["lstm", 0, 2, {}]]]
    assert out["config"]["output_layers"] == [["dense", 0, 0]]


def test_embedding_mask_op_is_dropped():
    cfg = config(3, "fn_concat_two_input")
    assert any(e["class_name"] == "NotEqual" for e in cfg["config"]["layers"])
    out = F.keras3_to_keras2(cfg)
    names = [e["name"] for e in out["config"]["layers"]]
    assert "not_equal" not in names
    lstm = next(e for e in out["config"]["layers"] if e["name"] == "lstm")
    assert lstm["inbound_nodes"] == [[["embedding", 0, 0, {}]]]
    assert all(e["class_name"] != "NotEqual" for e in out["config"]["layers"])
    assert all("module" not in e and "build_config" not in e for e in out["config"]["layers"])


def test_single_io_refs_become_lists():
    out = F.keras3_to_keras2(config(3, "fn_two_output"))
    assert out["config"]["input_layers"] == [["input_layer", 0, 0]]
    assert out["config"]["output_layers"] == [["dense", 0, 0], ["dense_1", 0, 0]]


def test_initial_state_becomes_extra_inbound_tensors():
    out = F.keras3_to_keras2(config(3, "fn_seq2seq_decoder"))
    lstm = next(e for e in out["config"]["layers"] if e["name"] == "lstm_1")
    assert lstm["inbound_nodes"] == [[["input_layer_1", 0, 0, {}], ["input_layer_2", 0, 0, {}],
                                      ["input_layer_3", 0, 0, {}]]]


def _layer(cfg, name):
    return next(e for e in cfg["config"]["layers"] if e["name"] == name)


def test_masking_mask_ops_are_dropped():
    """Masking's mask is NotEqual(x, 0.0) then Any(axis=-1): the axis is in the Any node's config."""
    cfg = config(3, "fn_masking_two_input")
    assert {e["class_name"] for e in cfg["config"]["layers"]} >= {"NotEqual", "Any"}
    out = F.keras3_to_keras2(cfg)
    assert {e["class_name"] for e in out["config"]["layers"]}.isdisjoint({"NotEqual", "Any"})
    bad = copy.deepcopy(cfg)
    next(e for e in bad["config"]["layers"] if e["class_name"] == "Any")["config"]["axis"] = 1
    with pytest.raises(UnsupportedConfigError, match="explicit `mask=`"):
        F.keras3_to_keras2(bad)


def test_mask_with_other_constant_is_refused():
    cfg = copy.deepcopy(config(3, "fn_concat_two_input"))
    _layer(cfg, "not_equal")["inbound_nodes"][0]["args"][1] = 1  # NotEqual(x, 1) is not Embedding's mask
    with pytest.raises(UnsupportedConfigError, match="explicit `mask=`"):
        F.keras3_to_keras2(cfg)


def test_mask_of_another_input_is_refused():
    cfg = copy.deepcopy(config(3, "fn_concat_two_input"))
    arg = _layer(cfg, "not_equal")["inbound_nodes"][0]["args"][0]
    arg["config"]["keras_history"] = ["features", 0, 0]
    with pytest.raises(UnsupportedConfigError, match="explicit `mask=`"):
        F.keras3_to_keras2(cfg)


def test_op_outside_allow_list_is_refused():
    cfg = copy.deepcopy(config(3, "fn_concat_two_input"))
    op = _layer(cfg, "not_equal")
    op["class_name"] = "Add"
    with pytest.raises(UnsupportedConfigError, match=r"operation 'Add'.*NotEqual, Any"):
        F.keras3_to_keras2(cfg)


def test_op_in_keras3_legacy_h5_is_named_in_the_refusal():
    """Keras 3's legacy .h5 writes operation nodes without `module`; they are still recognised (and an
    operation named like a layer, `Concatenate`, by its layer-less config)."""
    cfg = copy.deepcopy(h5_model_config(3, "fn_concat_two_input"))
    assert "module" not in _layer(cfg, "not_equal")
    _layer(cfg, "not_equal")["class_name"] = "ExpandDims"
    with pytest.raises(UnsupportedConfigError, match="operation 'ExpandDims'"):
        F.keras3_to_keras2(cfg)
    _layer(cfg, "not_equal")["class_name"] = "Concatenate"
    with pytest.raises(UnsupportedConfigError, match="operation 'Concatenate'"):
        F.keras3_to_keras2(cfg)


def test_op_used_as_data_is_refused():
    cfg = copy.deepcopy(config(3, "fn_concat_two_input"))
    lstm = _layer(cfg, "lstm")
    node = lstm["inbound_nodes"][0]
    node["args"] = [node["kwargs"].pop("mask")]
    with pytest.raises(UnsupportedConfigError, match="operation 'NotEqual'"):
        F.keras3_to_keras2(cfg)


def test_op_as_model_output_is_refused():
    cfg = copy.deepcopy(config(3, "fn_concat_two_input"))
    cfg["config"]["output_layers"] = [["dense_1", 0, 0], ["not_equal", 0, 0]]
    with pytest.raises(UnsupportedConfigError, match="operation 'NotEqual'"):
        F.keras3_to_keras2(cfg)


def test_lambda_from_a_file_is_refused():
    cfg = copy.deepcopy(config(3, "fn_shared_lstm"))
    dense = _layer(cfg, "dense")
    dense["class_name"] = "Lambda"
    dense["config"] = {"name": "dense", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAA="}}}
    with pytest.raises(UnsupportedConfigError, match="Lambda"):
        F.keras3_to_keras2(cfg)


def test_layer_from_foreign_module_is_refused():
    cfg = copy.deepcopy(config(3, "fn_shared_lstm"))
    _layer(cfg, "dense")["module"] = "os"
    with pytest.raises(UnsupportedConfigError, match="module 'os'"):
        F.keras3_to_keras2(cfg)


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["config"]["layers"].append(copy.deepcopy(c["config"]["layers"][-1])), "used twice"),
    (lambda c: c["config"].update(output_layers=[["nope", 0, 0]]), "unknown layer 'nope'"),
    (lambda c: c["config"].update(output_layers="dense"), "output_layers"),
    (lambda c: _layer(c, "concatenate")["inbound_nodes"][0]["args"][0][0]["config"].update(keras_history=["x"]),
     "keras_history"),
    (lambda c: _layer(c, "dense")["inbound_nodes"].__setitem__(0, ["not a node"]), "Invalid node"),
    (lambda c: _layer(c, "dense")["inbound_nodes"][0]["args"][0]["config"].update(
        keras_history=["lstm", 7, 0]), "node 7"),
])
def test_malformed_configs_raise_config_errors(mutate, message):
    cfg = copy.deepcopy(config(3, "fn_shared_lstm"))
    mutate(cfg)
    with pytest.raises((ConfigError, UnsupportedConfigError), match=message):
        F.keras3_to_keras2(cfg)


def test_cycle_is_refused():
    cfg = copy.deepcopy(config(2, "fn_shared_lstm"))
    _layer(cfg, "concatenate")["inbound_nodes"][0][0] = ["dense", 0, 0, {}]
    with pytest.raises(ConfigError, match="cycle"):
        F.layer_order(cfg)


def _specs_from(cfg3):
    """(layer, node, tensor) -> (shape, dtype), read from the __keras_tensor__ records of a Keras 3 config."""
    specs = {}
    for e in cfg3["config"]["layers"]:
        if e["class_name"] == "InputLayer":
            c = e["config"]
            specs[(e["name"], 0, 0)] = (c["batch_shape"], c["dtype"])
        for node in e["inbound_nodes"]:
            for t in F._flatten([node["args"], node["kwargs"]]):
                if F.is_keras_tensor(t):
                    specs[tuple(t["config"]["keras_history"])] = (t["config"]["shape"], t["config"]["dtype"])
    return lambda name, node, tensor: specs[(name, node, tensor)]


@pytest.mark.parametrize("name", CASES)
def test_keras2_to_keras3_gives_keras3_nodes(name):
    """tf_keras-form nodes written back in Keras 3's form equal what Keras 3 wrote (its `training`/`mask`
    kwargs aside: Keras 3 re-derives them when it rebuilds the graph)."""
    cfg3 = config(3, name)
    k2 = F.keras3_to_keras2(cfg3)
    single_in = F._is_ref(cfg3["config"]["input_layers"])
    single_out = F._is_ref(cfg3["config"]["output_layers"])
    back = F.keras2_to_keras3(k2["config"], lambda e: {"class_name": e["class_name"]}, _specs_from(cfg3),
                              single_input=single_in, single_output=single_out)
    want = {e["name"]: e for e in cfg3["config"]["layers"] if not F._is_op_entry(e)}
    assert [e["name"] for e in back["layers"]] == list(want)
    for e in back["layers"]:
        w_nodes = [{"args": n["args"], "kwargs": {k: v for k, v in n["kwargs"].items()
                                                  if k not in ("training", "mask")}}
                   for n in want[e["name"]]["inbound_nodes"]]
        assert e["inbound_nodes"] == w_nodes, e["name"]
    assert back["input_layers"] == cfg3["config"]["input_layers"]
    assert back["output_layers"] == cfg3["config"]["output_layers"]


# ------------------------------------------------------------------------------------------ models from files

import numpy as np  # noqa: E402

from helpers import load_io  # noqa: E402
from minikeras import models, saving  # noqa: E402

FILES = [(2, "model.h5"), (2, "config.json+weights.h5"), (3, "model.keras"), (3, "model.h5"),
         (3, "config.json+model.weights.h5")]


def inputs_outputs(io_):
    xs = [io_[f"x{i}"] for i in range(len(io_)) if f"x{i}" in io_]
    ys = [io_[f"y_pred_{i}"] for i in range(len(io_)) if f"y_pred_{i}" in io_]
    return xs, ys


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def load(era, name, how, compile=True):
    case = keras_case(era, name)
    if how.startswith("config.json+"):
        model = models.model_from_json((case / "config.json").read_text())
        model.load_weights(case / how.split("+")[1])
        return model
    return saving.load_model(case / how, compile=compile)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("era, how", FILES)
def test_files_keras_wrote_predict_the_same(era, how, name):
    model = load(era, name, how)
    assert type(model).__name__ == "Functional"
    xs, ys = inputs_outputs(load_io(keras_case(era, name)))
    got = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
    assert len(got) == len(ys)
    for g, y in zip(got, ys):
        np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("era, how", FILES)
def test_loaded_graph_is_keras_graph(era, how, name):
    """Same layers in Keras's order, same names, same graph (config) as the model Keras saved."""
    model = load(era, name, how, compile=False)
    meta = load_json(keras_case(era, name) / "meta.json")
    layers = F.keras3_layers(model) if era == 3 else model.layers  # Keras 3's order counts its mask operations
    assert [[l.name, type(l).__name__] for l in layers] == meta["layers"]
    want = F.keras3_to_keras2(config(era, name))
    assert renamed_graph({"config": model.get_config()}) == renamed_graph(want)


def _resume_targets(io_):
    return [io_[f"y_{j}"] for j in range(len(io_)) if f"y_{j}" in io_]


@pytest.mark.parametrize("name", ["fn_seq2seq", "fn_two_output"])
@pytest.mark.parametrize("era, how", [(2, "model.h5"), (3, "model.keras"), (3, "model.h5")])
def test_training_resumes_from_the_file(era, how, name):
    """2 more train_on_batch steps from the saved optimizer state give Keras's losses (named as Keras names
    them: `loss`, `dense_loss`, `dense_1_loss`, `accuracy`) and weights (1e-5). Keras 3.15.1 cannot resume
    from its own model.h5 (fixtures README); minikeras restores its optimizer_weights."""
    case = keras_case(era, name)
    io_ = load_io(case)
    keys = load_json(case / "meta.json")["train_on_batch_keys"]
    xs, _ = inputs_outputs(io_)
    ys = _resume_targets(io_)
    model = saving.load_model(case / how)
    for k in range(2):
        logs = model.train_on_batch(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0], return_dict=True)
        assert sorted(logs) == sorted(keys)
        for key, want in zip(keys, io_[f"loss_resume_{k}"]):
            np.testing.assert_allclose(logs[key], want, atol=1e-5, rtol=1e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io_[f"w_resume_{i}"], atol=1e-5, rtol=0)


def test_code_built_model_loads_both_weight_files():
    """A model built in code (fresh names) takes weights.h5 (by position) and .weights.h5 (Keras 3's class paths)."""
    from minikeras import Input, Model, layers

    for era, fname in ((2, "weights.h5"), (3, "model.weights.h5")):
        text = Input(shape=(6,), dtype="int32")
        feats = Input(shape=(3,))
        h = layers.LSTM(5, recurrent_activation="sigmoid")(layers.Embedding(12, 4, mask_zero=True)(text))
        merged = layers.concatenate([h, layers.Dense(4, activation="relu")(feats)])
        model = Model([text, feats], layers.Dense(2, activation="softmax")(merged))
        model.load_weights(keras_case(era, "fn_concat_two_input") / fname)
        xs, ys = inputs_outputs(load_io(keras_case(era, "fn_concat_two_input")))
        np.testing.assert_allclose(model.predict(xs, verbose=0), ys[0], atol=2e-5, rtol=0)


# ------------------------------------------------------------------------------------------ writing


@pytest.mark.parametrize("name", CASES)
def test_written_files_reload_and_match_keras_layout(tmp_path, name):
    """Load Keras 3's file, write every format, reload: same predictions; the written config.json has Keras 3's
    graph and the weight files Keras's group structure."""
    model = load(3, name, "model.keras")
    xs, ys = inputs_outputs(load_io(keras_case(3, name)))
    feed = xs if len(xs) > 1 else xs[0]
    for fname in ("m.h5", "m.keras"):
        model.save(tmp_path / fname)
        again = saving.load_model(tmp_path / fname)
        for g, y in zip(as_list(again.predict(feed, verbose=0)), ys):
            np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)
    for fname in ("w.h5", "w.weights.h5"):
        model.save_weights(tmp_path / fname)
        fresh = load(3, name, "model.keras", compile=False)
        fresh.load_weights(tmp_path / fname)
        for g, y in zip(as_list(fresh.predict(feed, verbose=0)), ys):
            np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)

    import zipfile
    written = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    keras_cfg = config(3, name)
    assert written["class_name"] == "Functional" and written["module"] == keras_cfg["module"]
    assert renamed_graph(F.keras3_to_keras2(written)) == renamed_graph(F.keras3_to_keras2(keras_cfg))
    assert written["config"]["input_layers"] == keras_cfg["config"]["input_layers"]
    assert written["config"]["output_layers"] == keras_cfg["config"]["output_layers"]

    def tree(path):
        with h5py.File(path, "r") as f:
            out = []
            f.visititems(lambda k, v: out.append((k, getattr(v, "shape", None))))
            return out

    assert [k for k in tree(tmp_path / "w.weights.h5") if not k[0].startswith("optimizer")] == \
        [k for k in tree(keras_case(3, name) / "model.weights.h5") if not k[0].startswith("optimizer")]
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert json.loads(f.attrs["model_config"])["class_name"] == "Functional"
        written_names = strings(f["model_weights"].attrs["layer_names"])
    with h5py.File(keras_case(3, name) / "model.h5", "r") as f:
        keras_names = strings(f["model_weights"].attrs["layer_names"])
    # minikeras writes tf_keras's .h5, in tf_keras's layer order; Keras 3's differs only where its mask
    # operations deepen a branch (fn_masking_depth)
    assert written_names == [l.name for l in model.layers] and sorted(written_names) == sorted(keras_names)
    assert (written_names == keras_names) == (name != "fn_masking_depth")


def strings(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def test_keras2_h5_round_trip_keeps_tf_keras_config(tmp_path):
    """A tf_keras functional model.h5 written back by minikeras holds the same model_config graph and
    weight names, so tf_keras reads it as its own."""
    model = saving.load_model(keras_case(2, "fn_seq2seq") / "model.h5")
    model.save(tmp_path / "s2s.h5")
    with h5py.File(tmp_path / "s2s.h5", "r") as f, h5py.File(keras_case(2, "fn_seq2seq") / "model.h5", "r") as g:
        mine, theirs = json.loads(f.attrs["model_config"]), json.loads(g.attrs["model_config"])
        assert renamed_graph(mine) == renamed_graph(theirs)
        names = strings(f["model_weights"].attrs["layer_names"])
        assert names == strings(g["model_weights"].attrs["layer_names"])
        for name in names:
            assert strings(f["model_weights"][name].attrs["weight_names"]) == \
                strings(g["model_weights"][name].attrs["weight_names"])


# ------------------------------------------------------------------------------------------ refusals, all-or-nothing


def _rewrite_h5(src, dst, edit):
    import shutil

    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        edit(cfg)
        f.attrs["model_config"] = json.dumps(cfg).encode()


def test_standalone_keras2_model_class_name_loads(tmp_path):
    """Keras 2.0-2.3 named functional models `Model` in model_config."""
    _rewrite_h5(keras_case(2, "fn_shared_lstm") / "model.h5", tmp_path / "m.h5",
                lambda c: c.update(class_name="Model"))
    model = saving.load_model(tmp_path / "m.h5")
    xs, ys = inputs_outputs(load_io(keras_case(2, "fn_shared_lstm")))
    np.testing.assert_allclose(model.predict(xs, verbose=0), ys[0], atol=2e-5, rtol=0)


def test_lambda_in_a_functional_file_is_refused(tmp_path):
    def to_lambda(c):
        dense = _layer(c, "dense")
        dense["class_name"] = "Lambda"
        dense["config"] = {"name": "dense", "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk4p",
                                                           None, None], "function_type": "lambda"}

    _rewrite_h5(keras_case(2, "fn_shared_lstm") / "model.h5", tmp_path / "m.h5", to_lambda)
    with pytest.raises(UnsupportedConfigError, match="Lambda"):
        saving.load_model(tmp_path / "m.h5")


def test_lambda_built_in_code_runs_but_is_not_saved(tmp_path):
    from minikeras import Input, Model, layers

    x = Input(shape=(3,))
    model = Model(x, layers.Dense(2)(layers.Lambda(lambda t: t * 2.0)(x)))
    assert model.predict(np.ones((1, 3), "float32"), verbose=0).shape == (1, 2)
    for fname in ("m.h5", "m.keras"):
        with pytest.raises(NotImplementedError, match="Lambda"):
            model.save(tmp_path / fname)
        assert not (tmp_path / fname).exists()


def test_failed_weight_load_leaves_functional_model_unchanged():
    model = load(2, "fn_concat_two_input", "model.h5", compile=False)
    before = [w.copy() for w in model.get_weights()]
    for era, fname in ((2, "weights.h5"), (3, "model.weights.h5")):
        with pytest.raises(WeightMismatchError, match="Layer count mismatch|could not be loaded"):
            model.load_weights(keras_case(era, "fn_shared_lstm") / fname)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)


def test_nested_model_round_trips_in_h5_and_is_refused_in_keras3_files(tmp_path):
    """tf_keras numbers a nested model's calls from 1 in the enclosing config; Keras 3 files of nested models are
    refused (their `layers/<model>/layers/...` weight paths are not written) instead of losing weights."""
    from minikeras import Input, Model, layers

    i = Input(shape=(5, 3))
    inner = Model(i, layers.LSTM(4)(i))
    o = Input(shape=(5, 3))
    model = Model(o, layers.Dense(2)(inner(o)))
    assert _layer({"config": model.get_config()}, "dense")["inbound_nodes"] == [[[inner.name, 1, 0, {}]]]
    x = np.random.default_rng(0).standard_normal((3, 5, 3)).astype("float32")
    for fname in ("m.h5", "w.h5"):
        (model.save if fname == "m.h5" else model.save_weights)(tmp_path / fname)
    again = saving.load_model(tmp_path / "m.h5")
    again.load_weights(tmp_path / "w.h5")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    for fname, save in (("m.keras", model.save), ("w.weights.h5", model.save_weights)):
        with pytest.raises(UnsupportedConfigError, match="nested model"):
            save(tmp_path / fname)
        assert not (tmp_path / fname).exists()
    cfg = copy.deepcopy(config(3, "fn_shared_lstm"))
    _layer(cfg, "lstm")["class_name"] = "Functional"
    with pytest.raises(UnsupportedConfigError, match="nested in a Keras 3 functional model"):
        F.keras3_to_keras2(cfg)


def test_training_resumes_from_keras3_weights_file_of_a_compiled_model():
    """config.json + compile as Keras did + load_weights(model.weights.h5): the file's optimizer/vars restore
    the optimizer, and 2 more steps give Keras's weights."""
    from minikeras import optimizers

    case = keras_case(3, "fn_two_output")
    io_ = load_io(case)
    model = models.model_from_json((case / "config.json").read_text())
    model.compile(optimizer=optimizers.Adam(0.01), loss=["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5])
    model.load_weights(case / "model.weights.h5")
    np.testing.assert_allclose(int(np.asarray(model.optimizer.iterations)), 2)
    for _ in range(2):
        model.train_on_batch(io_["x0"], _resume_targets(io_))
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io_[f"w_resume_{i}"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("era, fname", [(2, "model.h5"), (3, "model.keras"), (3, "model.h5")])
def test_lstm_seq2seq_restore_on_keras_file(era, fname):
    """Keras 2's examples/lstm_seq2seq_restore.py, run on the training model Keras saved: its inference models,
    rebuilt from `model.input`, `model.layers[i].output` and a second call of the decoder layers, predict what
    Keras's own inference models predicted (fn_seq2seq_encoder / fn_seq2seq_decoder)."""
    from minikeras.layers import Input
    from minikeras.models import Model, load_model

    latent_dim = 4
    model = load_model(keras_case(era, "fn_seq2seq") / fname)
    encoder_inputs = model.input[0]  # input_1
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output  # lstm_1
    encoder_states = [state_h_enc, state_c_enc]
    encoder_model = Model(encoder_inputs, encoder_states)

    decoder_inputs = model.input[1]  # input_2
    decoder_state_input_h = Input(shape=(latent_dim,), name='input_3')
    decoder_state_input_c = Input(shape=(latent_dim,), name='input_4')
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_lstm = model.layers[3]
    decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(
        decoder_inputs, initial_state=decoder_states_inputs)
    decoder_states = [state_h_dec, state_c_dec]
    decoder_dense = model.layers[4]
    decoder_outputs = decoder_dense(decoder_outputs)
    decoder_model = Model(
        [decoder_inputs] + decoder_states_inputs,
        [decoder_outputs] + decoder_states)

    xs, ys = inputs_outputs(load_io(keras_case(era, "fn_seq2seq_encoder")))
    for g, y in zip(encoder_model.predict(xs[0], verbose=0), ys):
        np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)
    xs, ys = inputs_outputs(load_io(keras_case(era, "fn_seq2seq_decoder")))
    for g, y in zip(decoder_model.predict(xs, verbose=0), ys):
        np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)


def test_keras_2_0_three_element_inbound_refs_load(tmp_path):
    """Keras 2.0-2.1 wrote inbound tensors as [layer, node, tensor] without the kwargs dict."""
    def strip(c):
        c["class_name"] = "Model"
        for e in c["config"]["layers"]:
            e["inbound_nodes"] = [[ref[:3] for ref in node] for node in e["inbound_nodes"]]

    _rewrite_h5(keras_case(2, "fn_concat_two_input") / "model.h5", tmp_path / "m.h5", strip)
    model = saving.load_model(tmp_path / "m.h5")
    xs, ys = inputs_outputs(load_io(keras_case(2, "fn_concat_two_input")))
    np.testing.assert_allclose(model.predict(xs, verbose=0), ys[0], atol=2e-5, rtol=0)


def test_keras3_order_of_a_model_from_elsewhere_counts_the_mask_operations_keras3_adds():
    """A model that did not come from a Keras 3 file (here tf_keras's) is written to `.weights.h5` in the order
    Keras 3 gives it once it has added its NotEqual/Any mask nodes, which differs from tf_keras's order here."""
    model = load(2, "fn_masking_depth", "model.h5", compile=False)
    keras2_order = [l.name for l in model.layers if type(l).__name__ != "InputLayer"]
    keras3_order = [n for n, c in load_json(keras_case(3, "fn_masking_depth") / "meta.json")["layers"]
                    if c != "InputLayer"]
    assert keras2_order != keras3_order
    assert [l.name for l in F.keras3_layers(model) if type(l).__name__ != "InputLayer"] == keras3_order
