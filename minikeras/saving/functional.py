"""Functional models in files: Keras 3 <-> Keras 2 functional configs, and Keras 3's layer order.

tf_keras 2.x writes a functional model's graph as `inbound_nodes` lists, one per call of a layer:

    "inbound_nodes": [[["lstm", 0, 1, {}], ["lstm", 0, 2, {}]]]        # [layer, node index, tensor index, kwargs]

Keras 3 writes each call as its positional and keyword arguments, tensors as `__keras_tensor__` records:

    "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
                                 "config": {"shape": [null, 4], "dtype": "float32",
                                            "keras_history": ["input_layer", 0, 0]}}],
                       "kwargs": {"initial_state": [...], "mask": ..., "training": false}}]

and may hold *operation* nodes (`keras.src.ops.*`) next to layers: `Embedding(mask_zero=True)` makes Keras 3 record
`NotEqual(tokens, 0)` and pass its result to the next layer as `mask=`. minikeras builds functional models from
the Keras 2 form, so Keras 3 configs are converted here (`keras3_to_keras2`), and minikeras's models are written in
Keras 3's form (`keras2_to_keras3`). Both are pure transforms of JSON data: nothing in a config is imported or
executed, and operation nodes are accepted only from an allow-list (`MASK_OPS`), when they are the masks that
minikeras's own mask propagation computes anyway.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from minikeras.engine.functional import Functional
from minikeras.engine.keras_tensor import flatten
from minikeras.engine.sequential import Sequential
from minikeras.engine.training import Model
from minikeras.saving.errors import ConfigError, UnsupportedConfigError
from minikeras.saving.serialization import MAX_CONFIG_DEPTH, _check_sizes, _depth, normalize_layer_entry

# Operations Keras 3 records for the masks of Embedding(mask_zero=True) (`NotEqual(x, 0)`) and Masking
# (`Any(NotEqual(x, mask_value), axis=-1)`). They are dropped: minikeras propagates the same masks itself.
MASK_OPS = ("NotEqual", "Any")
# Layers whose call takes `initial_state`: tf_keras writes the states as extra inbound tensors after the input.
_STATEFUL_CALL = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "CuDNNLSTM", "CuDNNGRU")
# Layers that hand their input's mask on unchanged (Keras's `supports_masking` layers among minikeras's); a
# recorded mask may travel through them from the Embedding/Masking that made it.
_MASK_PASSTHROUGH = ("Dropout", "SpatialDropout1D", "Activation", "Dense", "GaussianNoise", "GaussianDropout",
                     "ActivityRegularization", "TimeDistributed")
_RETURN_SEQUENCE_MASK = ("LSTM", "GRU", "SimpleRNN", "Bidirectional")

Ref = Tuple[str, int, int]


def is_keras_tensor(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__"


def _history(obj: Any, where: str, filepath: Any = None) -> Ref:
    hist = (obj.get("config") or {}).get("keras_history") if isinstance(obj.get("config"), dict) else None
    if (not isinstance(hist, list) or len(hist) != 3 or not isinstance(hist[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in hist[1:])):
        raise ConfigError(f"Invalid tensor record in {where}: expected keras_history [layer_name, node_index, "
                          f"tensor_index]. Received: {str(obj)[:200]}", filepath)
    return hist[0], hist[1], hist[2]


def _is_ref(obj: Any) -> bool:
    return (isinstance(obj, list) and len(obj) in (3, 4) and isinstance(obj[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in obj[1:3]))


# Keras 3 operations that functional graphs record (masks of merged or masked tensors, `keras.ops` calls). Keras 3's
# legacy `.h5` writes them without their `module`, so they are recognised by name; the names that are also layers
# (`Concatenate`, `Add`, ...) are operations only when their config lacks the `trainable` every layer config has.
_K3_OP_NAMES = frozenset(MASK_OPS + (
    "All", "ExpandDims", "ZerosLike", "OnesLike", "LogicalOr", "LogicalAnd", "LogicalNot", "Cast", "BroadcastTo",
    "Equal", "Greater", "Less", "Where", "Concatenate", "Add", "Subtract", "Multiply", "Divide", "TrueDivide",
    "Matmul", "Reshape", "Transpose", "Squeeze", "Stack", "Sum", "Mean", "Max", "Min", "GetItem", "Tanh", "Sigmoid",
    "Relu", "Softmax", "Exp", "Log", "Sqrt", "Square", "Abs", "Negative", "Maximum", "Minimum", "Average", "Dot"))
_LAYER_NAMES_TOO = frozenset(("Concatenate", "Add", "Subtract", "Multiply", "Reshape", "Maximum", "Minimum",
                              "Average", "Dot", "Softmax"))


def _is_op_entry(entry: Dict[str, Any]) -> bool:
    module = entry.get("module")
    if isinstance(module, str):
        return module.startswith("keras.src.ops")
    class_name = entry.get("class_name")
    if class_name not in _K3_OP_NAMES:
        return False
    config = entry.get("config")
    return class_name not in _LAYER_NAMES_TOO or (isinstance(config, dict) and "trainable" not in config)


_MODEL_CLASSES = ("Functional", "Model", "Sequential")


def _node_offset(entry: Dict[str, Any]) -> int:
    """tf_keras numbers the calls of a nested model built from an Input from 1 in the enclosing config: node 0 is
    the model's own call on its Input (`_should_skip_first_node`)."""
    if entry.get("class_name") in ("Functional", "Model"):
        return 1
    if entry.get("class_name") == "Sequential":
        layers = (entry.get("config") or {}).get("layers") if isinstance(entry.get("config"), dict) else None
        return int(bool(layers) and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer")
    return 0


def node_format(inner: Dict[str, Any]) -> int:
    """2 if the layers' `inbound_nodes` are Keras 2 lists, 3 if Keras 3 `{"args", "kwargs"}` dicts."""
    for entry in inner.get("layers") or []:
        for node in (entry.get("inbound_nodes") or []) if isinstance(entry, dict) else []:
            return 3 if isinstance(node, dict) else 2
    return 2


def _io_refs(value: Any, what: str, filepath: Any) -> Any:
    """`input_layers`/`output_layers`: a single `[name, node, tensor]`, a list of them, or a dict of them."""
    if _is_ref(value):
        return [list(value[:3])]
    if isinstance(value, list) and value and all(_is_ref(v) for v in value):
        return [list(v[:3]) for v in value]
    if isinstance(value, dict) and value and all(_is_ref(v) for v in value.values()):
        return {k: list(v[:3]) for k, v in value.items()}
    raise ConfigError(f"Invalid functional config: `{what}` must be [layer_name, node_index, tensor_index] "
                      f"entries. Received: {what}={str(value)[:200]}", filepath)


# ------------------------------------------------------------------------------------------ Keras 3 -> Keras 2


class _Graph:
    """Name -> entry index of a Keras 3 functional config, with the helpers the conversion needs."""

    def __init__(self, inner: Dict[str, Any], filepath: Any):
        self.filepath = filepath
        self.by_name: Dict[str, Dict[str, Any]] = {}
        for entry in inner["layers"]:
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str):
                raise ConfigError("Invalid functional config: every layer entry needs a 'name'. "
                                  f"Received: {str(entry)[:200]}", filepath)
            if name in self.by_name:
                raise ConfigError(f"Invalid functional config: the layer name {name!r} is used twice", filepath)
            self.by_name[name] = entry

    def entry(self, name: str, where: str) -> Dict[str, Any]:
        if name not in self.by_name:
            raise ConfigError(f"Invalid functional config: {where} refers to the unknown layer {name!r}",
                              self.filepath)
        return self.by_name[name]

    def node(self, ref: Ref, where: str) -> Dict[str, Any]:
        entry = self.entry(ref[0], where)
        nodes = entry.get("inbound_nodes") or []
        if entry.get("class_name") == "InputLayer":
            return {"args": [], "kwargs": {}}
        if not isinstance(nodes, list) or ref[1] >= len(nodes) or not isinstance(nodes[ref[1]], dict):
            raise ConfigError(f"Invalid functional config: {where} refers to node {ref[1]} of {ref[0]!r}, which "
                              f"has {len(nodes) if isinstance(nodes, list) else 0} node(s)", self.filepath)
        return nodes[ref[1]]

    def is_op(self, name: str) -> bool:
        return _is_op_entry(self.by_name.get(name, {}))

    def data_inputs(self, ref: Ref) -> List[Ref]:
        node = self.node(ref, f"the tensor of {ref[0]!r}")
        return [_history(t, ref[0], self.filepath) for t in _flatten(node.get("args") or []) if is_keras_tensor(t)]

    def mask_chain_root(self, ref: Ref, where: str) -> Tuple[Ref, List[Tuple[str, Dict[str, Any], Dict[str, Any]]]]:
        """Follow allow-listed mask operations back to the layer tensor they start from; the chain lists
        (class name, node, op config) from that tensor on."""
        chain: List[Tuple[str, Dict[str, Any], Dict[str, Any]]] = []
        while self.is_op(ref[0]):
            entry = self.by_name[ref[0]]
            class_name = entry.get("class_name")
            if class_name not in MASK_OPS:
                raise _refuse_op(ref[0], class_name, where, self.filepath)
            node = self.node(ref, where)
            tensors = [t for t in _flatten(node.get("args") or []) if is_keras_tensor(t)]
            if len(tensors) != 1 or len(chain) > len(self.by_name):
                raise UnsupportedConfigError(f"The mask passed to {where} is computed by operations minikeras does "
                                             "not rebuild (only Keras's own Embedding/Masking masks are supported)",
                                             self.filepath)
            chain.append((class_name, node, entry.get("config") or {}))
            ref = _history(tensors[0], where, self.filepath)
        return ref, chain[::-1]

    def check_implicit_mask(self, consumer: str, data: Optional[Ref], mask: Any) -> None:
        """A recorded `mask=` is dropped only if it is the mask minikeras's propagation gives `data` anyway."""
        where = f"layer {consumer!r}"
        mask_ref = _history(mask, where, self.filepath)
        root, chain = self.mask_chain_root(mask_ref, where)
        ref = data
        for _ in range(len(self.by_name) + 1):
            if ref is None:
                break
            entry = self.entry(ref[0], where)
            class_name, cfg = entry.get("class_name"), entry.get("config") or {}
            inputs = self.data_inputs(ref) if class_name != "InputLayer" else []
            if class_name == "Embedding" and cfg.get("mask_zero") is True and inputs == [root]:
                if _ops_are(chain, [("NotEqual", 0)]):
                    return
                break
            if class_name == "Masking" and inputs == [root]:
                if _ops_are(chain, [("NotEqual", cfg.get("mask_value", 0.0)), ("Any", -1)]):
                    return
                break
            passes = class_name in _MASK_PASSTHROUGH or (class_name in _RETURN_SEQUENCE_MASK
                                                          and cfg.get("return_sequences") is True and ref[2] == 0)
            if not passes or len(inputs) != 1:
                break
            ref = inputs[0]
        raise UnsupportedConfigError(f"Layer {consumer!r} is called with an explicit `mask=` that is not the mask "
                                     "of an Embedding(mask_zero=True) or Masking layer upstream; minikeras cannot "
                                     "rebuild such a graph from a file", self.filepath)


