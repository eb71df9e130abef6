"""Streaming: run a Sequential model one timestep at a time, and the model-level recurrent state API (beyond Keras).

`predict_timestep(model, x_t)` feeds one timestep and keeps each recurrent layer's states for the next call; at
step t it returns what `model.predict` returns on the sequence cut after step t. `get_states`, `set_states` and
`reset_states(samples=...)` read, write and zero those states (and the state variables of stateful layers).
`Sequential` exposes all four as methods.

How it works: the timestep travels through the model as a sequence of length one, `(batch, 1, ...)`. A recurrent
layer runs it through `RNN.step`, which goes through `RNN.run_sequence` like any call of the layer (so a custom cell,
`use_fused_kernels(False)` and the masking rules behave exactly as in `predict`). Every other layer must declare
`supports_streaming = True`: its output at a timestep depends on that timestep's input alone (`Dense`,
`Activation`, `Dropout`, `Masking`, `Embedding`, `TimeDistributed`, ...). Layers that need the whole sequence
(`Flatten`, `Bidirectional`, `go_backwards=True`, convolutions) raise `NotImplementedError`.

>>> import numpy as np
>>> from minikeras import layers
>>> from minikeras.models import Sequential
>>> model = Sequential([layers.Input(shape=(4, 2)), layers.LSTM(3), layers.Dense(1)])
>>> x = np.ones((5, 4, 2), "float32")
>>> y = [model.predict_timestep(x[:, t]) for t in range(4)]
>>> bool(np.allclose(y[-1], model.predict(x, verbose=0), atol=1e-6))
True
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from minikeras.autograd import Tensor, no_grad
from minikeras.layers.recurrent import RNN

__all__ = ["predict_timestep", "get_states", "set_states", "reset_states", "recurrent_layers"]

_STORE = "_stream_states"  # model attribute: {id(layer): (states of a non-stateful layer or None, previous output)}


def _store(model: Any) -> Dict[int, Tuple[Optional[List[np.ndarray]], Optional[np.ndarray]]]:
    if _STORE not in model.__dict__:
        model.__dict__[_STORE] = {}
    return model.__dict__[_STORE]


def _state_shapes(layer: RNN, batch: int) -> List[Tuple[int, ...]]:
    sizes = layer.cell.state_size
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    return [(batch,) + (tuple(s) if isinstance(s, (list, tuple)) else (int(s),)) for s in sizes]


def recurrent_layers(model: Any) -> List[RNN]:
    """The model's recurrent layers (`RNN` and its subclasses), in layer order."""
    return [layer for layer in model.layers if isinstance(layer, RNN)]


def get_states(model: Any) -> List[Optional[List[np.ndarray]]]:
    """The recurrent states of the model, one list of arrays per recurrent layer (in layer order).

    A stateful layer reports its state variables; a non-stateful one the states `predict_timestep` keeps for it
    (None before the first step). Beyond Keras 2/3, which expose only per-layer `states`.
    """
    out: List[Optional[List[np.ndarray]]] = []
    for layer in recurrent_layers(model):
        if layer.stateful:
            out.append([None if v is None else v.data.copy() for v in layer.states])
        else:
            states = _store(model).get(id(layer), (None, None))[0]
            out.append(None if states is None else [s.copy() for s in states])
    return out


def set_states(model: Any, states: Sequence[Any]) -> None:
    """Set every recurrent layer's states (as `get_states` returns them); all-or-nothing.

    Raises:
        ValueError: not one state list per recurrent layer, a wrong number of states, or a wrong shape.
    """
    layers = recurrent_layers(model)
    states = list(states)
    if len(states) != len(layers):
        raise ValueError(f"Model '{model.name}' has {len(layers)} recurrent layers, expected that many state "
                         f"lists. Received: {len(states)} state lists")
    checked = []
    for layer, values in zip(layers, states):
        if values is None:
            checked.append((layer, None))
            continue
        values = list(values)
        arrays = [np.array(v, dtype=layer.dtype) for v in values]
        batch = arrays[0].shape[0] if arrays and arrays[0].ndim else None
        shapes = _state_shapes(layer, batch)
        if len(arrays) != len(shapes):
            raise ValueError(f"Layer {layer.name} expects {len(shapes)} states, but it received {len(arrays)} "
                             "state values.")
        for i, (a, expected) in enumerate(zip(arrays, shapes)):
            if a.shape != expected:
                raise ValueError(f"State {i} is incompatible with layer {layer.name}: expected shape={expected} "
                                 f"but found shape={a.shape}")
        if layer.stateful and layer.states[0] is not None and layer.states[0].shape[0] != batch:
            raise ValueError(f"Layer {layer.name} is stateful with batch size {layer.states[0].shape[0]}. "
                             f"Received: states of batch size {batch}")
        checked.append((layer, arrays))
    store = _store(model)
    for layer, arrays in checked:
        if layer.stateful:
            layer.reset_states(arrays)
        elif arrays is None:
            store.pop(id(layer), None)
        else:
            # the previous output of LSTM/GRU/SimpleRNN is their first state, h (what masked steps repeat)
            store[id(layer)] = (arrays, arrays[0].copy())


