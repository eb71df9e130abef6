"""Functional models in files: Keras 3 <-> Keras 2 config conversion and Keras's layer order, checked against the
configs real tf_keras 2.21 and Keras 3.15.1 wrote for the same models (tests/fixtures/keras{2,3}/fn_*)."""
from __future__ import annotations

import copy
import json

import h5py
import pytest

from minikeras.saving import functional as F
from minikeras.saving.errors import ConfigError, UnsupportedConfigError
from helpers import keras_case, load_json

CASES = ["fn_seq2seq", "fn_seq2seq_encoder", "fn_seq2seq_decoder", "fn_concat_two_input", "fn_shared_lstm",
         "fn_two_output"]


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
