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


def print_summary(model: Any, line_length: Optional[int] = None, positions: Optional[List[float]] = None,
                  print_fn: Optional[Callable[[str], Any]] = None, show_trainable: bool = False) -> None:
    """Print the model's layer table exactly as tf.keras 2.21's `model.summary()` does for a Sequential model."""
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if print_fn is None:
        print_fn = print
    line_length = line_length or 65
    positions = list(positions or [0.45, 0.85, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    to_display = ["Layer (type)", "Output Shape", "Param #"]
    if show_trainable:
        line_length += 11
        positions.append(line_length)
        to_display.append("Trainable")

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
    shape = getattr(model, "_build_input_shape", None)
    for layer in model.layers:
        if shape is not None and layer.built:
            try:
                out = layer.compute_output_shape(tuple(shape))
                shape = out[0] if isinstance(out, list) and out and isinstance(out[0], tuple) else out
                shown: Any = out if not isinstance(out, list) else out
            except Exception:  # noqa: BLE001 - a summary never fails on a shape it cannot infer
                shown, shape = "multiple", None
        else:
            shown = "multiple"
        params = layer.count_params() if layer.built else "0 (unused)"
        fields = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(shown), params]
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