def _ops_are(chain: List[Tuple[str, Dict[str, Any], Dict[str, Any]]], expected: List[Tuple[str, Any]]) -> bool:
    """The recorded ops are Keras's own mask computation: `NotEqual(x, value)` (Embedding: value 0), then for
    Masking `Any(axis=-1, keepdims=False)` (its axis lives in the op's config)."""
    if [c for c, _, _ in chain] != [c for c, _ in expected]:
        return False
    for (class_name, node, config), (_, value) in zip(chain, expected):
        args, kwargs = list(node.get("args") or []), dict(node.get("kwargs") or {})
        if class_name == "NotEqual":
            consts = [a for a in args if not is_keras_tensor(a)]
            if kwargs or len(consts) != 1 or isinstance(consts[0], bool) or consts[0] != value:
                return False
        elif class_name == "Any":
            axis = kwargs.get("axis", args[1] if len(args) > 1 else config.get("axis"))
            if axis != value or kwargs.get("keepdims", config.get("keepdims", False)):
                return False
    return True


def _refuse_op(name: str, class_name: Any, where: str, filepath: Any) -> UnsupportedConfigError:
    return UnsupportedConfigError(
        f"The functional config holds the Keras 3 operation {class_name!r} (node {name!r}, used by {where}). "
        f"minikeras rebuilds only layers, and the operations Keras 3 records for masks ({', '.join(MASK_OPS)}) "
        "where they are the mask of an Embedding(mask_zero=True) or Masking layer. Received: "
        f"class_name={class_name!r}", filepath)


