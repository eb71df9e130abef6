"""Recurrent layers: `RNN`, `SimpleRNN`, `GRU`, `LSTM` and their cells (Keras 2's `keras.layers.recurrent`).

Semantics and config keys are tf-keras 2.21's (`tf_keras/src/layers/rnn/`), defaults are Keras 2.0's (
`LSTM(units, activation='tanh', recurrent_activation='hard_sigmoid', ..., implementation=1)`; GRU
`reset_after=False`).

Every layer call runs one of two implementations of the recurrence, with the same numbers:

* the FUSED path (`minikeras.autograd.rnn`): the whole call is one autograd node with hand-written BPTT. It is used
  for the built-in cells whenever both activations are built-in (every Keras activation except softmax,
  log_softmax, hard_silu, mish and crelu), whatever the other arguments (masks, go_backwards, initial_state,
  return_state, stateful, dropout, use_bias, time_major, unroll);
* the COMPOSED path: the cell's `call` per timestep, built from autograd ops. It is the readable reference, the test
  oracle, and what runs for custom activations, custom cells and `RNN(cell)` with any other cell.
  `use_fused_kernels(False)` forces it.

Arguments kept for compatibility that carry no behaviour here: `unroll` (a Python loop either way, same numbers),
`enable_caching_device` and `use_cudnn` (accepted, ignored). `implementation` gives the same numbers; it only decides
whether dropout draws one mask for all gates (2) or one per gate (1).
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.autograd import Tensor, Variable, no_grad, ops
from minikeras.autograd import rnn as rnn_kernels
from minikeras.engine.base_layer import InputSpec, Layer, _plain_for_one_tensor, _same_maths
from minikeras.legacy import interfaces

__all__ = ["RNN", "SimpleRNNCell", "SimpleRNN", "GRUCell", "GRU", "LSTMCell", "LSTM", "StackedRNNCells",
           "use_fused_kernels"]

# ************************************************************ helpers

_STATE = threading.local()


def _fused_enabled() -> bool:
    return getattr(_STATE, "fused", True)


@contextlib.contextmanager
def use_fused_kernels(enabled: bool = True) -> Iterator[None]:
    """Within this block, recurrent layers use (True, the default) or bypass (False) the fused kernels.

    >>> with use_fused_kernels(False):
    ...     y = LSTM(3)(np.ones((2, 4, 5), "float32"))   # the composed, per-timestep path
    """
    prev = _fused_enabled()
    _STATE.fused = bool(enabled)
    try:
        yield
    finally:
        _STATE.fused = prev




def _check_units(units: Any) -> int:
    if isinstance(units, (bool, np.bool_)) or not isinstance(units, (int, np.integer)) or units <= 0:
        raise ValueError("Received an invalid value for argument `units`, expected a positive integer. "
                         f"Received: units={units!r}")
    return int(units)


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value < 1:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a float in [0, 1) (the "
                         f"fraction of units to drop). Received: {name}={value!r}")
    return float(value)


def _check_implementation(implementation: Any) -> int:
    if implementation not in (0, 1, 2) or isinstance(implementation, bool):
        raise ValueError("Received an invalid value for argument `implementation`, expected 1 or 2 (0 is read as "
                         f"1, as tf-keras does). Received: implementation={implementation!r}")
    return 1 if implementation == 0 else int(implementation)


def _fused_activation(fn: Any) -> Optional[str]:
    """The fused-kernel name of a built-in activation function, or None (custom callables)."""
    if not activations.is_builtin(fn):
        return None
    name = fn.__name__
    if name == "hard_sigmoid" and activations.era_of(fn) == 3:
        name = "hard_sigmoid_keras3"
    return name if name in rnn_kernels.ACTIVATIONS else None


def _numpy_activation(fn: Any) -> Any:
    """A Tensor activation as a numpy function (for the kernels' forward-only use)."""
    def apply(a: np.ndarray) -> np.ndarray:
        with no_grad():
            out = fn(_const(a))
        return out.data if isinstance(out, Tensor) else np.asarray(out)
    apply.__name__ = getattr(fn, "__name__", "activation")
    return apply


def _const(array: np.ndarray) -> Tensor:
    return Tensor._wrap(array, False)


def _caching_device_config(layer: Any) -> Dict[str, Any]:
    # NOTE: tf-keras writes `enable_caching_device` only when it differs from its default (True)
    return {} if layer._enable_caching_device else {"enable_caching_device": False}


class DropoutRNNCellMixin:
    """Keras's dropout masks for RNN cells: drawn once per layer call, reused at every timestep.

    The layer resets the masks at the start of each call; the first request of the call draws `count` masks of the
    step input's shape from `minikeras.backend.rng()` (or the cell's own generator when it has a `seed`), each
    `keep / (1 - rate)`. Masks exist only in training and for a rate > 0.
    """

    dropout: float = 0.0
    recurrent_dropout: float = 0.0

    def _init_dropout(self, seed: Any) -> None:
        self.seed = seed
        self._seed_rng = np.random.default_rng(seed) if seed is not None else None
        self._dropout_mask_cache: Optional[np.ndarray] = None
        self._recurrent_dropout_mask_cache: Optional[np.ndarray] = None

    def reset_dropout_mask(self) -> None:
        self._dropout_mask_cache = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask_cache = None

    def _draw(self, shape: Tuple[int, ...], rate: float, count: int) -> np.ndarray:
        rng = self._seed_rng if self._seed_rng is not None else backend.rng()
        keep = rng.random((count,) + tuple(shape)) >= rate
        return (keep / (1.0 - rate)).astype(self.dtype)

    def get_dropout_mask_for_cell(self, inputs: Any, training: Any, count: int = 1) -> Optional[np.ndarray]:
        """(count, batch, features) input dropout masks for this call, or None (no dropout or not training)."""
        if self.dropout == 0 or not training:
            return None
        if self._dropout_mask_cache is None:
            self._dropout_mask_cache = self._draw(tuple(inputs.shape), self.dropout, count)
        return self._dropout_mask_cache

    def get_recurrent_dropout_mask_for_cell(self, inputs: Any, training: Any, count: int = 1) -> Optional[np.ndarray]:
        """(count, batch, units) recurrent dropout masks for this call, or None."""
        if self.recurrent_dropout == 0 or not training:
            return None
        if self._recurrent_dropout_mask_cache is None:
            self._recurrent_dropout_mask_cache = self._draw(tuple(inputs.shape), self.recurrent_dropout, count)
        return self._recurrent_dropout_mask_cache


def _times(x: Tensor, mask: Optional[np.ndarray]) -> Tensor:
    return x if mask is None else x * _const(mask)


def _zeros_state(batch: int, size: Any, dtype: str) -> np.ndarray:
    size = tuple(size) if isinstance(size, (list, tuple)) else (int(size),)
    return np.zeros((batch,) + size, dtype=dtype)


# ************************************************************ cells


class _BuiltinCell(DropoutRNNCellMixin, Layer):
    """What SimpleRNNCell, GRUCell and LSTMCell share: argument checks, weights and Keras's config keys."""

    _gates = 1
    _has_recurrent_activation = True

    def __init__(self, units: int, activation: Any, recurrent_activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, kernel_constraint: Any,
                 recurrent_constraint: Any, bias_constraint: Any, dropout: float, recurrent_dropout: float,
                 seed: Any, enable_caching_device: Optional[bool], **kwargs: Any):
        units = _check_units(units)
        dropout = _check_rate("dropout", dropout)
        recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        super().__init__(**kwargs)
        self._init_dropout(seed)
        self._enable_caching_device = True if enable_caching_device is None else bool(enable_caching_device)
        self.units = units
        self.activation = activations.get(activation)
        if self._has_recurrent_activation:
            self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.output_size = units

    def _build_kernels(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the inputs to `{type(self).__name__}` should be defined. "
                             f"Received: input_shape={tuple(input_shape)}")
        g = self._gates * self.units
        self.kernel = self.add_weight(name="kernel", shape=(int(input_dim), g), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)

    def _add_bias(self, shape: Tuple[int, ...], initializer: Any) -> None:
        self.bias = (self.add_weight(name="bias", shape=shape, initializer=initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None, dtype: Any = None) -> List[Any]:
        """Zero states, one `(batch_size, size)` array per state."""
        if batch_size is None:
            batch_size = inputs.shape[0]
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [_zeros_state(batch_size, s, dtype or self.dtype) for s in sizes]

    def _config(self, keys: Sequence[str]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for k in keys:
            v = getattr(self, k)
            if k in ("activation", "recurrent_activation"):
                v = activations.serialize(v)
            elif k.endswith("_initializer"):
                v = initializers.serialize(v)
            elif k.endswith("_regularizer"):
                v = regularizers.serialize(v)
            elif k.endswith("_constraint"):
                v = constraints.serialize(v)
            out[k] = v
        return out

    def _seed_config(self) -> Dict[str, Any]:
        # NOTE: tf-keras has no `seed` key; minikeras writes it only when set (Keras 3 configs carry it)
        return {} if self.seed is None else {"seed": self.seed}

    def _fused_sequence(self, inputs: Tensor, states: List[Tensor], mask: Optional[np.ndarray], training: Any,
                        **options: Any) -> Optional[Tuple[Tensor, List[Tensor]]]:  # pragma: no cover - abstract
        """The whole sequence through this cell's fused kernel: (output, states), or None when the activations
        have no fused form. `options` are the layer's: go_backwards, time_major, return_sequences,
        zero_output_for_mask, initial_output. Called only by `RNN.run_sequence`."""
        return None

    def _dropout_masks(self, inputs: Tensor, time_major: bool, training: Any, count: int):
        n, f = (inputs.shape[1], inputs.shape[2]) if time_major else (inputs.shape[0], inputs.shape[2])
        probe = np.empty((n, f), dtype=bool)
        dp = self.get_dropout_mask_for_cell(probe, training, count=count)
        rdp = self.get_recurrent_dropout_mask_for_cell(np.empty((n, self.units), dtype=bool), training, count=count)
        return dp, rdp


_CELL_KEYS_HEAD = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                   "recurrent_initializer", "bias_initializer")
_REG_KEYS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer")
_CONSTRAINT_KEYS = ("kernel_constraint", "recurrent_constraint", "bias_constraint")


class SimpleRNNCell(_BuiltinCell):
    """Cell class for `SimpleRNN`: `h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`.

    Args:
        units: positive integer, dimensionality of the output space.
        activation: activation function (default `'tanh'`; None means linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer, recurrent_initializer, bias_initializer: defaults `'glorot_uniform'`, `'orthogonal'`,
            `'zeros'`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: optional constraints.
        dropout, recurrent_dropout: fractions in [0, 1) of the input / recurrent units to drop (default 0).
        seed: optional seed of the dropout masks (Keras 3).

    Call arguments: `inputs` (batch, features), `states` ([h] of shape (batch, units)), `training`.

    Attributes: `kernel` (input_dim, units), `recurrent_kernel` (units, units), `bias` (units,).

    >>> cell = SimpleRNNCell(4)
    >>> RNN(cell)(np.ones((2, 3, 5), "float32")).shape
    (2, 4)
    """

    _has_recurrent_activation = False

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: Any = None, enable_caching_device: Optional[bool] = None, **kwargs: Any):
        super().__init__(units, activation, None, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, enable_caching_device, **kwargs)
        self.state_size = self.units

    def build(self, input_shape: Any) -> None:
        self._build_kernels(input_shape)
        self._add_bias((self.units,), self.bias_initializer)

    def call(self, inputs: Tensor, states: Any, training: Any = None) -> Tuple[Tensor, List[Tensor]]:
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        dp = self.get_dropout_mask_for_cell(inputs, training)
        rdp = self.get_recurrent_dropout_mask_for_cell(prev_output, training)
        h = ops.matmul(_times(inputs, None if dp is None else dp[0]), self.kernel)
        if self.bias is not None:
            h = h + self.bias
        output = self.activation(h + ops.matmul(_times(prev_output, None if rdp is None else rdp[0]),
                                                self.recurrent_kernel))
        return output, [output]

    def _fused_sequence(self, inputs, states, mask, training, **options):
        name = _fused_activation(self.activation)
        if name is None:
            return None
        dp, rdp = self._dropout_masks(inputs, options["time_major"], training, 1)
        y, h = rnn_kernels.simple_rnn_sequence(
            inputs, self.kernel, self.recurrent_kernel, self.bias, states[0], mask=mask, activation=name,
            dropout_mask=dp, recurrent_dropout_mask=rdp, **options)
        return y, [h]

    def get_config(self) -> Dict[str, Any]:
        keys = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer"
                ) + _REG_KEYS + _CONSTRAINT_KEYS + ("dropout", "recurrent_dropout")
        return {**super().get_config(), **self._config(keys), **_caching_device_config(self), **self._seed_config()}


