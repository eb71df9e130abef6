"""Weight conversions: Keras 1 per-gate arrays, CuDNNLSTM/CuDNNGRU layouts, and PyTorch state dicts.

The Keras conversions are tf.keras's `preprocess_weights_for_loading` / `_convert_rnn_weights`
(`tf_keras/src/saving/legacy/hdf5_format.py`), applied by the legacy HDF5 loader exactly where Keras applies them.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

import numpy as np


def _class_name(layer: Any) -> str:
    return type(layer).__name__


def preprocess_weights_for_loading(layer: Any, weights: List[np.ndarray],
                                   original_keras_version: str = None) -> List[np.ndarray]:
    """Convert weights read from a legacy HDF5 file to `layer`'s layout (Keras 1 files, CuDNN layouts)."""
    name = _class_name(layer)
    weights = list(weights)
    if name == "Bidirectional":
        half = len(weights) // 2
        weights = (preprocess_weights_for_loading(layer.forward_layer, weights[:half], original_keras_version)
                   + preprocess_weights_for_loading(layer.backward_layer, weights[half:], original_keras_version))
    if name == "TimeDistributed":
        weights = preprocess_weights_for_loading(layer.layer, weights, original_keras_version)
    if original_keras_version == "1":
        if name == "GRU" and len(weights) == 9:
            # Keras 1 GRU: W_z, U_z, b_z, W_r, U_r, b_r, W_h, U_h, b_h -> gate order z, r, h
            weights = [np.concatenate([weights[0], weights[3], weights[6]], axis=-1),
                       np.concatenate([weights[1], weights[4], weights[7]], axis=-1),
                       np.concatenate([weights[2], weights[5], weights[8]], axis=-1)]
        if name == "LSTM" and len(weights) == 12:
            # NOTE: Keras 1 stored i, c, f, o blocks (W_i, U_i, b_i, W_c, ..., W_f, ..., W_o); Keras 2 computes i, f, c, o
            weights = [np.concatenate([weights[0], weights[6], weights[3], weights[9]], axis=-1),
                       np.concatenate([weights[1], weights[7], weights[4], weights[10]], axis=-1),
                       np.concatenate([weights[2], weights[8], weights[5], weights[11]], axis=-1)]
    return convert_rnn_weights(layer, weights)


def _transform_kernels(kernels: np.ndarray, func: Any, n_gates: int) -> np.ndarray:
    return np.hstack([func(k) for k in np.hsplit(kernels, n_gates)])


def _transpose_input(from_cudnn: bool) -> Any:
    order = "F" if from_cudnn else "C"
    return lambda kernel: kernel.T.reshape(kernel.shape, order=order)


def convert_rnn_weights(layer: Any, weights: List[np.ndarray]) -> List[np.ndarray]:
    """Convert between CuDNNLSTM and LSTM, CuDNNGRU and GRU(reset_after=True) layouts, detected by bias shape."""
    target = _class_name(layer)
    if target == "LSTM" and len(weights) == 3:
        units = weights[1].shape[0]
        bias_shape = weights[2].shape
        if bias_shape == (8 * units,):
            kernels = _transform_kernels(weights[0], _transpose_input(True), 4)
            recurrent = _transform_kernels(weights[1], lambda k: k.T, 4)
            biases = np.sum(np.split(weights[2], 2, axis=0), axis=0)
            return [kernels, recurrent, biases]
        if bias_shape != (4 * units,):
            raise ValueError(f"Invalid LSTM bias shape in the file: expected ({4 * units},) or, for CuDNNLSTM, "
                             f"({8 * units},). Received: bias shape {bias_shape}")
    if target == "GRU" and len(weights) == 3:
        units = weights[1].shape[0]
        bias_shape = weights[2].shape
        if bias_shape == (6 * units,):
            source = "CuDNNGRU"
        elif bias_shape == (2, 3 * units):
            source = "GRU(reset_after=True)"
        elif bias_shape == (3 * units,):
            source = "GRU(reset_after=False)"
        else:
            raise ValueError(f"Invalid GRU bias shape in the file. Received: bias shape {bias_shape}")
        dest = "GRU(reset_after=True)" if getattr(layer, "reset_after", False) else "GRU(reset_after=False)"
        if source != dest:
            if "GRU(reset_after=False)" in (source, dest):
                raise ValueError(f"{source} is not compatible with {dest}")
            kernels = _transform_kernels(weights[0], _transpose_input(True), 3)
            recurrent = _transform_kernels(weights[1], lambda k: k.T, 3)
            return [kernels, recurrent, np.array(weights[2]).reshape((2, -1))]
    return weights


# ------------------------------------------------------------------------------------------ PyTorch