def _flatten(obj: Any) -> List[Any]:
    """Leaves of nested lists/dicts, dict keys sorted as Keras's `tree.flatten` orders them."""
    if isinstance(obj, (list, tuple)):
        return [x for o in obj for x in _flatten(o)]
    if isinstance(obj, dict) and not is_keras_tensor(obj):
        return [x for k in sorted(obj) for x in _flatten(obj[k])]
    return [obj]


def _convert_node(graph: _Graph, name: str, class_name: str, node: Any, filepath: Any) -> List[List[Any]]:
    where = f"layer {name!r}"
    if not isinstance(node, dict):
        raise ConfigError(f"Invalid node of {where}: expected {{'args': [...], 'kwargs': {{...}}}}. "
                          f"Received: {str(node)[:200]}", filepath)
    args, kwargs = node.get("args") or [], dict(node.get("kwargs") or {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ConfigError(f"Invalid node of {where}: 'args' must be a list and 'kwargs' a dict", filepath)
    if not args:
        raise ConfigError(f"Invalid node of {where}: no input tensor", filepath)
    first = args[0]
    if is_keras_tensor(first):
        tensors = [first]
    elif isinstance(first, list) and first and all(is_keras_tensor(t) for t in first):
        tensors = list(first)
    else:
        raise UnsupportedConfigError(f"{where.capitalize()} is called on {str(first)[:120]}; minikeras rebuilds "
                                     "layers called on a tensor or a list of tensors", filepath)
    if any(_flatten(a) for a in args[1:]):
        raise UnsupportedConfigError(f"{where.capitalize()} is called with extra positional arguments "
                                     f"{str(args[1:])[:120]}", filepath)
    refs = [_history(t, where, filepath) for t in tensors]
    for ref in refs:
        if graph.is_op(ref[0]):
            raise _refuse_op(ref[0], graph.by_name[ref[0]].get("class_name"), where, filepath)
    # `training` is the call mode Keras saw while tracing; the outer call's `training` governs at run time.
    kwargs.pop("training", None)
    mask = kwargs.pop("mask", None)
    if mask is not None:
        if isinstance(mask, list):
            raise UnsupportedConfigError(f"{where.capitalize()} is called with a list of masks", filepath)
        graph.check_implicit_mask(name, refs[0] if len(refs) == 1 else None, mask)
    states = kwargs.pop("initial_state", None)
    if states is not None:
        if class_name not in _STATEFUL_CALL:
            raise UnsupportedConfigError(f"{where.capitalize()} ({class_name}) is called with `initial_state`",
                                         filepath)
        states = states if isinstance(states, list) else [states]
        if not states or not all(is_keras_tensor(s) for s in states):
            raise ConfigError(f"Invalid `initial_state` of {where}: expected tensors", filepath)
        if len(refs) != 1:
            raise UnsupportedConfigError(f"{where.capitalize()} is called on several inputs and `initial_state`",
                                         filepath)
        state_refs = [_history(s, where, filepath) for s in states]
        for ref in state_refs:
            if graph.is_op(ref[0]):
                raise _refuse_op(ref[0], graph.by_name[ref[0]].get("class_name"), where, filepath)
        refs = refs + state_refs  # tf_keras's RNN form: [inputs, *initial_state] in one node
    for k, v in kwargs.items():
        if _flatten(v) and any(is_keras_tensor(x) for x in _flatten(v)):
            raise UnsupportedConfigError(f"{where.capitalize()} is called with the tensor argument {k!r}; "
                                         "minikeras rebuilds only `initial_state` and Keras's own masks", filepath)
    extra = {k: v for k, v in kwargs.items() if v is not None}
    return [[r[0], r[1], r[2], dict(extra)] for r in refs]


def keras3_to_keras2(config: Dict[str, Any], filepath: Any = None) -> Dict[str, Any]:
    """A Keras 3 functional model config (`.keras` config.json or Keras 3's legacy `.h5` model_config) -> the
    tf_keras 2.x form: `{"class_name": "Functional", "config": {"name", "trainable", "layers", "input_layers",
    "output_layers"}}`, layer entries `{"class_name", "config", "name", "inbound_nodes"}`. Allow-listed mask
    operations are dropped, node indices of the remaining layers are unchanged (operations are never layers).
    Configs already in the Keras 2 form pass through with their layer entries checked."""
    inner = config.get("config") if isinstance(config, dict) else None
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise ConfigError("Invalid functional config: expected {'class_name': 'Functional', 'config': {'layers': "
                          f"[...], 'input_layers': ..., 'output_layers': ...}}}}. Received: {str(config)[:200]}",
                          filepath)
    fmt = node_format(inner)
    graph = _Graph(inner, filepath)
    if fmt == 3:
        nested = [e["name"] for e in inner["layers"] if e.get("class_name") in _MODEL_CLASSES]
        if nested:
            raise UnsupportedConfigError(f"Models nested in a Keras 3 functional model ({nested}) are not supported "
                                         "by minikeras's Keras 3 loader; tf_keras `.h5` files with nested models load",
                                         filepath)
    layers: List[Dict[str, Any]] = []
    for entry in inner["layers"]:
        name, class_name = entry["name"], entry.get("class_name")
        if _is_op_entry(entry):
            if class_name not in MASK_OPS:
                raise _refuse_op(name, class_name, "the model", filepath)
            continue  # checked where a layer uses it as its mask
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ConfigError(f"Invalid inbound_nodes of layer {name!r}: expected a list", filepath)
        if fmt == 3:
            nodes = [_convert_node(graph, name, class_name, n, filepath) for n in nodes]
        else:
            nodes = [_keras2_node(name, n, filepath) for n in nodes]
        if fmt == 3 and class_name in ("Bidirectional", "TimeDistributed"):
            # NOTE: minikeras.saving.keras3 imports this module: a real cycle
            from minikeras.saving.keras3 import _fix_bidirectional

            entry = _fix_bidirectional(entry)  # Keras 3's `forward_`/`backward_` name prefixes
        norm = normalize_layer_entry(entry)
        layers.append({"class_name": norm["class_name"], "config": norm["config"], "name": name,
                       "inbound_nodes": nodes})
    out_inner = {"name": inner.get("name"), "trainable": inner.get("trainable", True), "layers": layers,
                 "input_layers": _io_refs(inner.get("input_layers"), "input_layers", filepath),
                 "output_layers": _io_refs(inner.get("output_layers"), "output_layers", filepath)}
    for key in ("input_layers", "output_layers"):
        refs = out_inner[key].values() if isinstance(out_inner[key], dict) else out_inner[key]
        for ref in refs:
            if graph.is_op(ref[0]):
                raise _refuse_op(ref[0], graph.by_name[ref[0]].get("class_name"), f"`{key}`", filepath)
    _check_refs(out_inner, filepath)
    return {"class_name": "Functional", "config": out_inner}


def _check_refs(inner: Dict[str, Any], filepath: Any) -> None:
    """Every `[layer, node_index, tensor_index]` names a layer of the config and one of its nodes."""
    nodes = {e["name"]: (1 if e["class_name"] == "InputLayer" else len(e["inbound_nodes"])) for e in inner["layers"]}
    offsets = {e["name"]: _node_offset(e) for e in inner["layers"]}

    def check(ref: Sequence[Any], where: str) -> None:
        if ref[0] not in nodes:
            raise ConfigError(f"Invalid functional config: {where} refers to the unknown layer {ref[0]!r}", filepath)
        if not offsets[ref[0]] <= ref[1] < nodes[ref[0]] + offsets[ref[0]] or ref[2] < 0:
            raise ConfigError(f"Invalid functional config: {where} refers to node {ref[1]} of {ref[0]!r}, which "
                              f"has {nodes[ref[0]]} node(s)", filepath)

    for e in inner["layers"]:
        for node in e["inbound_nodes"]:
            for ref in node:
                check(ref, f"layer {e['name']!r}")
    for key in ("input_layers", "output_layers"):
        refs = inner[key].values() if isinstance(inner[key], dict) else inner[key]
        for ref in refs:
            check(ref, f"`{key}`")
            if key == "input_layers" and [e["class_name"] for e in inner["layers"] if e["name"] == ref[0]] != [
                    "InputLayer"]:
                raise UnsupportedConfigError(f"Model input {ref[0]!r} is not an InputLayer; minikeras builds "
                                             "functional models from Input tensors", filepath)


def _keras2_node(name: str, node: Any, filepath: Any) -> List[List[Any]]:
    """A Keras 2 node: `[[layer, node, tensor, {kwargs}], ...]`; Keras <= 2.1 wrote 3-element entries."""
    if not isinstance(node, list) or not node:
        raise ConfigError(f"Invalid inbound node of layer {name!r}: expected a list of [layer_name, node_index, "
                          f"tensor_index, kwargs]. Received: {str(node)[:200]}", filepath)
    out = []
    for ref in node:
        if not _is_ref(ref) or (len(ref) == 4 and not isinstance(ref[3], dict)):
            raise ConfigError(f"Invalid inbound node of layer {name!r}: expected [layer_name, node_index, "
                              f"tensor_index, kwargs]. Received: {str(ref)[:200]}", filepath)
        kwargs = dict(ref[3]) if len(ref) == 4 else {}  # may hold [layer, node, tensor] refs (tf_keras)
        out.append([ref[0], ref[1], ref[2], kwargs])
    return out


# ------------------------------------------------------------------------------------------ Keras 2 -> Keras 3

TensorSpec = Callable[[str, int, int], Tuple[List[Optional[int]], str]]


def _k3_tensor(ref: Sequence[Any], spec: TensorSpec) -> Dict[str, Any]:
    shape, dtype = spec(ref[0], ref[1], ref[2])
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(shape), "dtype": dtype, "keras_history": [ref[0], ref[1], ref[2]]}}