class GRUCell(_BuiltinCell):
    """Cell class for the `GRU` layer (gate packing z, r, h).

    `z = ra(x W_z + b_z + h U_z)`, `r = ra(x W_r + b_r + h U_r)`,
    `hh = act(x W_h + b_h + (r * h) U_h)` (`reset_after=False`) or `act(x W_h + b_h + r * (h U_h + b'_h))`
    (`reset_after=True`, cuDNN's form), `h_t = z * h_{t-1} + (1 - z) * hh`.

    Args:
        units: positive integer.
        activation: default `'tanh'`. recurrent_activation: default `'hard_sigmoid'` (Keras 2.0; tf-keras and Keras
            3 default to `'sigmoid'`).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, *_regularizer, *_constraint,
        dropout, recurrent_dropout: as `LSTMCell`.
        implementation: 1 (default, Keras 2.0) or 2; identical numbers, only dropout differs (one mask per gate
            with 1, one for all gates with 2). A nonzero recurrent_dropout forces 1, as in tf-keras.
        reset_after: False (default, Keras 2.0) or True (tf-keras and Keras 3 default; cuDNN-compatible).
        seed: optional seed of the dropout masks.

    Attributes: `kernel` (input_dim, 3u), `recurrent_kernel` (u, 3u), `bias` (3u,) or, with reset_after,
    (2, 3u) (row 0 input bias, row 1 recurrent bias).
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, implementation: int = 1,
                 reset_after: bool = False, seed: Any = None, enable_caching_device: Optional[bool] = None,
                 **kwargs: Any):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, enable_caching_device, **kwargs)
        implementation = _check_implementation(implementation)
        self.implementation = 1 if self.recurrent_dropout != 0 else implementation
        self.reset_after = bool(reset_after)
        self.state_size = self.units

    def build(self, input_shape: Any) -> None:
        self._build_kernels(input_shape)
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_bias(shape, self.bias_initializer)

    def call(self, inputs: Tensor, states: Any, training: Any = None) -> Tuple[Tensor, List[Tensor]]:
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        dp = self.get_dropout_mask_for_cell(inputs, training, count=3)
        rdp = self.get_recurrent_dropout_mask_for_cell(h_tm1, training, count=3)
        input_bias = recurrent_bias = None
        if self.bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = self.bias[0], self.bias[1]
            else:
                input_bias = self.bias
        k, rk = self.kernel, self.recurrent_kernel
        if self.implementation == 1:
            x_z = ops.matmul(_times(inputs, None if dp is None else dp[0]), k[:, :u])
            x_r = ops.matmul(_times(inputs, None if dp is None else dp[1]), k[:, u:2 * u])
            x_h = ops.matmul(_times(inputs, None if dp is None else dp[2]), k[:, 2 * u:])
            if input_bias is not None:
                x_z, x_r, x_h = x_z + input_bias[:u], x_r + input_bias[u:2 * u], x_h + input_bias[2 * u:]
            h_z = _times(h_tm1, None if rdp is None else rdp[0])
            h_r = _times(h_tm1, None if rdp is None else rdp[1])
            h_h = _times(h_tm1, None if rdp is None else rdp[2])
            rec_z = ops.matmul(h_z, rk[:, :u])
            rec_r = ops.matmul(h_r, rk[:, u:2 * u])
            if self.reset_after and recurrent_bias is not None:
                rec_z, rec_r = rec_z + recurrent_bias[:u], rec_r + recurrent_bias[u:2 * u]
            z = self.recurrent_activation(x_z + rec_z)
            r = self.recurrent_activation(x_r + rec_r)
            if self.reset_after:
                rec_h = ops.matmul(h_h, rk[:, 2 * u:])
                if recurrent_bias is not None:
                    rec_h = rec_h + recurrent_bias[2 * u:]
                rec_h = r * rec_h
            else:
                rec_h = ops.matmul(r * h_h, rk[:, 2 * u:])
        else:
            matrix_x = ops.matmul(_times(inputs, None if dp is None else dp[0]), k)
            if input_bias is not None:
                matrix_x = matrix_x + input_bias
            x_z, x_r, x_h = matrix_x[:, :u], matrix_x[:, u:2 * u], matrix_x[:, 2 * u:]
            if self.reset_after:
                inner = ops.matmul(h_tm1, rk)
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
            else:
                inner = ops.matmul(h_tm1, rk[:, :2 * u])
            z = self.recurrent_activation(x_z + inner[:, :u])
            r = self.recurrent_activation(x_r + inner[:, u:2 * u])
            if self.reset_after:
                rec_h = r * inner[:, 2 * u:]
            else:
                rec_h = ops.matmul(r * h_tm1, rk[:, 2 * u:])
        hh = self.activation(x_h + rec_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]

    def _fused_sequence(self, inputs, states, mask, training, **options):
        act, ract = _fused_activation(self.activation), _fused_activation(self.recurrent_activation)
        if act is None or ract is None:
            return None
        dp, rdp = self._dropout_masks(inputs, options["time_major"], training, 3)
        if dp is not None and self.implementation != 1:
            dp = dp[:1]
        y, h = rnn_kernels.gru_sequence(
            inputs, self.kernel, self.recurrent_kernel, self.bias, states[0], reset_after=self.reset_after,
            mask=mask, activation=act, recurrent_activation=ract, dropout_mask=dp, recurrent_dropout_mask=rdp,
            **options)
        return y, [h]

    def get_config(self) -> Dict[str, Any]:
        keys = _CELL_KEYS_HEAD + _REG_KEYS + _CONSTRAINT_KEYS + ("dropout", "recurrent_dropout", "implementation",
                                                                "reset_after")
        return {**super().get_config(), **self._config(keys), **_caching_device_config(self), **self._seed_config()}


class LSTMCell(_BuiltinCell):
    """Cell class for the `LSTM` layer (Keras gate packing i, f, c, o).

    Args:
        units: positive integer, dimensionality of the output space.
        activation: default `'tanh'` (None means linear).
        recurrent_activation: default `'hard_sigmoid'` (Keras 2.0: `clip(0.2x + 0.5, 0, 1)`; tf-keras >= 2.3 and
            Keras 3 default to `'sigmoid'`).
        use_bias: default True.
        kernel_initializer, recurrent_initializer, bias_initializer: `'glorot_uniform'`, `'orthogonal'`, `'zeros'`.
        unit_forget_bias: default True: the initial forget-gate bias is 1 (the bias initializer gives
            concat[bias_initializer(u), ones(u), bias_initializer(2u)]).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint: optional.
        dropout, recurrent_dropout: fractions in [0, 1) of the input / recurrent units to drop (default 0).
        implementation: 1 (default, Keras 2.0) or 2: identical numbers; dropout draws one mask per gate (1) or one
            for all gates (2). A nonzero recurrent_dropout forces 1, as in tf-keras.
        seed: optional seed of the dropout masks (Keras 3).

    Call arguments: `inputs` (batch, features), `states` [h, c], `training`.

    Attributes: `kernel` (input_dim, 4u) = [W_i | W_f | W_c | W_o], `recurrent_kernel` (u, 4u) likewise,
    `bias` (4u,).
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 implementation: int = 1, seed: Any = None, enable_caching_device: Optional[bool] = None,
                 **kwargs: Any):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, enable_caching_device, **kwargs)
        implementation = _check_implementation(implementation)
        self.implementation = 1 if self.recurrent_dropout != 0 else implementation
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape: Any) -> None:
        self._build_kernels(input_shape)
        if self.unit_forget_bias:
            u, base = self.units, self.bias_initializer

            def bias_initializer(shape: Any, dtype: Any = None) -> np.ndarray:
                # NOTE: the forget block is REPLACED by ones, not incremented (tf-keras, checked on a fixture)
                return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.ones((u,), dtype=dtype),
                                       np.asarray(base((2 * u,), dtype=dtype))]).astype(dtype)
        else:
            bias_initializer = self.bias_initializer
        self._add_bias((4 * self.units,), bias_initializer)

    def call(self, inputs: Tensor, states: Sequence[Tensor], training: Any = None) -> Tuple[Tensor, List[Tensor]]:
        h_tm1, c_tm1 = states[0], states[1]
        u = self.units
        dp = self.get_dropout_mask_for_cell(inputs, training, count=4)
        rdp = self.get_recurrent_dropout_mask_for_cell(h_tm1, training, count=4)
        k, rk, b = self.kernel, self.recurrent_kernel, self.bias
        ra, act = self.recurrent_activation, self.activation
        if self.implementation == 1:
            def gate(g: int) -> Tensor:
                cols = slice(g * u, (g + 1) * u)
                x = ops.matmul(_times(inputs, None if dp is None else dp[g]), k[:, cols])
                if b is not None:
                    x = x + b[cols]
                return x + ops.matmul(_times(h_tm1, None if rdp is None else rdp[g]), rk[:, cols])
            i = ra(gate(0))
            f = ra(gate(1))
            c = f * c_tm1 + i * act(gate(2))
            o = ra(gate(3))
        else:
            z = ops.matmul(_times(inputs, None if dp is None else dp[0]), k) + ops.matmul(h_tm1, rk)
            if b is not None:
                z = z + b
            i = ra(z[:, :u])
            f = ra(z[:, u:2 * u])
            c = f * c_tm1 + i * act(z[:, 2 * u:3 * u])
            o = ra(z[:, 3 * u:])
        h = o * act(c)
        return h, [h, c]

    def _fused_sequence(self, inputs, states, mask, training, **options):
        act, ract = _fused_activation(self.activation), _fused_activation(self.recurrent_activation)
        if act is None or ract is None:
            return None
        dp, rdp = self._dropout_masks(inputs, options["time_major"], training, 4)
        if dp is not None and self.implementation != 1:
            dp = dp[:1]
        y, h, c = rnn_kernels.lstm_sequence(
            inputs, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1], mask=mask,
            activation=act, recurrent_activation=ract, dropout_mask=dp, recurrent_dropout_mask=rdp, **options)
        return y, [h, c]

    def gate_values(self, inputs: Any, states: Sequence[Any], mask: Optional[np.ndarray] = None,
                    go_backwards: bool = False) -> Dict[str, np.ndarray]:
        """Per-timestep internals of this cell over a sequence (inference, no dropout, no gradients).

        Args:
            inputs: (batch, timesteps, features) array. states: [h0, c0] arrays (batch, units).
            mask: optional (batch, timesteps) booleans. go_backwards: process the sequence from its last step.

        Returns:
            dict of (batch, timesteps, units) arrays in processing order: `i`, `f`, `o`, `c_tilde`, `c`, `h`.

        Raises:
            ValueError: a subclass overrides `call`, so the LSTM gates are not what it computes.
        """
        if type(self).call is not LSTMCell.call:
            raise ValueError(f"The gates of '{self.name}' are unknown: {type(self).__name__} overrides the LSTM "
                             "step (`call`). Received: a cell of type " + type(self).__name__)
        acts = []
        for fn in (self.activation, self.recurrent_activation):
            name = _fused_activation(fn)
            acts.append(name if name is not None else _numpy_activation(fn))
        dtype = np.result_type(self.kernel.dtype, np.float32)
        weights = [None if w is None else np.asarray(w.data, dtype=dtype) for w in
                   (self.kernel, self.recurrent_kernel, self.bias)]
        return rnn_kernels.lstm_gate_values(np.asarray(inputs, dtype=dtype), *weights,
                                            h0=np.asarray(states[0], dtype=dtype),
                                            c0=np.asarray(states[1], dtype=dtype), mask=mask, activation=acts[0],
                                            recurrent_activation=acts[1], go_backwards=go_backwards)

    def get_config(self) -> Dict[str, Any]:
        keys = _CELL_KEYS_HEAD + ("unit_forget_bias",) + _REG_KEYS + _CONSTRAINT_KEYS + (
            "dropout", "recurrent_dropout", "implementation")
        return {**super().get_config(), **self._config(keys), **_caching_device_config(self), **self._seed_config()}


