"""`Node`: one call of a layer on symbolic tensors (Keras 2's `keras.engine.node`).

Every time a layer is called on KerasTensors, a Node is appended to `layer._inbound_nodes`: it keeps the call's
arguments (with their KerasTensors) and the output KerasTensors, whose `_keras_history` points back at it. A
functional model is the set of nodes between its inputs and outputs; running it replays the nodes on data.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from minikeras.engine.keras_tensor import KerasHistory, KerasTensor, flatten, map_structure


class Node:
    """A layer call in the graph.

    Args:
        layer: the layer called.
        call_args: positional arguments of the call (the first holds the input tensors).
        call_kwargs: keyword arguments of the call (may hold KerasTensors, e.g. `mask=`).
        outputs: the output KerasTensor(s); their Keras history is set to this node.

    A node with no arguments is an input node (`InputLayer`'s only node).
    """

    def __init__(self, layer: Any, call_args: Tuple[Any, ...] = (), call_kwargs: Optional[Dict[str, Any]] = None,
                 outputs: Any = None):
        self.layer = layer
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.is_input = not self.call_args and not self.call_kwargs
        self.outputs = outputs
        self._flat_arguments = flatten((self.call_args, self.call_kwargs))
        self.keras_inputs: List[KerasTensor] = [t for t in self._flat_arguments if isinstance(t, KerasTensor)]
        self.flat_output_ids = [id(t) for t in flatten(outputs)]
        self.flat_input_ids = [id(t) for t in self.keras_inputs]
        # NOTE: most calls take one tensor and constant keyword arguments: replaying them needs no nest walk
        self._single_input_id = (id(self.call_args[0]) if len(self.call_args) == 1
                                 and isinstance(self.call_args[0], KerasTensor)
                                 and len(self.keras_inputs) == 1 else None)
        layer._inbound_nodes.append(self)
        node_index = len(layer._inbound_nodes) - 1
        for i, t in enumerate(flatten(outputs)):
            t._keras_history = KerasHistory(layer, node_index, i)
        for t in self.keras_inputs:
            t._keras_history.layer._outbound_nodes.append(self)

    # ------------------------------------------------------------------ Keras's accessors
    @property
    def parent_nodes(self) -> List["Node"]:
        """The nodes that produced this node's input tensors."""
        return [t.node for t in self.keras_inputs]

    @property
    def inbound_layers(self) -> Any:
        layers = [t._keras_history.layer for t in self.keras_inputs]
        return layers[0] if len(layers) == 1 else layers

    @property
    def input_tensors(self) -> Any:
        if self.is_input:
            return self.outputs
        return self.call_args[0]

    @property
    def output_tensors(self) -> Any:
        return self.outputs

    @property
    def input_shapes(self) -> Any:
        if self.is_input:  # tf.keras reports an InputLayer's shapes as a list of one: [(None, 3)]
            return [self.outputs.shape]
        return map_structure(lambda t: t.shape, self.input_tensors)

    @property
    def output_shapes(self) -> Any:
        if self.is_input:
            return [self.outputs.shape]
        return map_structure(lambda t: t.shape, self.outputs)

    def iterate_inbound(self) -> List[Tuple[Any, int, int, KerasTensor]]:
        """`(layer, node_index, tensor_index, tensor)` for each KerasTensor of the first call argument."""
        if self.is_input:
            return []
        return [(t._keras_history.layer, t._keras_history.node_index, t._keras_history.tensor_index, t)
                for t in flatten(self.call_args[0]) if isinstance(t, KerasTensor)]

    def map_arguments(self, tensor_dict: Dict[int, Any]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        """The call's arguments with every KerasTensor replaced by its computed value."""
        if self._single_input_id is not None:
            return (tensor_dict[self._single_input_id],), dict(self.call_kwargs)

        def sub(x: Any) -> Any:
            return tensor_dict[id(x)] if isinstance(x, KerasTensor) else x

        return map_structure(sub, self.call_args), map_structure(sub, self.call_kwargs)

    # ------------------------------------------------------------------ config
    def serialize(self, make_node_key: Callable[[str, int], str], node_conversion_map: Dict[str, int]) -> List[Any]:
        """tf.keras's node entry: `[[layer_name, node_index, tensor_index, kwargs], ...]` for the first argument's
        tensors; KerasTensors inside `kwargs` become `[layer_name, node_index, tensor_index]`."""
        def convert(t: Any) -> Any:
            if isinstance(t, KerasTensor):
                kh = t._keras_history
                new_index = node_conversion_map.get(make_node_key(kh.layer.name, kh.node_index), 0)
                return [kh.layer.name, new_index, kh.tensor_index]
            if isinstance(t, np.ndarray):
                return t.tolist()
            return t

        kwargs = map_structure(convert, self.call_kwargs)
        try:
            json.dumps(kwargs)
        except TypeError:
            raise TypeError(f"Layer {self.layer.name} was passed non-JSON-serializable arguments. Arguments had "
                            f"types: {map_structure(lambda v: type(v).__name__, self.call_kwargs)}. They cannot be "
                            "serialized out when saving the model.") from None
        data = []
        for t in flatten(self.call_args[0]):
            if isinstance(t, KerasTensor):
                data.append(convert(t) + [kwargs])
            else:  # a constant in the inputs: tf.keras's `[_CONSTANT_VALUE, -1, value, kwargs]`
                data.append(["_CONSTANT_VALUE", -1, convert(t), kwargs])
        return data

    def __repr__(self) -> str:
        return f"<Node layer={self.layer.name!r} inputs={len(self.keras_inputs)} is_input={self.is_input}>"