def keras2_node_to_keras3(class_name: str, node: List[List[Any]], spec: TensorSpec) -> Dict[str, Any]:
    """One tf_keras node -> Keras 3's `{"args", "kwargs"}`: RNN states go to `initial_state`, several tensors of
    any other layer are one list argument (merge layers)."""
    kwargs = dict(node[0][3]) if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    tensors = [_k3_tensor(r, spec) for r in node]
    if class_name in _STATEFUL_CALL and len(tensors) > 1:
        return {"args": [tensors[0]], "kwargs": {**kwargs, "initial_state": tensors[1:]}}
    if len(tensors) == 1:
        return {"args": [tensors[0]], "kwargs": kwargs}
    return {"args": [tensors], "kwargs": kwargs}


def _k3_io(refs: Any, single: bool) -> Any:
    if isinstance(refs, dict):
        return {k: list(v[:3]) for k, v in refs.items()}
    refs = [list(r[:3]) for r in refs]
    return refs[0] if single and len(refs) == 1 else refs


def keras2_to_keras3(config: Dict[str, Any], layer_entry: Callable[[Dict[str, Any]], Dict[str, Any]],
                     spec: TensorSpec, single_input: bool = True, single_output: bool = True) -> Dict[str, Any]:
    """The inner config of a tf_keras-form functional model -> Keras 3's `Functional` `config` dict.

    `layer_entry(layer_config_entry)` gives Keras 3's `{"module", "class_name", "config", "registered_name"
    [, "build_config"]}` for one layer; `spec(layer, node, tensor)` gives a tensor's `(shape, dtype)`. Keras 3
    writes `input_layers`/`output_layers` as one `[name, 0, 0]` when the model was given a single tensor."""
    layers = []
    for entry in config["layers"]:
        out = dict(layer_entry(entry))
        out["name"] = entry["name"]
        out["inbound_nodes"] = [keras2_node_to_keras3(entry["class_name"], n, spec)
                                for n in entry.get("inbound_nodes") or []]
        layers.append(out)
    return {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": layers,
            "input_layers": _k3_io(config["input_layers"], single_input),
            "output_layers": _k3_io(config["output_layers"], single_output)}