_FUSABLE_CALLS = frozenset({SimpleRNNCell.call, GRUCell.call, LSTMCell.call})


class StackedRNNCells(Layer):
    """Wrapper making a list of RNN cells behave as one cell (the output of each feeds the next).

    Args:
        cells: list of cells. The states are the cells' states, concatenated in order.

    >>> RNN(StackedRNNCells([SimpleRNNCell(4), SimpleRNNCell(3)]))(np.ones((2, 5, 6), "float32")).shape
    (2, 3)
    """

    def __init__(self, cells: Sequence[Any], **kwargs: Any):
        for cell in cells:
            if "call" not in dir(cell) or "state_size" not in dir(cell):
                raise ValueError("All cells must have a `call` method and a `state_size` attribute. "
                                 f"Received: cells={cells}")
        super().__init__(**kwargs)
        self.cells = list(cells)
        for i, cell in enumerate(self.cells):
            if isinstance(cell, Layer):
                setattr(self, f"cell_{i}", cell)

    @property
    def state_size(self) -> Tuple[Any, ...]:
        return tuple(s for c in self.cells for s in _sizes(c.state_size))

    @property
    def output_size(self) -> Any:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _sizes(last.state_size)[0]

    def get_initial_state(self, inputs: Any = None, batch_size: Optional[int] = None, dtype: Any = None) -> List[Any]:
        return [_zeros_state(batch_size, s, dtype or self.dtype) for s in self.state_size]

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build(shape)
            out = getattr(cell, "output_size", None) or _sizes(cell.state_size)[0]
            shape = (shape[0], out)

    def call(self, inputs: Tensor, states: Sequence[Tensor], training: Any = None) -> Tuple[Tensor, List[Tensor]]:
        new_states: List[Tensor] = []
        pos = 0
        for cell in self.cells:
            n = len(_sizes(cell.state_size))
            inputs, cell_states = _cell_step(cell, inputs, list(states[pos:pos + n]), training)
            new_states.extend(cell_states)
            pos += n
        return inputs, new_states

    def get_config(self) -> Dict[str, Any]:
        # NOTE: minikeras.layers (the package) imports this module: a real cycle
        from minikeras.layers import serialize

        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "StackedRNNCells":
        # NOTE: minikeras.layers (the package) imports this module: a real cycle
        from minikeras.layers import deserialize

        config = dict(config)
        cells = [deserialize(c) for c in config.pop("cells")]
        return cls(cells, **config)