def _zero_rows(a: np.ndarray, samples: Any) -> np.ndarray:
    out = np.array(a, copy=True)
    out[np.asarray(samples)] = 0
    return out


def reset_states(model: Any, samples: Any = None) -> None:
    """Zero the recurrent states: of every sample (default), or only of `samples` (indices or a boolean mask).

    Covers stateful layers and the states `predict_timestep` keeps. Per-sample reset goes beyond Keras.
    """
    for layer in recurrent_layers(model):
        if layer.stateful:
            if samples is None:
                layer.reset_states()
            elif layer.states[0] is not None:
                layer.reset_states([_zero_rows(v.data, samples) for v in layer.states])
    store = _store(model)
    if samples is None:
        store.clear()
        return
    for key, (states, prev) in list(store.items()):
        store[key] = (None if states is None else [_zero_rows(s, samples) for s in states],
                      None if prev is None else _zero_rows(prev, samples))


def _recurrent_step(model: Any, layer: RNN, x_t: Tensor, mask_t: Optional[np.ndarray]) -> Tensor:
    """One timestep through `layer.step`, from and back into the states kept for the layer."""
    n = x_t.shape[0]
    store = _store(model)
    saved, prev = store.get(id(layer), (None, None))
    if layer.stateful:
        if layer.states[0] is None:
            layer(x_t.expand_dims(0 if layer.time_major else 1))  # creates the state variables (this batch size)
            layer.reset_states()
        states = [v.data for v in layer.states]
    else:
        if saved is None:
            saved = [np.zeros(shape, layer.dtype) for shape in _state_shapes(layer, n)]
        if saved[0].shape[0] != n:
            raise ValueError(f"`predict_timestep` received a batch of {n} samples, but layer '{layer.name}' holds "
                             f"states for {saved[0].shape[0]}: call `reset_states()` to start new sequences.")
        states = saved
    out, new_states = layer.step(x_t, states, mask=mask_t, prev_output=prev, training=False)
    # NOTE: copies: the kernels return views of their own buffers, which the next call must not share
    new = [np.array(s.data, copy=True) for s in new_states]
    out_data = np.array(out.data, copy=True)
    if layer.stateful:
        for var, a in zip(layer.states, new):
            var.assign(a)
        store[id(layer)] = (None, out_data)
    else:
        store[id(layer)] = (new, out_data)
    return Tensor._wrap(out_data, False)


def predict_timestep(model: Any, x_t: Any) -> np.ndarray:
    """Run ONE timestep through the model and keep the recurrent states for the next call.

    Args:
        model: a built `Sequential` model.
        x_t: `(batch, features)` (or `(batch,)` token ids under an Embedding): the inputs of this timestep.

    Returns:
        numpy array: at step t, exactly what `model.predict` gives on the sequence cut after step t (for a model
        that returns sequences, that prediction's last timestep). Masked steps carry the states and repeat the
        output, as in Keras.

    Call `reset_states()` to start new sequences. Stateful layers use and update their own state variables;
    non-stateful layers get states kept by the model (`get_states`).

    Raises:
        ValueError: the model is not built, or the batch size changed without `reset_states()`.
        NotImplementedError: a layer needs the whole sequence (`go_backwards`, `Bidirectional`, `Flatten`, ...).
    """
    if not model.built:
        raise ValueError("Build the model (or call it on data) before `predict_timestep`.")
    x: Any = np.asarray(x_t.data if isinstance(x_t, Tensor) else x_t)[:, None]  # a sequence of length one
    mask: Optional[np.ndarray] = None
    sequence = True  # whether x still has its (length-one) time axis
    with no_grad():
        for layer in model.layers:
            if isinstance(layer, RNN) and layer.supports_streaming and sequence:
                x_step = x if isinstance(x, Tensor) else Tensor._wrap(x.astype(layer.dtype, copy=False), False)
                out = _recurrent_step(model, layer, x_step[:, 0], None if mask is None else mask[:, 0])
                sequence = layer.return_sequences
                x, mask = (out.expand_dims(1), mask) if sequence else (out, None)
            elif not isinstance(layer, RNN) and getattr(layer, "supports_streaming", False):
                kwargs: Dict[str, Any] = {"training": False} if layer._call_accepts_training else {}
                if mask is not None:
                    kwargs["mask"] = mask
                x = layer(x, **kwargs)
                mask = getattr(x, "_keras_mask", None)
                mask = None if mask is None else np.asarray(mask.data if isinstance(mask, Tensor) else mask, bool)
            else:
                what = "go_backwards=True" if isinstance(layer, RNN) and layer.go_backwards else \
                    f"a {type(layer).__name__} layer"
                raise NotImplementedError(f"`predict_timestep` cannot run layer '{layer.name}' one timestep at a "
                                          f"time: it needs the whole sequence. Received: a model with {what}")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return data[:, 0] if sequence else data