# ------------------------------------------------------------------------------------------ layer order


def _kwarg_refs(obj: Any) -> List[List[Any]]:
    """Tensor refs `[layer, node, tensor]` inside tf_keras call kwargs, in `tree.flatten` order."""
    if _is_ref(obj) and len(obj) == 3:
        return [obj]
    if isinstance(obj, dict):
        return [r for k in sorted(obj) for r in _kwarg_refs(obj[k])]
    if isinstance(obj, list):
        return [r for v in obj for r in _kwarg_refs(v)]
    return []


def layer_order(config: Dict[str, Any]) -> List[str]:
    """Names of the layers (operations left out) in Keras's `model.layers` order, from a functional config in
    either form: layers by decreasing depth in the graph, ties in the order a depth-first walk from the outputs
    first meets them (`keras/src/ops/function.py` `map_graph`, the same rule as tf_keras's `_map_graph_network`).

    Keras 3 names a functional model's weight groups by class in this order (`layers/dense`, `layers/dense_1`),
    so this order, not the layer names, decides which weights a `.weights.h5` group holds."""
    inner = config.get("config", config)
    by_name = {e["name"]: e for e in inner["layers"]}

    def parents(name: str, index: int) -> List[Tuple[str, int]]:
        entry = by_name[name]
        nodes = entry.get("inbound_nodes") or []
        if entry.get("class_name") == "InputLayer" or index >= len(nodes):
            return []
        if nodes and not isinstance(nodes[0], dict):
            index -= _node_offset(entry)  # tf_keras's numbering of nested models
            if not 0 <= index < len(nodes):
                return []
        node = nodes[index]
        if isinstance(node, dict):
            refs = [(t["config"]["keras_history"][0], t["config"]["keras_history"][1])
                    for t in _flatten([node.get("args") or [], node.get("kwargs") or {}]) if is_keras_tensor(t)]
        else:
            refs = []
            for r in node:
                refs.append((r[0], r[1]))
                refs.extend((k[0], k[1]) for k in _kwarg_refs(r[3] if len(r) > 3 else {}))
        return refs

    outputs = inner["output_layers"]
    outputs = list(outputs.values()) if isinstance(outputs, dict) else ([outputs] if _is_ref(outputs) else outputs)
    inputs = inner["input_layers"]
    inputs = list(inputs.values()) if isinstance(inputs, dict) else ([inputs] if _is_ref(inputs) else inputs)
    input_nodes = {(r[0], r[1]) for r in inputs}
    order: Dict[str, int] = {}
    finished: List[Tuple[str, int]] = []
    done = set()
    in_progress = set()

    def visit(node: Tuple[str, int]) -> None:
        # iterative DFS keeping Keras's pre-order numbering and post-order node list
        stack: List[Tuple[Tuple[str, int], int]] = [(node, 0)]
        while stack:
            current, child = stack.pop()
            if child == 0:
                if current in done:
                    continue
                if current in in_progress:
                    raise ConfigError(f"Invalid functional config: layer {current[0]!r} is part of a cycle")
                if current[0] not in by_name:
                    raise ConfigError(f"Invalid functional config: unknown layer {current[0]!r}")
                in_progress.add(current)
                order.setdefault(current[0], len(order))
            kids = [] if current in input_nodes else parents(*current)
            while child < len(kids) and kids[child] in done:
                child += 1
            if child < len(kids):
                stack.append((current, child + 1))
                stack.append((kids[child], 0))
            elif current not in done:
                in_progress.discard(current)
                done.add(current)
                finished.append(current)

    for ref in outputs:
        visit((ref[0], ref[1]))
    node_depth: Dict[Tuple[str, int], int] = {}
    layer_depth: Dict[str, int] = {}
    for node in reversed(finished):
        depth = node_depth.setdefault(node, 0)
        layer_depth[node[0]] = max(depth, layer_depth.get(node[0], 0))
        node_depth[node] = layer_depth[node[0]]
        if node in input_nodes:
            continue
        for parent in parents(*node):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    names = sorted(layer_depth, key=lambda n: (-layer_depth[n], order[n]))
    return [n for n in names if not _is_op_entry(by_name[n])]


