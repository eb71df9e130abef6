"""`print_summary` and parameter counting, in tf.keras 2's format (Keras 2's `keras.utils.layer_utils`)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

import numpy as np


def count_params(weights: Sequence[Any]) -> int:
    """Number of scalars in the (unique) weights."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(np.prod(w.shape)) for w in unique))


def weight_memory_size(weights: Sequence[Any]) -> int:
    """Bytes taken by the (unique) weights."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(np.prod(w.shape)) * w.dtype.itemsize for w in unique))


def readable_memory_size(size: float) -> str:
    """`1971200` -> `'1.88 MB'`, as tf.keras."""
    for unit in ["Byte", "KB", "MB", "GB", "TB", "PB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _is_sequential_like(model: Any) -> bool:
    """tf.keras's test: one node per depth, each with one input, and no shared layer -> the 3-column table."""
    if type(model).__name__ == "Sequential" or not hasattr(model, "_nodes_by_depth"):
        return True
    nodes: List[Any] = []
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].keras_inputs) > 1):
            return False
        nodes += depth_nodes
    for layer in model.layers:
        if sum(1 for node in layer._inbound_nodes if node in nodes) > 1:
            return False
    return True


def print_summary(model: Any, line_length: Optional[int] = None, positions: Optional[List[float]] = None,
                  print_fn: Optional[Callable[[str], Any]] = None, show_trainable: bool = False) -> None:
    """Print the model's layer table exactly as tf.keras 2.21's `model.summary()` does.

    Chain-shaped models get the 3-column table (Layer (type), Output Shape, Param #); other functional models a
    4th column, Connected to, listing each call's inputs as `layer_name[node_index][tensor_index]`.
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if print_fn is None:
        print_fn = print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = list(positions or [0.45, 0.85, 1.0])
        to_display = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = list(positions or [0.3, 0.6, 0.70, 1.0])
        to_display = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        to_display.append("Trainable")
    relevant_nodes: List[Any] = []
    for depth_nodes in getattr(model, "_nodes_by_depth", {}).values():
        relevant_nodes += depth_nodes

    def print_row(fields: Sequence[Any]) -> None:
        left = [str(x) for x in fields]
        while any(left):
            line = ""
            for col in range(len(left)):
                start = positions[col - 1] if col > 0 else 0
                end = positions[col]
                space = 2 if col != len(positions) - 1 else 0
                cutoff = end - start - space
                if col != len(positions) - 1:
                    cutoff -= 1
                fit = left[col][:cutoff]
                # NOTE: tf.keras breaks long cells after a closing bracket, so we do too (same text, same lines)
                candidates = [fit.find(x) + len(x) for x in ("),", "},", "],", "',") if fit.find(x) >= 0]
                if candidates:
                    cutoff = min(candidates)
                    fit = fit[:cutoff]
                if col == 0:
                    line += " "
                line += fit + (" " * space if space else "")
                left[col] = left[col][cutoff:]
                line += " " * (positions[col] - len(line))
            print_fn(line)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_row(to_display)
    print_fn("=" * line_length)
    graph = hasattr(model, "_nodes_by_depth")
    shape = getattr(model, "_build_input_shape", None)
    for layer in model.layers:
        if graph:
            try:
                shown: Any = layer.output_shape
            except AttributeError:
                shown = "multiple"
        elif shape is not None and layer.built:
            try:
                out = layer.compute_output_shape(tuple(shape))
                shape = out[0] if isinstance(out, list) and out and isinstance(out[0], tuple) else out
                shown = out
            except Exception:  # noqa: BLE001 - a summary never fails on a shape it cannot infer
                shown, shape = "multiple", None
        else:
            shown = "multiple"
        params = layer.count_params() if layer.built else "0 (unused)"
        fields = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(shown), params]
        if not sequential_like:
            connections = []
            for node in layer._inbound_nodes:
                if relevant_nodes and node not in relevant_nodes:
                    continue
                for inbound_layer, node_index, tensor_index, _ in node.iterate_inbound():
                    connections.append(f"{inbound_layer.name}[{node_index}][{tensor_index}]")
            fields.append(connections)
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        print_row(fields)
        print_fn(" " * line_length)
    print_fn("=" * line_length)
    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    t_count, n_count = count_params(trainable), count_params(non_trainable)
    t_mem, n_mem = weight_memory_size(trainable), weight_memory_size(non_trainable)
    print_fn(f"Total params: {t_count + n_count} ({readable_memory_size(t_mem + n_mem)})")
    print_fn(f"Trainable params: {t_count} ({readable_memory_size(t_mem)})")
    print_fn(f"Non-trainable params: {n_count} ({readable_memory_size(n_mem)})")
    print_fn("_" * line_length)


def _fmt_shape(shape: Any) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"
    if isinstance(shape, tuple):
        return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)