def _rzn_to_zrn(a: np.ndarray) -> np.ndarray:
    r, z, n = np.split(a, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def _zrn_to_rzn(a: np.ndarray) -> np.ndarray:
    z, r, n = np.split(a, 3, axis=0)
    return np.concatenate([r, z, n], axis=0)


def _suffixes(num_layers: int, bidirectional: bool) -> List[str]:
    out = []
    for k in range(num_layers):
        out.append(f"l{k}")
        if bidirectional:
            out.append(f"l{k}_reverse")
    return out


def torch_lstm_to_keras(state_dict: Dict[str, Any], num_layers: int = 1,
                        bidirectional: bool = False) -> List[List[np.ndarray]]:
    """`nn.LSTM` state dict (numpy arrays) -> per layer/direction `[kernel, recurrent_kernel, (bias)]` for Keras LSTM.

    Keras has one bias per gate block, so PyTorch's `bias_ih + bias_hh` become one `bias`. Directions are listed
    forward then reverse for each layer, the order `Bidirectional.set_weights` expects after concatenation.

    >>> sd = {"weight_ih_l0": np.zeros((8, 3)), "weight_hh_l0": np.zeros((8, 2)),
    ...       "bias_ih_l0": np.ones(8), "bias_hh_l0": np.ones(8)}
    >>> [w.shape for w in torch_lstm_to_keras(sd)[0]]
    [(3, 8), (2, 8), (8,)]
    """
    out = []
    for s in _suffixes(num_layers, bidirectional):
        w_ih, w_hh = np.asarray(state_dict[f"weight_ih_{s}"]), np.asarray(state_dict[f"weight_hh_{s}"])
        if f"weight_hr_{s}" in state_dict:
            raise NotImplementedError("LSTM projections (`proj_size > 0`) have no Keras equivalent. "
                                      f"Received: weight_hr_{s}")
        ws = [w_ih.T.copy(), w_hh.T.copy()]
        if f"bias_ih_{s}" in state_dict:
            ws.append(np.asarray(state_dict[f"bias_ih_{s}"]) + np.asarray(state_dict[f"bias_hh_{s}"]))
        out.append(ws)
    return out


def keras_lstm_to_torch(weights: Sequence[Sequence[np.ndarray]], bidirectional: bool = False) -> Dict[str, np.ndarray]:
    """Inverse of `torch_lstm_to_keras`: Keras LSTM weights per layer/direction -> an `nn.LSTM` state dict.

    The Keras bias goes to `bias_ih`; `bias_hh` is zero (any split with the same sum computes the same function).
    """
    num_layers = len(weights) // (2 if bidirectional else 1)
    sd: Dict[str, np.ndarray] = {}
    for s, ws in zip(_suffixes(num_layers, bidirectional), weights):
        sd[f"weight_ih_{s}"] = np.ascontiguousarray(ws[0].T)
        sd[f"weight_hh_{s}"] = np.ascontiguousarray(ws[1].T)
        if len(ws) > 2:
            sd[f"bias_ih_{s}"] = np.asarray(ws[2]).copy()
            sd[f"bias_hh_{s}"] = np.zeros_like(ws[2])
    return sd


def torch_gru_to_keras(state_dict: Dict[str, Any], num_layers: int = 1,
                       bidirectional: bool = False) -> List[List[np.ndarray]]:
    """`nn.GRU` state dict -> Keras `GRU(reset_after=True)` weights (gate blocks r, z, n reordered to z, r, h;
    bias `(2, 3u)`: row 0 input bias, row 1 recurrent bias)."""
    out = []
    for s in _suffixes(num_layers, bidirectional):
        ws = [_rzn_to_zrn(np.asarray(state_dict[f"weight_ih_{s}"])).T.copy(),
              _rzn_to_zrn(np.asarray(state_dict[f"weight_hh_{s}"])).T.copy()]
        if f"bias_ih_{s}" in state_dict:
            ws.append(np.stack([_rzn_to_zrn(np.asarray(state_dict[f"bias_ih_{s}"])),
                                _rzn_to_zrn(np.asarray(state_dict[f"bias_hh_{s}"]))]))
        out.append(ws)
    return out


def keras_gru_to_torch(weights: Sequence[Sequence[np.ndarray]], bidirectional: bool = False) -> Dict[str, np.ndarray]:
    """Inverse of `torch_gru_to_keras` (Keras GRU must use `reset_after=True`)."""
    num_layers = len(weights) // (2 if bidirectional else 1)
    sd: Dict[str, np.ndarray] = {}
    for s, ws in zip(_suffixes(num_layers, bidirectional), weights):
        sd[f"weight_ih_{s}"] = np.ascontiguousarray(_zrn_to_rzn(ws[0].T))
        sd[f"weight_hh_{s}"] = np.ascontiguousarray(_zrn_to_rzn(ws[1].T))
        if len(ws) > 2:
            bias = np.asarray(ws[2])
            if bias.ndim != 2:
                raise ValueError("PyTorch's GRU matches Keras's GRU(reset_after=True), whose bias has shape (2, 3u). "
                                 f"Received: bias shape {bias.shape}")
            sd[f"bias_ih_{s}"] = _zrn_to_rzn(bias[0])
            sd[f"bias_hh_{s}"] = _zrn_to_rzn(bias[1])
    return sd


def torch_linear_to_keras(state_dict: Dict[str, Any], prefix: str = "") -> List[np.ndarray]:
    """`nn.Linear` state dict -> Keras `Dense` `[kernel, (bias)]`."""
    ws = [np.asarray(state_dict[f"{prefix}weight"]).T.copy()]
    if f"{prefix}bias" in state_dict:
        ws.append(np.asarray(state_dict[f"{prefix}bias"]).copy())
    return ws


def keras_dense_to_torch(weights: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
    """Keras `Dense` `[kernel, (bias)]` -> `nn.Linear` state dict."""
    sd = {"weight": np.ascontiguousarray(weights[0].T)}
    if len(weights) > 1:
        sd["bias"] = np.asarray(weights[1]).copy()
    return sd