# Keras 3 passes a tensor's mask to the next call as `mask=` only for layers whose `call` takes one, and the mask
# reaches it through layers that hand masks on; the operations it records then change the graph's depths, hence
# `model.layers` order, hence the `.weights.h5` group names. These tables follow Keras 3.15's layers.
_K3_CALL_TAKES_MASK = ("LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "TimeDistributed",
                       "GlobalAveragePooling1D", "GlobalMaxPooling1D")
_K3_MASK_PASSTHROUGH = ("Dense", "Dropout", "SpatialDropout1D", "Activation", "GaussianNoise", "GaussianDropout",
                        "ActivityRegularization")


def keras3_graph_order(config: Dict[str, Any]) -> List[str]:
    """Keras 3's `model.layers` order for a tf_keras-form functional config, with the mask operations Keras 3
    records when it rebuilds the model (`NotEqual` after an `Embedding(mask_zero=True)`, `NotEqual` + `Any` after
    a `Masking`) put in as Keras 3 puts them: as the `mask=` of the next call that takes a mask."""
    inner = copy.deepcopy(config.get("config", config))
    by_name = {e["name"]: e for e in inner["layers"]}
    ops: List[Dict[str, Any]] = []
    made: Dict[Tuple[str, int], List[Any]] = {}

    def origin(ref: Sequence[Any]) -> Optional[Tuple[str, int]]:
        for _ in range(len(by_name) + 1):
            entry = by_name.get(ref[0])
            if entry is None or entry["class_name"] == "InputLayer":
                return None
            cfg, cls = entry.get("config") or {}, entry["class_name"]
            if (cls == "Embedding" and cfg.get("mask_zero")) or cls == "Masking":
                return ref[0], ref[1]
            seq = cls in _RETURN_SEQUENCE_MASK and cfg.get("return_sequences") and ref[2] == 0
            if cls not in _K3_MASK_PASSTHROUGH and not seq:
                return None
            index = ref[1] - _node_offset(entry)
            if not 0 <= index < len(entry["inbound_nodes"]):
                return None
            ref = entry["inbound_nodes"][index][0]
        return None

    def mask_ref(key: Tuple[str, int]) -> List[Any]:
        if key not in made:
            entry = by_name[key[0]]
            source = entry["inbound_nodes"][key[1] - _node_offset(entry)][0][:3]
            ref = list(source)
            chain = ["NotEqual"] + (["Any"] if entry["class_name"] == "Masking" else [])
            for k, cls in enumerate(chain):
                name = f"__mask_{len(ops)}"
                ops.append({"module": "keras.src.ops.numpy", "class_name": cls, "name": name,
                            "inbound_nodes": [[list(ref) + [{}]]]})
                ref = [name, 0, 0]
            made[key] = ref
        return made[key]

    for entry in inner["layers"]:
        if entry["class_name"] not in _K3_CALL_TAKES_MASK:
            continue
        for node in entry.get("inbound_nodes") or []:
            key = origin(node[0])
            if key is not None and len(node[-1]) > 3 and isinstance(node[-1][3], dict) and "mask" not in node[-1][3]:
                node[-1][3]["mask"] = mask_ref(key)  # after `initial_state` tensors, as Keras's sorted kwargs
    inner["layers"] = inner["layers"] + ops
    return layer_order(inner)


