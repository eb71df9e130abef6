"""`Functional`: a model defined by a graph of layer calls (Keras 2's `keras.engine.functional`).

`Model(inputs, outputs)` with KerasTensors from `Input(...)` and layer calls maps the graph once (nodes sorted by
depth, as tf.keras's `_map_graph_network`), then every call replays the nodes on data. `Sequential` is a
`Functional` whose graph is a chain. Configs are tf.keras 2's: `layers` with `inbound_nodes`, `input_layers`,
`output_layers`.
"""
from __future__ import annotations

import collections
import copy
import json
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from minikeras import __keras_version__, __version__, backend
from minikeras.autograd import Tensor, ops
from minikeras.autograd.tensor import is_grad_enabled
from minikeras.autograd.threads import compute_scope
from minikeras.engine.base_layer import Layer
from minikeras.engine.input_layer import InputLayer
from minikeras.engine.keras_tensor import KerasTensor, flatten, is_shape, map_structure, pack_sequence_as
from minikeras.engine.training import Model
from minikeras.layers import deserialize as deserialize_layer, serialize as serialize_layer
from minikeras.legacy import interfaces


def _make_node_key(layer_name: str, node_index: int) -> str:
    return f"{layer_name}_ib-{node_index}"


class Functional(Model):
    """A model made of the layer calls between symbolic `inputs` and `outputs` (what `Model(inputs, outputs)`
    returns).

    Args:
        inputs: the model's input(s): a KerasTensor from `Input(...)`, or a list or dict of them.
        outputs: the model's output(s): KerasTensor(s) computed from the inputs by layer calls, as a single
            tensor, a list or a dict. `model(x)` and `predict` return the same structure.
        name: model name (default `model`, `model_1`, ...).
        trainable: whether the model's weights are trained.

    Layers called more than once share their weights; each call is a node (`layer.get_output_at(i)`).
    Sub-models built from the same tensors (`Model(encoder_inputs, encoder_states)`) share layers and weights.

    >>> from minikeras import Input, Model
    >>> from minikeras.layers import Dense, LSTM, concatenate
    >>> text = Input(shape=(None, 8), name="text")
    >>> numbers = Input(shape=(3,), name="numbers")
    >>> merged = concatenate([LSTM(4)(text), Dense(2)(numbers)])
    >>> model = Model([text, numbers], Dense(1, activation="sigmoid")(merged))
    >>> model.output_shape
    (None, 1)
    """

    @interfaces.legacy_model_constructor_support  # Keras 1's Model(input=, output=), as Keras 2.0-2.2
    def __init__(self, inputs: Any, outputs: Any, name: Optional[str] = None, trainable: bool = True,
                 **kwargs: Any):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        super().__init__(name=name, trainable=trainable)
        self._init_graph_network(inputs, outputs)

    def _default_name(self) -> str:
        if type(self) is Functional:
            uid = backend.get_uid("model")  # tf.keras names functional models model, model_1, ...
            return "model" if uid == 1 else f"model_{uid - 1}"
        return super()._default_name()

    # ------------------------------------------------------------------ the graph
    def _init_graph_network(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, list) and len(flatten(inputs)) == 1:
            inputs = inputs[0]
        if isinstance(outputs, list) and len(flatten(outputs)) == 1:
            outputs = outputs[0]
        self._nested_inputs = inputs
        self._nested_outputs = outputs
        self.inputs: List[KerasTensor] = flatten(inputs)
        self.outputs: List[KerasTensor] = flatten(outputs)
        self._validate_graph_inputs_and_outputs()

        self._input_layers: List[Layer] = []
        self._input_coordinates: List[Tuple[Layer, int, int]] = []
        self._output_layers: List[Layer] = []
        self._output_coordinates: List[Tuple[Layer, int, int]] = []
        for x in self.outputs:
            layer, node_index, tensor_index = x._keras_history
            self._output_layers.append(layer)
            self._output_coordinates.append((layer, node_index, tensor_index))
        for x in self.inputs:
            layer, node_index, tensor_index = x._keras_history
            self._input_layers.append(layer)
            self._input_coordinates.append((layer, node_index, tensor_index))

        nodes, nodes_by_depth, layers = _map_graph_network(self.inputs, self.outputs)
        self._network_nodes = nodes
        self._nodes_by_depth = nodes_by_depth
        self._depth_keys = sorted(nodes_by_depth, reverse=True)
        self._layers[:] = layers
        self._plan = _ExecutionPlan(self.inputs, self.outputs, self._depth_keys, nodes_by_depth)
        self.input_names = [layer.name for layer in self._input_layers]
        self._set_output_names()
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)
        self.input_spec = None

    def _validate_graph_inputs_and_outputs(self) -> None:
        if len({id(i) for i in self.inputs}) != len(self.inputs):
            raise ValueError("The list of inputs passed to the model contains the same input multiple times. All "
                             f"inputs should only appear once. Received inputs={self.inputs}")
        for x in self.inputs:
            if not isinstance(x, KerasTensor) or x._keras_history is None:
                raise ValueError(f"Input tensors to a {type(self).__name__} model must come from `keras.Input`. "
                                 f"Received inputs={x!r} (missing previous layer metadata).")
            layer = x._keras_history.layer
            if not isinstance(layer, InputLayer):
                raise ValueError(f"{type(self).__name__} model inputs must come from `keras.Input` (thus holding "
                                 "past layer metadata). They cannot be the output of a previous non-Input layer. "
                                 f'Here, a tensor specified as input to "{self.name}" was not an Input tensor, it '
                                 f'was generated by layer "{layer.name}". Note that input tensors are instantiated '
                                 f"via `tensor = keras.Input(shape)`. The tensor that caused the issue was: {x!r}")
        for x in self.outputs:
            if not isinstance(x, KerasTensor) or x._keras_history is None:
                raise ValueError(f"Output tensors of a {type(self).__name__} model must be the output of a Keras "
                                 f"`Layer` (thus holding past layer metadata). Found: {x!r}")

    def _set_output_names(self) -> None:
        """Unique names for the outputs: the layer names, `_1`, `_2`, ... for a layer with several outputs."""
        uniquified: List[str] = []
        seen = set()
        prefix_count: Dict[str, int] = {}
        for layer in self._output_layers:
            proposal = layer.name
            while proposal in seen:
                count = prefix_count.get(layer.name, 1)
                proposal = f"{layer.name}_{count}"
                prefix_count[layer.name] = count + 1
            seen.add(proposal)
            uniquified.append(proposal)
        self._output_names = uniquified

    @property
    def output_names(self) -> List[str]:  # type: ignore[override]
        """Names of the outputs, used for per-output losses and metrics and in History keys (tf.keras)."""
        return list(self._output_names)

    @property
    def input(self) -> Any:
        """The model's input tensor(s), as given to the constructor."""
        return self._nested_inputs

    @property
    def output(self) -> Any:
        """The model's output tensor(s), as given to the constructor."""
        return self._nested_outputs

    @property
    def input_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self._nested_inputs)

    @property
    def output_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self._nested_outputs)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """The layer called `name`, or at position `index` in `model.layers`."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built when it is created (its layers were built by the symbolic calls)."""
        self.built = True

    # ------------------------------------------------------------------ running the graph
    def _flatten_to_reference_inputs(self, data: Any) -> List[Any]:
        if isinstance(data, dict):
            names = sorted(self._nested_inputs) if isinstance(self._nested_inputs, dict) else self.input_names
            extra = [k for k in data if k not in names]
            if extra:
                warnings.warn(f"Input dict contained keys {extra} which did not match any model input. They will be "
                              "ignored by the model.", stacklevel=4)
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"Model '{self.name}' is missing data for inputs {missing}: expected a dict with "
                                 f"keys {names}. Received: keys {list(data)}")
            return [data[n] for n in names]
        return flatten(data)

    def _convert_input(self, x: Any) -> Any:
        flat = self._flatten_to_reference_inputs(x)
        if len(flat) != len(self.inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it received '
                             f"{len(flat)} input tensors. Inputs received: "
                             f"{[getattr(v, 'shape', type(v).__name__) for v in flat]}")
        out = []
        for index, (value, (ref_dtype, expected)) in enumerate(zip(flat, self._plan.input_refs)):
            if isinstance(value, Tensor):
                if value.dtype != ref_dtype and value.dtype.kind == "f" and ref_dtype.kind == "f":
                    value = ops.cast(value, ref_dtype.name)
            else:
                arr = np.asarray(value)
                if arr.dtype == object:
                    raise TypeError(f"Model '{self.name}' expects numeric input, expected a numeric array for input "
                                    f"{index} ('{self.input_names[index]}'). Received: an array of dtype object "
                                    "(ragged or non-numeric data)")
                ref_kind = ref_dtype.kind
                # NOTE: floats take the input's dtype (tf.keras's cast); integer ids stay exact integers, so an
                # Embedding after a float input declaration still sees ids above 2**24 unchanged
                if arr.dtype.kind == "f" or (ref_kind in "iu" and arr.dtype.kind not in "iu"):
                    arr = arr.astype(ref_dtype, copy=False)
                value = Tensor._wrap(arr, False)
            # tf.keras: (batch, ..., 1) and (batch, ...) data are interchangeable (the Input's rank wins)
            if value.ndim == len(expected) + 1 and value.shape[-1] == 1:
                value = value.squeeze(-1)
            elif value.ndim == len(expected) - 1 and expected[-1] == 1:
                value = value.expand_dims(-1)
            shape = tuple(value.shape)
            # NOTE: the batch axis is not checked (tf.keras's input_spec leaves it out)
            if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], shape[1:])):
                raise ValueError(f'Input {index} of layer "{self.name}" is incompatible with the layer: expected '
                                 f"shape={expected}, found shape={shape}")
            out.append(value)
        return out

    def _plain_chain(self) -> Optional[List[Layer]]:
        """The layers in order when this model is a plain chain: one input, one output, each layer called once on
        the previous one's output with no other argument, every layer's `__call__` plain for one Tensor
        (`base_layer._plain_for_one_tensor`) and every layer pure at inference (`Layer._pure_for_inference`: no
        state written, one Tensor out, no Keras mask). None otherwise."""
        plan = self._plan
        if plan.n_inputs != 1 or len(plan.output_slots) != 1:
            return None
        layers, slot = [], 0
        for layer, in_slot, node, const_kwargs, out_slots in plan.steps:
            if in_slot != slot or const_kwargs or len(out_slots) != 1 \
                    or not getattr(type(layer).__call__, "_plain_for_one_tensor", False) \
                    or not layer._pure_for_inference():
                return None
            layers.append(layer)
            slot = out_slots[0]
        return layers if plan.output_slots[0] == slot else None

    def _run_plain_chain(self, value: Tensor) -> Optional[Tensor]:
        """The output of a plain chain (`_plain_chain`) for one converted input without a Keras mask, in inference
        (`no_grad`): the layers run through `Layer._call_for_inference`, the same `call`s on the same Tensors
        without the symbolic checks, mask plumbing and per-layer compute scopes of the general call. None when the
        model is not such a chain or a layer declines: then the general path runs, and since every layer of a
        chain is pure, running one again has no effect."""
        layers = self._plain_chain()
        if layers is None or getattr(value, "_keras_mask", None) is not None:
            return None
        with compute_scope():
            for layer in layers:
                value = layer._call_for_inference(value)
                if value is None:
                    return None
        return value

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        flat = inputs if isinstance(inputs, list) else self._convert_input(inputs)
        if mask is None and not training and not is_grad_enabled() and len(flat) == 1:
            # inference (`predict`, `predict_on_batch`, a call under `no_grad`): a plain chain of layers runs their
            # maths directly, which is most of a one-sample predict's saving over the general replay
            out = self._run_plain_chain(flat[0])
            if out is not None:
                self._call_output_masks = [None]
                return out if isinstance(self._nested_outputs, KerasTensor) else \
                    pack_sequence_as(self._nested_outputs, [out])
        if mask is not None:
            for value, m in zip(flat, flatten(mask)):
                if m is not None:
                    value._keras_mask = np.asarray(m.data if isinstance(m, Tensor) else m, dtype=bool)
        outputs = self._plan.run(flat, training)
        self._call_output_masks = [getattr(o, "_keras_mask", None) for o in outputs]
        if isinstance(self._nested_outputs, KerasTensor):
            return outputs[0]
        return pack_sequence_as(self._nested_outputs, outputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The Keras masks of the outputs of the call that just ran."""
        masks = self.__dict__.pop("_call_output_masks", None)
        if masks is None:
            return None
        return masks if len(masks) > 1 else masks[0]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape(s) for input shape(s): the layers' `compute_output_shape` along the graph."""
        shapes = _flatten_shapes(input_shape)
        if len(shapes) != len(self.inputs):
            raise ValueError(f'Layer "{self.name}" expects {len(self.inputs)} input(s), but it received '
                             f"{len(shapes)} input shapes. Received: input_shape={input_shape}")
        shape_dict: Dict[int, Any] = {id(ref): s for ref, s in zip(self.inputs, shapes)}
        for depth in self._depth_keys:
            for node in self._nodes_by_depth[depth]:
                if node.is_input or any(i not in shape_dict for i in node.flat_input_ids):
                    continue
                in_shapes = map_structure(lambda t: shape_dict[id(t)], node.call_args[0])
                out = node.layer.compute_output_shape(in_shapes)
                for key, s in zip(node.flat_output_ids, _flatten_shapes(out)):
                    shape_dict[key] = s
        return pack_sequence_as(self._nested_outputs, [shape_dict[id(t)] for t in self.outputs])

    # ------------------------------------------------------------------ config
    def get_config(self) -> Dict[str, Any]:
        """tf.keras 2's functional config: `name`, `trainable`, `layers` (each with `inbound_nodes`),
        `input_layers`, `output_layers`."""
        return copy.deepcopy(get_network_config(self, {"name": self.name, "trainable": self.trainable}))

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "Functional":
        """Rebuild a functional model from `get_config()` output (tf.keras 2's format). Only Keras's layers (and
        `custom_objects`) are built; `Lambda` is refused."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("Invalid functional model config: expected a dict with a list under 'layers'. "
                             f"Received: {str(config)[:200]}")
        inputs, outputs, _ = reconstruct_from_config(config, custom_objects)
        model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
        if config.get("trainable") is False:
            model.trainable = False
        return model

    def to_json(self, **kwargs: Any) -> str:
        """`{"class_name": "Functional" (or "Sequential"), "config": ..., "keras_version", "backend"}` as JSON."""
        # NOTE: the class name as tf_keras writes it (`self.__class__.__name__`), so Sequential shares this method
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config(),
                           "keras_version": __keras_version__, "backend": "tensorflow",
                           "minikeras_version": __version__}, **kwargs)

    # ------------------------------------------------------------------ files
    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
             save_format: Optional[str] = None, **kwargs: Any) -> None:
        """Save the whole model: `.keras` (Keras 3 zip) or `.h5` (tf.keras HDF5), atomically."""
        # NOTE: minikeras.saving imports minikeras.engine: a real cycle
        from minikeras import saving

        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to save: {kwargs}")
        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                          save_format=save_format)

    def save_weights(self, filepath: Any, overwrite: bool = True, save_format: Optional[str] = None) -> None:
        """Save the weights: `.weights.h5` (Keras 3 layout) or `.h5` (tf.keras legacy layout), atomically."""
        # NOTE: minikeras.saving imports minikeras.engine: a real cycle
        from minikeras import saving

        saving.save_weights(self, filepath, overwrite=overwrite, save_format=save_format)

    def load_weights(self, filepath: Any, by_name: bool = False, skip_mismatch: bool = False) -> None:
        """Load weights Keras (1, 2 or 3) or minikeras saved; all-or-nothing (a failed load changes nothing)."""
        # NOTE: minikeras.saving imports minikeras.engine: a real cycle
        from minikeras import saving

        if not self.built:
            raise ValueError("Unable to load weights into a model that has not been built yet: call "
                             "`model.build(input_shape)` or call the model on data first.")
        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


# ---------------------------------------------------------------------------------------------- helpers
class _ExecutionPlan:
    """The graph's nodes in execution order, with integer slots for the tensors, made once per graph.

    Running the model fills a list of slots instead of walking nodes and nested structures: slot `i` of the
    inputs is the model's input `i`; each step reads its input slot(s), calls its layer and writes its output
    slot(s). A node whose inputs the model's inputs do not determine is left out (it never runs).
    """

    def __init__(self, inputs: List[KerasTensor], outputs: List[KerasTensor], depth_keys: List[int],
                 nodes_by_depth: Dict[int, list]):
        slots: Dict[int, int] = {id(t): i for i, t in enumerate(inputs)}
        self.n_inputs = len(inputs)
        # what each model input accepts: (dtype, shape), read on every call to convert and check the data
        self.input_refs = [(np.dtype(t.dtype), t.shape) for t in inputs]
        # one step: (layer, input slot or -1, node (for nested calls) or None, constant kwargs, output slots)
        self.steps: List[Tuple[Any, int, Any, Dict[str, Any], List[int]]] = []
        for depth in depth_keys:
            for node in nodes_by_depth[depth]:
                if node.is_input or any(i not in slots for i in node.flat_input_ids):
                    continue
                out_slots = []
                for key in node.flat_output_ids:
                    slots[key] = len(slots)
                    out_slots.append(slots[key])
                if node._single_input_id is not None:
                    self.steps.append((node.layer, slots[node._single_input_id], None, dict(node.call_kwargs),
                                       out_slots))
                else:
                    self.steps.append((node.layer, -1, node, {}, out_slots))
        self.slots = slots
        self.n_slots = len(slots)
        self.output_slots = [slots[id(t)] for t in outputs]

    def run(self, flat_inputs: List[Any], training: Optional[bool]) -> List[Any]:
        values: List[Any] = list(flat_inputs) + [None] * (self.n_slots - self.n_inputs)
        slots = self.slots
        for layer, in_slot, node, const_kwargs, out_slots in self.steps:
            if in_slot >= 0:
                kwargs = dict(const_kwargs) if const_kwargs else {}
                if training is not None:
                    kwargs.setdefault("training", training)
                result = layer(values[in_slot], **kwargs)
            else:
                args, kwargs = node.map_arguments({key: values[slots[key]] for key in node.flat_input_ids})
                if training is not None:
                    kwargs.setdefault("training", training)
                result = layer(*args, **kwargs)
            if isinstance(result, Tensor):
                values[out_slots[0]] = result
            else:
                for slot, value in zip(out_slots, flatten(result)):
                    values[slot] = value
        return [values[i] for i in self.output_slots]


def _flatten_shapes(shape: Any) -> List[Tuple[Optional[int], ...]]:
    if is_shape(shape):
        return [tuple(shape)]
    if isinstance(shape, dict):
        return [s for k in sorted(shape) for s in _flatten_shapes(shape[k])]
    return [s for item in shape for s in _flatten_shapes(item)]


def _map_graph_network(inputs: List[KerasTensor], outputs: List[KerasTensor]) -> Tuple[set, Dict[int, list], list]:
    """The nodes and layers between `inputs` and `outputs`, by depth (tf.keras's `_map_graph_network`).

    Returns `(network_node_keys, nodes_by_depth, layers)`; layers are ordered from the inputs to the outputs.
    Raises "Graph disconnected" when an output needs a tensor that the inputs do not determine.
    """
    finished: set = set()
    in_progress: set = set()
    nodes_in_decreasing_depth: List[Any] = []
    layer_indices: Dict[Any, int] = {}

    def build_map(tensor: KerasTensor) -> None:
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if node in finished:
            return
        if node in in_progress:
            raise ValueError(f'Tensor {tensor!r} from layer "{layer.name}" is part of a cycle.')
        if layer not in layer_indices:
            layer_indices[layer] = len(layer_indices)
        in_progress.add(node)
        if not node.is_input:
            for t in node.keras_inputs:
                build_map(t)
        finished.add(node)
        in_progress.remove(node)
        nodes_in_decreasing_depth.append(node)

    for output in outputs:
        build_map(output)
    network_nodes = {_make_node_key(n.layer.name, n.layer._inbound_nodes.index(n)) for n in nodes_in_decreasing_depth}

    nodes_depths: Dict[Any, int] = {}
    layers_depths: Dict[Any, int] = {}
    for node in reversed(nodes_in_decreasing_depth):
        depth = nodes_depths.setdefault(node, 0)
        depth = max(depth, layers_depths.get(node.layer, 0))
        layers_depths[node.layer] = depth
        nodes_depths[node] = depth
        for parent in node.parent_nodes:
            nodes_depths[parent] = max(depth + 1, nodes_depths.get(parent, 0))
    for x in inputs:
        input_layer = x._keras_history.layer
        if input_layer not in layers_depths:
            layers_depths[input_layer] = 0
            layer_indices[input_layer] = -1
            nodes_depths[input_layer._inbound_nodes[0]] = 0
            network_nodes.add(_make_node_key(input_layer.name, 0))

    nodes_by_depth: Dict[int, list] = collections.defaultdict(list)
    for node, depth in nodes_depths.items():
        nodes_by_depth[depth].append(node)
    layers_by_depth: Dict[int, list] = collections.defaultdict(list)
    for layer, depth in layers_depths.items():
        layers_by_depth[depth].append(layer)
    layers: List[Any] = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=lambda l: layer_indices[l]))

    computable = {id(x) for x in inputs}
    accessed: List[str] = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.is_input:
                continue
            for x in node.keras_inputs:
                if id(x) not in computable:
                    raise ValueError(f"Graph disconnected: cannot obtain value for tensor {x!r} at layer "
                                     f'"{node.layer.name}". The following previous layers were accessed without '
                                     f"issue: {accessed}")
            computable.update(node.flat_output_ids)
            accessed.append(node.layer.name)

    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) != 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. All layer names '
                             "should be unique.")
    return network_nodes, dict(nodes_by_depth), layers


def _should_skip_first_node(layer: Layer) -> bool:
    """tf.keras counts a model's own call on its `Input` as node 0 of a nested model built from an Input, so the
    configs of enclosing models number that model's calls from 1."""
    if not isinstance(layer, Functional):
        return False
    first = layer._layers[0] if layer._layers else None
    return isinstance(first, InputLayer)


def _serialize_layer(layer: Layer) -> Dict[str, Any]:
    """tf.keras 2.21's 4-key layer entry (`module`, `class_name`, `config`, `registered_name`) + `build_config`."""
    entry = serialize_layer(layer)
    out: Dict[str, Any] = {"module": "keras.layers" if not isinstance(layer, Model) else "keras.src.engine."
                           + ("sequential" if type(layer).__name__ == "Sequential" else "functional"),
                           "class_name": entry["class_name"], "config": entry["config"], "registered_name": None}
    if layer.built and not isinstance(layer, (InputLayer, Model)) and layer._build_input_shape is not None:
        out["build_config"] = {"input_shape": _json_shape(layer._build_input_shape)}
    return out


def _json_shape(shape: Any) -> Any:
    if is_shape(shape):
        return [None if d is None else int(d) for d in shape]
    if isinstance(shape, dict):
        return {k: _json_shape(v) for k, v in shape.items()}
    return [_json_shape(s) for s in shape]


def get_network_config(network: Functional, config: Optional[Dict[str, Any]] = None,
                       serialize_layer_fn: Any = None) -> Dict[str, Any]:
    """The graph part of a functional config (tf.keras's `get_network_config`); `serialize_layer_fn` replaces
    the layer entries (`clone_model` only needs the graph)."""
    serialize_layer_fn = serialize_layer_fn or _serialize_layer
    config = dict(config or {})
    config["name"] = network.name
    node_conversion_map: Dict[str, int] = {}
    for layer in network.layers:
        kept = 1 if _should_skip_first_node(layer) else 0
        for original_index, _ in enumerate(layer._inbound_nodes):
            key = _make_node_key(layer.name, original_index)
            if key in network._network_nodes:
                node_conversion_map[key] = kept
                kept += 1
    layer_configs = []
    for layer in network.layers:
        filtered = []
        for original_index, node in enumerate(layer._inbound_nodes):
            key = _make_node_key(layer.name, original_index)
            if key in network._network_nodes and not node.is_input:
                filtered.append(node.serialize(_make_node_key, node_conversion_map))
        entry = serialize_layer_fn(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = filtered
        layer_configs.append(entry)
    config["layers"] = layer_configs

    def coordinates(layer_coords: List[Tuple[Layer, int, int]]) -> List[List[Any]]:
        out = []
        for layer, node_index, tensor_index in layer_coords:
            key = _make_node_key(layer.name, node_index)
            if key in network._network_nodes:
                out.append([layer.name, node_conversion_map[key], tensor_index])
        return out

    inputs: Any = coordinates(network._input_coordinates)
    outputs: Any = coordinates(network._output_coordinates)
    inputs = pack_sequence_as(network._nested_inputs, inputs) if isinstance(network._nested_inputs, dict) else inputs
    outputs = (pack_sequence_as(network._nested_outputs, outputs) if isinstance(network._nested_outputs, dict)
               else outputs)
    config["input_layers"] = inputs
    config["output_layers"] = outputs
    return config


def _is_tensor_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def reconstruct_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None,
                            created_layers: Optional[Dict[str, Layer]] = None) -> Tuple[Any, Any, Dict[str, Layer]]:
    """Create the layers of a functional config and replay its nodes (tf.keras's `reconstruct_from_config`).

    Returns `(input_tensors, output_tensors, created_layers)`.
    """
    created: Dict[str, Layer] = collections.OrderedDict(created_layers or {})
    node_index_map: Dict[Tuple[str, int], int] = {}
    node_count_by_layer: Dict[Any, int] = {}
    unprocessed: Dict[Any, List[Any]] = collections.OrderedDict()

    def get_node_index(layer: Layer, config_node_index: int) -> Optional[int]:
        if isinstance(layer, InputLayer):
            return 0
        return node_index_map.get((layer.name, config_node_index))

    def get_tensor(ref: List[Any]) -> KerasTensor:
        name, node_index, tensor_index = ref
        if name not in created:
            raise ValueError(f"Invalid functional config: a node refers to layer {name!r}, which is not in "
                             f"'layers'. Received: {ref}")
        layer = created[name]
        new_index = get_node_index(layer, node_index)
        if new_index is None:
            raise IndexError  # that node has not been replayed yet
        return flatten(layer._inbound_nodes[new_index].outputs)[tensor_index]

    def deserialize_kwargs(obj: Any) -> Any:
        if _is_tensor_ref(obj):
            return get_tensor(obj)
        if isinstance(obj, dict):
            return {k: deserialize_kwargs(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [deserialize_kwargs(v) for v in obj]
        return obj

    def process_node(layer: Layer, node_data: List[Any]) -> bool:
        if not isinstance(node_data, list):
            raise ValueError(f"Improperly formatted model config: expected a list of inbound tensors for layer "
                             f"{layer.name!r}. Received: {str(node_data)[:200]}")
        tensors = []
        kwargs: Dict[str, Any] = {}
        for data in node_data:
            if not isinstance(data, list) or len(data) not in (3, 4):
                raise ValueError(f"Improperly formatted model config: expected [layer_name, node_index, "
                                 f"tensor_index, kwargs] in the nodes of layer {layer.name!r}. Received: {data!r}")
            if data[0] == "_CONSTANT_VALUE":
                raise ValueError(f"Layer {layer.name!r} of the config takes a constant input; minikeras builds "
                                 "graphs of symbolic inputs only. Received: a _CONSTANT_VALUE entry")
            try:
                if len(data) == 4:
                    kwargs = deserialize_kwargs(data[3])
                tensors.append(get_tensor(data[:3]))
            except IndexError:
                return False
        layer(tensors[0] if len(tensors) == 1 else tensors, **kwargs)
        node_index_map[(layer.name, node_count_by_layer[layer])] = len(layer._inbound_nodes) - 1
        node_count_by_layer[layer] += 1
        return True

    for layer_data in config["layers"]:
        if not isinstance(layer_data, dict) or not isinstance(layer_data.get("name"), str):
            raise ValueError("Invalid functional config: each entry of 'layers' needs a 'name'. Received: "
                             f"{str(layer_data)[:200]}")
        name = layer_data["name"]
        if name in created:
            layer = created[name]
        else:
            entry = {k: layer_data[k] for k in ("module", "class_name", "config", "registered_name")
                     if k in layer_data}
            layer = deserialize_layer(entry, custom_objects=custom_objects)
            created[name] = layer
        node_count_by_layer[layer] = int(_should_skip_first_node(layer))
        inbound = layer_data.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            raise ValueError(f"Invalid functional config: 'inbound_nodes' of layer {name!r} must be a list. "
                             f"Received: {str(inbound)[:200]}")
        if inbound:
            unprocessed[layer] = list(inbound)

    while unprocessed:
        progress = False
        for layer_data in config["layers"]:
            layer = created[layer_data["name"]]
            if layer in unprocessed:
                nodes = unprocessed.pop(layer)
                while nodes:
                    if process_node(layer, nodes[0]):
                        nodes.pop(0)
                        progress = True
                    else:
                        break
                if nodes:
                    unprocessed[layer] = nodes
        if not progress:
            raise ValueError("Invalid functional config: the nodes of layers "
                             f"{[l.name for l in unprocessed]} refer to tensors no node produces.")

    def map_tensors(refs: Any) -> Any:
        if _is_tensor_ref(refs):
            try:
                return get_tensor(refs)
            except IndexError:
                raise ValueError(f"Invalid functional config: no node produces {refs}") from None
        if isinstance(refs, dict):
            return {k: map_tensors(v) for k, v in refs.items()}
        if isinstance(refs, list):
            return [map_tensors(v) for v in refs]
        raise ValueError(f"Invalid functional config: expected [layer_name, node_index, tensor_index] entries in "
                         f"'input_layers'/'output_layers'. Received: {refs!r}")

    return map_tensors(config.get("input_layers", [])), map_tensors(config.get("output_layers", [])), created