def _sizes(state_size: Any) -> List[Any]:
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


def _cell_step(cell: Any, x: Tensor, states: List[Tensor], training: Any,
               constants: Optional[List[Tensor]] = None) -> Tuple[Tensor, List[Tensor]]:
    """One timestep of any cell: `cell.call(x, states, [training], [constants])` -> (output, [states])."""
    kwargs: Dict[str, Any] = {}
    fn = cell.call if isinstance(cell, Layer) or not callable(cell) else cell
    if getattr(cell, "_call_accepts_training", False) or isinstance(cell, _BuiltinCell):
        kwargs["training"] = training
    if constants:
        kwargs["constants"] = constants
    if isinstance(cell, Layer) and not cell.built:
        cell._maybe_build(tuple(x.shape))
    out, new_states = fn(x, states, **kwargs)
    if not isinstance(new_states, (list, tuple)):
        new_states = [new_states]
    return out, list(new_states)


# ************************************************************ RNN base layer


class RNN(Layer):
    """Base class for recurrent layers: runs a cell over the time axis (tf-keras's `keras.layers.RNN`).

    Args:
        cell: an RNN cell (`call(inputs, states)` -> `(output, new_states)` and a `state_size`), or a list of cells
            (stacked with `StackedRNNCells`).
        return_sequences: return the output of every step (default False: the last output).
        return_state: also return the final states (default False).
        go_backwards: process the sequence from its last step and return the output sequence in that reversed
            order (default False).
        stateful: keep the final states of each batch as the initial states of the next (default False). Needs a
            fixed batch size: `batch_input_shape`/`batch_size`, or the first call's.
        unroll: accepted for compatibility; minikeras always loops in Python (same numbers).
        time_major: inputs and sequence outputs are (timesteps, batch, ...) (default False).
        zero_output_for_mask: masked steps output zeros instead of repeating the previous output (default False;
            Bidirectional sets it).

    Call arguments:
        inputs: (batch, timesteps, features) (or time-major). A list `[inputs, *initial_states]` also works.
        mask: optional (batch, timesteps) booleans (False = skip the step: states are carried over).
        training: whether dropout applies.
        initial_state: optional list of initial state tensors (gradients flow into them).
        constants: optional list of tensors passed to the cell at every step (cells with a `constants` argument).

    Output: the last output `(batch, units)` or, with return_sequences, `(batch, timesteps, units)`; with
    return_state, a list `[output, *final_states]`.

    >>> RNN(LSTMCell(4), return_sequences=True)(np.ones((2, 3, 5), "float32")).shape
    (2, 3, 4)
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, time_major: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. The RNN was passed: cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (tuple of integers, one integer per "
                             f"RNN state). Received: cell={cell}")
        if "input_shape" not in kwargs and ("input_dim" in kwargs or "input_length" in kwargs):
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim", None))
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.time_major = bool(time_major)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = None
        self._states: Optional[List[Variable]] = None
        self._num_constants = 0

    # ------------------------------------------------------------------ states
    @property
    def _state_sizes(self) -> List[Any]:
        return _sizes(self.cell.state_size)

    @property
    def states(self) -> List[Any]:
        """The stateful layer's state variables ([None, ...] until they exist), as Keras 2's `layer.states`."""
        if self._states is None:
            return [None] * len(self._state_sizes)
        return self._states

    @states.setter
    def states(self, states: Any) -> None:
        self._states = states

    def get_initial_state(self, inputs: Any) -> List[Tensor]:
        """The zero initial states for `inputs` (the cell's `get_initial_state` when it has one), as Keras's RNN."""
        shape = np.shape(inputs.data if isinstance(inputs, Tensor) else inputs)
        batch = shape[1] if self.time_major else shape[0]
        get = getattr(self.cell, "get_initial_state", None)
        if get is not None:
            init = get(inputs=None, batch_size=batch, dtype=self.dtype)
            init = init if isinstance(init, (list, tuple)) else [init]
        else:
            init = [_zeros_state(batch, s, self.dtype) for s in self._state_sizes]
        return [self._as_state_tensor(s) for s in init]

    def _batch_size(self) -> Optional[int]:
        spec = self.input_spec[0] if isinstance(self.input_spec, list) and self.input_spec else None
        if spec is None or spec.shape is None:
            return None
        return spec.shape[1] if self.time_major else spec.shape[0]

    def reset_states(self, states: Any = None) -> None:
        """Reset the states of a stateful layer to zeros, or to the given numpy arrays.

        Raises:
            AttributeError: the layer is not stateful.
            ValueError: the batch size is unknown, or `states` has the wrong count or shapes.
        """
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        batch_size = self._batch_size()
        if not batch_size:
            raise ValueError("If a RNN is stateful, it needs to know its batch size. Specify the batch size of your "
                             "input tensors: \n- If using a Sequential model, specify the batch size by passing a "
                             "`batch_input_shape` argument to your first layer.\n- If using the functional API, "
                             "specify the batch size by passing a `batch_shape` argument to your Input layer.")
        sizes = self._state_sizes
        dtype = self.dtype
        if self._states is None or self._states[0] is None:
            self._states = [Variable(_zeros_state(batch_size, s, dtype), trainable=False, name=f"{self.name}/state")
                            for s in sizes]
        if states is None:
            for var in self._states:
                var.data[...] = 0
            return
        flat = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(flat) != len(self._states):
            raise ValueError(f"Layer {self.name} expects {len(self._states)} states, but it received {len(flat)} "
                             f"state values. States received: {states}")
        values = []
        for i, (value, var) in enumerate(zip(flat, self._states)):
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.shape != var.shape:
                raise ValueError(f"State {i} is incompatible with layer {self.name}: expected shape={var.shape} but "
                                 f"found shape={arr.shape}")
            values.append(arr)
        for var, arr in zip(self._states, values):
            var.assign(arr)

    # ------------------------------------------------------------------ build / shapes
    def build(self, input_shape: Any) -> None:
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        shape = tuple(None if d is None else int(d) for d in input_shape)
        expected_ndim = 3 if isinstance(self.cell, _BuiltinCell) else None
        if (expected_ndim is not None and len(shape) != expected_ndim) or len(shape) < 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=3, "
                             f"found ndim={len(shape)}. Full shape received: {shape}")
        batch_index, time_index = (1, 0) if self.time_major else (0, 1)
        spec = list(shape)
        if not self.stateful:
            spec[batch_index] = None
        spec[time_index] = None
        self.input_spec = [InputSpec(shape=tuple(spec))]
        step_shape = (shape[batch_index],) + shape[2:]
        if isinstance(self.cell, Layer):
            self.cell._maybe_build(step_shape)
        elif hasattr(self.cell, "build"):
            self.cell.build(step_shape)
        if self.stateful and shape[batch_index]:
            self.reset_states()

    def compute_output_shape(self, input_shape: Any) -> Any:
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        batch, time = input_shape[0], input_shape[1]
        if self.time_major:
            batch, time = time, batch
        out_size = getattr(self.cell, "output_size", None) or self._state_sizes[0]
        out_dims = tuple(out_size) if isinstance(out_size, (list, tuple)) else (out_size,)
        if self.return_sequences:
            output = ((time, batch) if self.time_major else (batch, time)) + out_dims
        else:
            output = (batch,) + out_dims
        if self.return_state:
            return [output] + [(batch,) + (tuple(s) if isinstance(s, (list, tuple)) else (s,))
                               for s in self._state_sizes]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_sizes)
        return output_mask

    # ------------------------------------------------------------------ call
    @_plain_for_one_tensor  # it only unpacks `[inputs, *states]` lists and the state and constant arguments
    def __call__(self, inputs: Any, *args: Any, initial_state: Any = None, constants: Any = None,
                 **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple)):
            extra = list(inputs[1:])
            inputs = inputs[0]
            if self._num_constants and constants is None and extra:
                constants, extra = extra[-self._num_constants:], extra[:-self._num_constants]
            if extra and initial_state is None:
                initial_state = extra
        if initial_state is not None and not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if initial_state is not None and len(initial_state) == 0:
            initial_state = None
        if initial_state is not None:
            kwargs["initial_state"] = list(initial_state)
        if constants is not None:
            constants = list(constants) if isinstance(constants, (list, tuple)) else [constants]
            self._num_constants = len(constants)
            kwargs["constants"] = constants
        return super().__call__(inputs, *args, **kwargs)

    def _as_state_tensor(self, value: Any) -> Tensor:
        if isinstance(value, Tensor):
            if value.dtype.kind == "f" and value.dtype != self.dtype:
                return ops.cast(value, self.dtype)
            return value
        return _const(np.asarray(value, dtype=self.dtype))

    def _initial_states(self, inputs: Tensor, initial_state: Optional[List[Any]]) -> List[Tensor]:
        batch = inputs.shape[1] if self.time_major else inputs.shape[0]
        sizes = self._state_sizes
        if self.stateful:
            if self._states is None or self._states[0] is None:
                self.input_spec[0].shape = tuple(batch if i == (1 if self.time_major else 0) else d
                                                 for i, d in enumerate(self.input_spec[0].shape))
                self.reset_states()
            if self._states[0].shape[0] != batch:
                raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: a stateful RNN "
                                 f"needs the same batch size at every call, expected {self._states[0].shape[0]}, "
                                 f"but received input with shape {tuple(inputs.shape)}")
            # NOTE: tf-keras uses the given initial_state only while every state is still zero
            if initial_state is None or any(np.any(v.data) for v in self._states):
                # a copy: the variables are overwritten in place after the call, the graph must not see that
                return [_const(v.data.copy()) for v in self._states]
        if initial_state is None:
            return self.get_initial_state(inputs)
        if len(initial_state) != len(sizes):
            raise ValueError(f"Layer has {len(sizes)} states but was passed {len(initial_state)} initial states. "
                             f"Received: initial_state={initial_state}")
        states = [self._as_state_tensor(s) for s in initial_state]
        for i, (s, size) in enumerate(zip(states, sizes)):
            expected = (batch,) + (tuple(size) if isinstance(size, (list, tuple)) else (int(size),))
            if tuple(s.shape) != expected:
                raise ValueError("An `initial_state` was passed that is not compatible with `cell.state_size`. "
                                 f"Received `state_spec`={[tuple(t.shape) for t in states]}; however "
                                 f"`cell.state_size` is {self.cell.state_size}: expected state {i} of shape "
                                 f"{expected}")
        return states

    def _check_mask(self, inputs: Tensor, mask: Any) -> Optional[np.ndarray]:
        if mask is None:
            return None
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
            if mask is None:
                return None
        m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if m.shape != tuple(inputs.shape[:2]):
            layout = "(timesteps, batch)" if self.time_major else "(batch, timesteps)"
            raise ValueError(f"The mask passed to layer '{self.name}' must have shape {layout} = "
                             f"{tuple(inputs.shape[:2])}, matching its input of shape {tuple(inputs.shape)}. "
                             f"Received: mask.shape={m.shape}")
        return m.astype(bool, copy=False)

    def _pure_for_inference(self) -> bool:
        # a stateful layer writes its states; `return_state` returns a list; a user cell may do anything
        return _same_maths(self, RNN) and not self.stateful and not self.return_state \
            and type(self.cell).call in _FUSABLE_CALLS

    def call(self, inputs: Tensor, mask: Any = None, training: Any = None, initial_state: Any = None,
             constants: Any = None) -> Any:
        mask = self._check_mask(inputs, mask)
        states = self._initial_states(inputs, initial_state)
        constants = [self._as_state_tensor(c) for c in constants] if constants else None
        output, new_states = self.run_sequence(inputs, states, mask=mask, training=training, constants=constants)
        if self.stateful:
            for var, s in zip(self._states, new_states):
                var.assign(s.data)
        if self.return_state:
            return [output] + list(new_states)
        return output

    def run_sequence(self, inputs: Tensor, states: List[Tensor], mask: Optional[np.ndarray] = None,
                     training: Any = None, constants: Optional[List[Tensor]] = None,
                     return_sequences: Optional[bool] = None,
                     initial_output: Optional[np.ndarray] = None) -> Tuple[Tensor, List[Tensor]]:
        """Run the cell over a whole sequence from the given states: the one place that decides HOW a recurrence
        runs (`call`, `step` and the gate inspector all come here). Stateful variables are neither read nor written.

        The built-in cells run their fused kernel (one autograd node with hand-written BPTT) unless
        `use_fused_kernels(False)` is active, constants are given, a subclass overrides the cell's `call`, or an
        activation has no fused form; everything else runs the cell's `call` step by step (the composed path).

        Args:
            inputs: (batch, timesteps, features) Tensor ((timesteps, batch, ...) when time_major).
            states: the initial states, one Tensor per `cell.state_size` entry.
            mask: optional (batch, timesteps) booleans (time_major: (timesteps, batch)); a False step carries every
                state and repeats the previous output (zeros with `zero_output_for_mask`).
            training: whether dropout applies.
            constants: optional tensors passed to the cell at every step.
            return_sequences: defaults to the layer's.
            initial_output: the output a masked first step repeats, (batch, units) numpy (default zeros): a stream
                continues its previous step's output. Constant (no gradient).

        Returns:
            `(output, new_states)`: the output sequence (or the last output) and the final states, as Tensors.
        """
        if constants and not _accepts(self.cell, "constants"):
            raise ValueError(f"RNN cell {self.cell} does not support constants. Received: constants={constants}")
        for cell in (self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]):
            if isinstance(cell, DropoutRNNCellMixin):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()
        options = dict(go_backwards=self.go_backwards, time_major=self.time_major,
                       return_sequences=self.return_sequences if return_sequences is None else bool(return_sequences),
                       zero_output_for_mask=self.zero_output_for_mask, initial_output=initial_output)
        # NOTE: a subclass that overrides the cell's `call` gets its own maths, hence the composed path
        if _fused_enabled() and not constants and type(self.cell).call in _FUSABLE_CALLS:
            result = self.cell._fused_sequence(inputs, states, mask, training, **options)
            if result is not None:
                return result
        return self._composed_sequence(inputs, states, mask, training, constants, **options)

    def _composed_sequence(self, inputs: Tensor, states: List[Tensor], mask: Optional[np.ndarray], training: Any,
                           constants: Optional[List[Tensor]], *, go_backwards: bool, time_major: bool,
                           return_sequences: bool, zero_output_for_mask: bool,
                           initial_output: Optional[np.ndarray]) -> Tuple[Tensor, List[Tensor]]:
        """The reference recurrence: the cell's `call` at every step, with Keras's masking rules."""
        T = inputs.shape[0] if time_major else inputs.shape[1]
        order = range(T - 1, -1, -1) if go_backwards else range(T)
        outputs: List[Tensor] = []
        prev_output: Optional[Tensor] = None if initial_output is None else _const(np.asarray(initial_output))
        for t in order:
            x_t = inputs[t] if time_major else inputs[:, t]
            out, new_states = _cell_step(self.cell, x_t, states, training, constants)
            if mask is not None:
                m_t = mask[t] if time_major else mask[:, t]
                cond = _const(m_t.reshape((-1,) + (1,) * (out.ndim - 1)))
                if zero_output_for_mask or prev_output is None:
                    fallback: Any = _const(np.zeros(out.shape, dtype=out.dtype))
                else:
                    fallback = prev_output
                out = ops.where(cond, out, fallback)
                new_states = [ops.where(_const(m_t.reshape((-1,) + (1,) * (s.ndim - 1))), ns, s)
                              for ns, s in zip(new_states, states)]
            states = new_states
            prev_output = out
            if return_sequences:
                outputs.append(out)
        if return_sequences:
            output = ops.stack(outputs, axis=0 if time_major else 1)
        else:
            output = prev_output
        return output, states

    # ------------------------------------------------------------------ one timestep (streaming)
    @property
    def supports_streaming(self) -> bool:
        """Whether the layer can run one timestep at a time (`step`): not when it reads the sequence from its end."""
        return not self.go_backwards

    def step(self, inputs: Any, states: List[Any], mask: Optional[np.ndarray] = None,
             prev_output: Optional[np.ndarray] = None, training: Any = False) -> Tuple[Tensor, List[Tensor]]:
        """One timestep: the same numbers as `run_sequence` on a sequence of length one (the same dispatch).

        Args:
            inputs: (batch, features) Tensor or array, the input of this timestep.
            states: the states before it, one per `cell.state_size` entry (Tensors or arrays).
            mask: optional (batch,) booleans: a False sample carries its states and repeats `prev_output`.
            prev_output: the previous step's output, (batch, units) (default zeros).
            training: whether dropout applies (default False).

        Returns:
            `(output, new_states)`: (batch, units) Tensor and the list of new state Tensors.

        Raises:
            NotImplementedError: the layer has `go_backwards=True` (`supports_streaming` is False).
        """
        if not self.supports_streaming:
            raise NotImplementedError(f"Layer '{self.name}' cannot run one timestep at a time with go_backwards=True: "
                                      "it reads the sequence from its end.")
        x = inputs if isinstance(inputs, Tensor) else _const(np.asarray(inputs, dtype=self.dtype))
        x = x.expand_dims(0 if self.time_major else 1)
        m = None if mask is None else np.asarray(mask, bool).reshape((1, -1) if self.time_major else (-1, 1))
        states = [self._as_state_tensor(s) for s in states]
        return self.run_sequence(x, states, mask=m, training=training, return_sequences=False,
                                 initial_output=prev_output)

    # ------------------------------------------------------------------ config
    def _rnn_config(self) -> Dict[str, Any]:
        config = {"return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                  "time_major": self.time_major}
        if self._num_constants:
            config["num_constants"] = self._num_constants
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = self.zero_output_for_mask
        return config

    def get_config(self) -> Dict[str, Any]:
        # NOTE: minikeras.layers (the package) imports this module: a real cycle
        from minikeras.layers import serialize

        cell = serialize(self.cell)
        cell = {"module": "keras.layers", "class_name": cell["class_name"], "config": cell["config"],
                "registered_name": None}
        return {**super().get_config(), **self._rnn_config(), "cell": cell}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "RNN":
        # NOTE: minikeras.layers (the package) imports this module: a real cycle
        from minikeras.layers import deserialize

        config = dict(config)
        cell = deserialize(config.pop("cell"))
        num_constants = config.pop("num_constants", 0)
        layer = cls(cell, **config)
        layer._num_constants = num_constants
        return layer


def _accepts(cell: Any, name: str) -> bool:
    fn = cell.call if hasattr(cell, "call") else cell
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


# ************************************************************ SimpleRNN, GRU, LSTM


@functools.lru_cache(maxsize=None)
def _cell_arguments(cell_cls: type) -> Tuple[str, ...]:
    """The names of a cell class's own constructor arguments (not `**kwargs`, which go to the base `Layer`)."""
    params = inspect.signature(cell_cls.__init__).parameters.values()
    return tuple(p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


class _CellLayer(RNN):
    """An RNN whose cell is created from the layer's arguments; exposes the cell's settings as properties.

    A subclass keeps Keras's explicit signature and hands its arguments to `_make`: the ones the cell class's
    signature names build the cell, the others (the RNN's, `activity_regularizer`, the base layer keywords) go to
    `RNN`. Its config is the cell's config under the layer's own keys, so a cell argument is written down once, in
    the cell.
    """

    _cell_class: type
    _cell_name: str

    def _make(self, arguments: Dict[str, Any]) -> None:
        """Build the cell and the RNN from `arguments`, the subclass's `__init__` arguments by name."""
        arguments = {k: v for k, v in arguments.items() if k != "self"}
        kwargs = arguments.pop("kwargs")
        kwargs.pop("use_cudnn", None)  # Keras 3's GPU switch: accepted, no effect here
        cell_args = {k: arguments.pop(k) for k in _cell_arguments(self._cell_class) if k in arguments}
        cell = self._cell_class(name=self._cell_name, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), **cell_args)
        RNN.__init__(self, cell, **arguments, **kwargs)
        self.input_spec = [InputSpec(ndim=3)]

    def get_config(self) -> Dict[str, Any]:
        """tf_keras's order: the base layer's keys, the RNN's, then the cell's own (its config without the cell's
        base layer keys), with `activity_regularizer` (the layer's, not the cell's) after `bias_regularizer`."""
        cell_base = Layer.get_config(self.cell)
        config = {**Layer.get_config(self), **self._rnn_config()}
        for key, value in self.cell.get_config().items():
            if key in cell_base:
                continue
            config[key] = value
            if key == "bias_regularizer":
                config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "RNN":
        return cls(**config)

    # properties (Keras exposes the cell's settings on the layer)
    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    use_bias = property(lambda self: self.cell.use_bias)
    kernel_initializer = property(lambda self: self.cell.kernel_initializer)
    recurrent_initializer = property(lambda self: self.cell.recurrent_initializer)
    bias_initializer = property(lambda self: self.cell.bias_initializer)
    kernel_regularizer = property(lambda self: self.cell.kernel_regularizer)
    recurrent_regularizer = property(lambda self: self.cell.recurrent_regularizer)
    bias_regularizer = property(lambda self: self.cell.bias_regularizer)
    kernel_constraint = property(lambda self: self.cell.kernel_constraint)
    recurrent_constraint = property(lambda self: self.cell.recurrent_constraint)
    bias_constraint = property(lambda self: self.cell.bias_constraint)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)