def keras3_layers(model: Any) -> List[Any]:
    """`model.layers` in the order Keras 3 has them for this model (its `.weights.h5` group names follow it): the
    order read from the Keras 3 file the model came from, else the one Keras 3 will compute when it rebuilds it."""
    if not is_functional(model):
        return list(model.layers)
    names = getattr(model, "_keras3_layer_order", None) or keras3_graph_order(model.get_config())
    by_name = {l.name: l for l in model.layers}
    if sorted(names) != sorted(by_name):
        return list(model.layers)
    return [by_name[n] for n in names]


# ------------------------------------------------------------------------------------------ models


def functional_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None,
                           filepath: Any = None) -> Any:
    """Build a functional model from a file's `{"class_name": "Functional" | "Model", "config": ...}`, in the
    tf_keras form or Keras 3's (`.keras` config.json, Keras 3's legacy `.h5`)."""
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"Model config is nested deeper than {MAX_CONFIG_DEPTH} levels; refusing to build it",
                          filepath)
    _check_sizes(config)
    k2 = keras3_to_keras2(config, filepath)
    model = Functional.from_config(k2["config"], custom_objects=custom_objects)
    if any(_is_op_entry(e) for e in config["config"]["layers"]):
        # Keras wrote its operation nodes: the exact order of its graph, for `.weights.h5` group names (without
        # them, as in minikeras's files, `keras3_layers` puts in the ones Keras 3 adds when it rebuilds the model)
        model._keras3_layer_order = layer_order(config)
    return model


def is_functional(model: Any) -> bool:
    """A functional model (`Model(inputs, outputs)`), not a Sequential."""
    return isinstance(model, Functional) and not isinstance(model, Sequential)


def _network_nodes(model: Any) -> Dict[str, List[int]]:
    """layer name -> the indices in `layer._inbound_nodes` of its calls inside `model`, in call order (the node
    indices of the model's config count only these, as tf_keras's `node_conversion_map`)."""
    seen: Dict[str, set] = {}
    stack = list(model.outputs)
    inputs = {id(t) for t in model.inputs}
    while stack:
        t = stack.pop()
        layer, node_index, _ = t._keras_history
        if node_index in seen.setdefault(layer.name, set()):
            continue
        seen[layer.name].add(node_index)
        if id(t) in inputs:
            continue
        node = layer._inbound_nodes[node_index]
        stack.extend(getattr(node, "keras_inputs", []))
    return {name: sorted(idx) for name, idx in seen.items()}


def _tensor_spec(model: Any) -> TensorSpec:
    layers = {l.name: l for l in model.layers}
    nodes = _network_nodes(model)

    def spec(name: str, node_index: int, tensor_index: int) -> Tuple[List[Optional[int]], str]:
        layer = layers[name]
        real = nodes[name][node_index]
        t = flatten(layer._inbound_nodes[real].outputs)[tensor_index]
        return [None if d is None else int(d) for d in t.shape], str(t.dtype)
    return spec


def check_keras3_writable(model: Any) -> None:
    """Keras 3 files of a functional model with a nested model keep the inner model's layers under
    `layers/<model>/layers/...`, which minikeras does not write or read: refuse rather than lose weights."""
    nested = [l.name for l in getattr(model, "layers", []) if isinstance(l, Model)]
    if nested:
        raise UnsupportedConfigError(f"Model {model.name!r} contains the nested model(s) {nested}; minikeras writes "
                                     "and reads such models only as tf_keras `.h5` files. Save it as `.h5`.")


def model_config_keras3(model: Any) -> Dict[str, Any]:
    """`config.json` of a functional model as Keras 3.15.1 writes it (`keras.src.models.functional`)."""
    # NOTE: minikeras.saving.keras3 imports this module: a real cycle
    from minikeras.saving import keras3

    check_keras3_writable(model)
    spec = _tensor_spec(model)
    layers = {l.name: l for l in model.layers}

    def entry(e: Dict[str, Any]) -> Dict[str, Any]:
        layer = layers[e["name"]]
        if e["class_name"] == "InputLayer":
            shape, dtype = spec(e["name"], 0, 0)
            return {"module": "keras.layers", "class_name": "InputLayer",
                    "config": {"batch_shape": shape, "dtype": dtype, "sparse": False, "ragged": False,
                               "name": e["name"], "optional": False}, "registered_name": None}
        out = keras3._k3_layer_entry(layer)
        nodes = e.get("inbound_nodes") or []
        if nodes and len(nodes[0]) > 1:
            # Keras 3 builds merge layers and RNNs called with states from the call itself; a one-shape
            # build_config would build them wrongly.
            out.pop("build_config", None)
        elif nodes and "build_config" in out:
            out["build_config"] = {"input_shape": spec(*nodes[0][0][:3])[0]}
        return out

    k2 = model.get_config()
    single_in = not isinstance(model._nested_inputs, (list, tuple, dict))
    single_out = not isinstance(model._nested_outputs, (list, tuple, dict))
    inner = keras2_to_keras3(k2, entry, spec, single_input=single_in, single_output=single_out)
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": inner,
            "registered_name": "Functional", "build_config": {"input_shape": None},
            "compile_config": keras3._compile_config(model) or {}}


__all__ = ["MASK_OPS", "functional_from_config", "model_config_keras3", "check_keras3_writable", "is_functional",
           "keras3_to_keras2",
           "keras2_to_keras3", "keras2_node_to_keras3", "layer_order", "node_format", "is_keras_tensor"]