class SimpleRNN(_CellLayer):
    """Fully-connected RNN where the output is fed back to the input.

    `h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`.

    Args:
        units: positive integer, dimensionality of the output space.
        activation: default `'tanh'`.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, activity_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout: as `LSTM`.
        return_sequences, return_state, go_backwards, stateful, unroll, time_major: as `RNN`.
        Also Keras 2's `input_dim`, `input_length` and the base layer keywords.

    Input shape: (batch, timesteps, features). Output shape: (batch, units), or (batch, timesteps, units) with
    return_sequences; with return_state, `[output, h]`.

    Attributes (on `layer.cell`): `kernel` (features, units), `recurrent_kernel` (units, units), `bias` (units,).

    >>> SimpleRNN(4)(np.ones((2, 3, 5), "float32")).shape
    (2, 4)
    """

    _cell_class, _cell_name = SimpleRNNCell, "simple_rnn_cell"

    @interfaces.legacy_recurrent_support
    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, time_major: bool = False,
                 seed: Any = None, enable_caching_device: Optional[bool] = None, **kwargs: Any):
        self._make(locals())  # every argument above, by name (first statement: nothing else is local yet)


class GRU(_CellLayer):
    """Gated Recurrent Unit (Cho et al. 2014), Keras-compatible weights and config.

    `z = ra(x W_z + h U_z + b_z)`, `r = ra(x W_r + h U_r + b_r)`,
    `hh = act(x W_h + (r * h) U_h + b_h)` (reset_after=False) or `act(x W_h + b_h + r * (h U_h + b'_h))`
    (reset_after=True), `h_t = z * h_{t-1} + (1 - z) * hh`.

    Args:
        units: positive integer.
        activation: default `'tanh'`.
        recurrent_activation: default `'hard_sigmoid'` (Keras 2.0; tf-keras >= 2.3 and Keras 3 use `'sigmoid'`).
        use_bias, initializers, regularizers, constraints, dropout, recurrent_dropout: as `LSTM`.
        implementation: 1 (default) or 2; same numbers (dropout: per-gate masks with 1).
        reset_after: default False (Keras 2.0); True is tf-keras/Keras 3's default and cuDNN's form, with a
            (2, 3u) bias.
        return_sequences, return_state, go_backwards, stateful, unroll, time_major: as `RNN`.

    Output: as `SimpleRNN`; with return_state `[output, h]`.

    Attributes (on `layer.cell`): `kernel` (features, 3u) = [W_z | W_r | W_h], `recurrent_kernel` (u, 3u),
    `bias` (3u,) or (2, 3u).

    >>> GRU(4, reset_after=True)(np.ones((2, 3, 5), "float32")).shape
    (2, 4)
    """

    _cell_class, _cell_name = GRUCell, "gru_cell"

    @interfaces.legacy_recurrent_support
    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 implementation: int = 1, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, time_major: bool = False,
                 reset_after: bool = False, seed: Any = None, enable_caching_device: Optional[bool] = None,
                 **kwargs: Any):
        self._make(locals())  # every argument above, by name (first statement: nothing else is local yet)

    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    implementation = property(lambda self: self.cell.implementation)
    reset_after = property(lambda self: self.cell.reset_after)


class LSTM(_CellLayer):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber 1997), Keras-compatible weights and config.

    For each step t, with `ra` the recurrent activation (default hard sigmoid) and `act` the activation (tanh):

        i_t  = ra(x_t W_i + h_{t-1} U_i + b_i)          input gate
        f_t  = ra(x_t W_f + h_{t-1} U_f + b_f)          forget gate
        c~_t = act(x_t W_c + h_{t-1} U_c + b_c)         candidate cell
        c_t  = f_t * c_{t-1} + i_t * c~_t
        o_t  = ra(x_t W_o + h_{t-1} U_o + b_o)          output gate
        h_t  = o_t * act(c_t)

    Args:
        units: positive integer, dimensionality of the output space (and of h and c).
        activation: default `'tanh'`.
        recurrent_activation: default `'hard_sigmoid'` = clip(0.2x + 0.5, 0, 1) (Keras 2.0's default; tf-keras
            >= 2.3 and Keras 3 use `'sigmoid'`, so pass it explicitly for their weights).
        use_bias: default True.
        kernel_initializer: default `'glorot_uniform'`; recurrent_initializer `'orthogonal'`; bias_initializer
            `'zeros'`.
        unit_forget_bias: default True: the forget-gate block of the initial bias is 1.
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer: optional (their
            penalties are in `layer.losses`).
        kernel_constraint, recurrent_constraint, bias_constraint: optional (applied by the optimizer).
        dropout, recurrent_dropout: fractions in [0, 1) of the input / recurrent units dropped in training (one
            mask per call, reused at every step).
        implementation: 1 (default) or 2: same numbers; with dropout, 1 draws one mask per gate.
        return_sequences, return_state, go_backwards, stateful, unroll, time_major: as `RNN`.
        input_dim, input_length: Keras 2's way to give `input_shape=(input_length, input_dim)`.
        seed: optional seed of the dropout masks (Keras 3). use_cudnn, enable_caching_device: accepted, no effect.

    Call arguments: `inputs` (batch, timesteps, features), `mask` (batch, timesteps), `training`,
    `initial_state` ([h0, c0]).

    Output shape: (batch, units), or (batch, timesteps, units) with return_sequences; with return_state
    `[output, h, c]`.

    Attributes (on `layer.cell`, created in this order, which is the order of `layer.weights` and of files):
        kernel: (input_dim, 4 * units) = [W_i | W_f | W_c | W_o].
        recurrent_kernel: (units, 4 * units) = [U_i | U_f | U_c | U_o].
        bias: (4 * units,) = [b_i | b_f | b_c | b_o] (absent with use_bias=False).

    >>> from minikeras.models import Sequential
    >>> model = Sequential()
    >>> model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    >>> model.add(LSTM(256, return_sequences=False))
    >>> [layer.count_params() for layer in model.layers]
    [98816, 394240]
    """

    _cell_class, _cell_name = LSTMCell, "lstm_cell"

    @interfaces.legacy_recurrent_support
    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "hard_sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, implementation: int = 1, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, time_major: bool = False, seed: Any = None,
                 enable_caching_device: Optional[bool] = None, **kwargs: Any):
        self._make(locals())  # every argument above, by name (first statement: nothing else is local yet)

    def gate_values(self, inputs: Any, mask: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """Per-timestep gates and states of this layer on `inputs` (inference: no dropout, no gradients).

        The initial states are zeros, or the current states of a stateful layer (same batch size). Returns the
        dict of `LSTMCell.gate_values`, in processing order (see `minikeras.inspect.lstm_gates`).
        """
        array = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs)
        if not self.built:
            with no_grad():
                self(_const(array[:1].astype(self.dtype)))
        states = self.get_initial_state(array)
        if self.stateful and self._states is not None and self._states[0] is not None \
                and self._states[0].shape[0] == array.shape[0]:
            states = self._states
        return self.cell.gate_values(array, [s.data for s in states], mask=mask, go_backwards=self.go_backwards)

    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)
    implementation = property(lambda self: self.cell.implementation)
