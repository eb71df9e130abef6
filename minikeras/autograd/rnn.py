"""Fused sequence kernels: a whole LSTM / GRU / SimpleRNN layer call as ONE autograd node with hand-written BPTT.

The composed path in `minikeras.layers.recurrent` builds ~20 autograd nodes per timestep and is the readable
reference (and the test oracle). These kernels compute the same numbers with far less Python work:

* forward: the inputs of all timesteps are projected before the loop (`x.reshape(T*N, F) @ kernel + bias`, one
  GEMM per gate block); each step then does ONE `h @ recurrent_kernel` GEMM into an `(N, 4u)` block (Keras's
  packing i, f, c, o; GRU z, r, h) and the gate maths with in-place ufuncs on preallocated buffers. The gate
  buffers are gate-major `(4, N, u)`, so each gate is a contiguous block: cheap ufuncs run several times faster on
  contiguous memory than on column slices;
* backward: the activation derivatives of all steps are computed before the loop with a few large ufuncs; each step
  then computes only the gate gradients and `dh = dz @ recurrent_kernel.T`; the weight gradients are two large
  GEMMs after the loop (`X^T dZ`, `H_{t-1}^T dZ`) and the input gradient one more;
* under `no_grad()` nothing is stored for backward.

Semantics are tf-keras 2.21's `backend.rnn` (also Keras 3's): with `go_backwards` the sequence is processed from the
last step and the output sequence is returned in that (reversed) order; a masked step carries every state and
repeats the previous output (zeros before the first unmasked step), or outputs zeros with `zero_output_for_mask`.
Dropout masks are drawn by the caller, once per call, and reused at every step: `dropout_mask` is `(1, N, F)` (one
mask for all gates, Keras's implementation 2) or `(G, N, F)` (one per gate, implementation 1);
`recurrent_dropout_mask` is `(G, N, u)` for LSTM (G=4) and GRU (G=3), `(1, N, u)` for SimpleRNN.

Activations are given by name (`ACTIVATIONS`): each has an in-place numpy forward and its derivative. That covers
every Keras activation that makes sense inside a cell (not softmax, log_softmax, crelu, mish, hard_silu); the layer
falls back to the composed path for those and for user callables.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from minikeras.autograd.function import Function
from minikeras.autograd.tensor import Tensor

__all__ = ["ACTIVATIONS", "LSTMSequence", "GRUSequence", "SimpleRNNSequence", "lstm_sequence", "gru_sequence",
           "simple_rnn_sequence", "lstm_gate_values"]

# ************************************************************ activations (numpy forward in place + derivative)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _Act:
    """One activation for the fused kernels.

    `forward(a)` overwrites the pre-activation array `a` with the activation (in place, no allocation where numpy
    allows). `deriv(y, z)` returns the derivative at each element, from the output `y` or, when `needs_input`, from
    the pre-activation `z` (the kernels then keep a copy of `z`). `identity` lets the kernels skip a multiply.
    """

    __slots__ = ("name", "forward", "deriv", "needs_input", "identity", "into")

    def __init__(self, name: str, forward: Callable[[np.ndarray], None],
                 deriv: Callable[[np.ndarray, Optional[np.ndarray]], Any], needs_input: bool = False,
                 identity: bool = False, into: Optional[Callable[[np.ndarray, np.ndarray], Any]] = None):
        self.name, self.forward, self.deriv = name, forward, deriv
        self.needs_input, self.identity = needs_input, identity
        #: `into(src, out)`: out = activation(src), leaving src untouched
        self.into = into or self._copy_then_forward

    def _copy_then_forward(self, src: np.ndarray, out: np.ndarray) -> None:
        np.copyto(out, src)
        self.forward(out)

    def __repr__(self) -> str:
        return f"<fused activation {self.name}>"


def _sigmoid_(a: np.ndarray) -> None:
    # NOTE: 1 / (1 + exp(-x)): exp costs half of tanh in numpy. exp(-x) overflows to inf below x = -88 (float32),
    # which gives the right limit 0; the kernels run under np.errstate(over="ignore").
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.add(a, 1.0, out=a)
    np.reciprocal(a, out=a)


def _sigmoid_np(z: np.ndarray) -> np.ndarray:
    out = np.array(z, copy=True)
    with np.errstate(over="ignore"):
        _sigmoid_(out)
    return out


def _hard_sigmoid(slope: float) -> Tuple[Callable, Callable]:
    def forward(a: np.ndarray) -> None:
        np.multiply(a, slope, out=a)
        np.add(a, 0.5, out=a)
        # NOTE: two ufuncs: np.clip's Python-level dispatch costs more than the maths on small arrays
        np.minimum(a, 1.0, out=a)
        np.maximum(a, 0.0, out=a)

    def deriv(y: np.ndarray, z: Any) -> np.ndarray:
        return np.where((y > 0) & (y < 1), y.dtype.type(slope), y.dtype.type(0))
    return forward, deriv


def _elu_forward(a: np.ndarray) -> None:
    neg = np.expm1(np.minimum(a, 0))
    np.copyto(a, neg, where=a <= 0)


def _selu_forward(a: np.ndarray) -> None:
    neg = np.expm1(np.minimum(a, 0))
    neg *= _SELU_ALPHA
    np.copyto(a, neg, where=a <= 0)
    a *= _SELU_SCALE


def _leaky_forward(a: np.ndarray) -> None:
    np.copyto(a, a * a.dtype.type(0.2), where=a < 0)


def _erf(x: np.ndarray) -> np.ndarray:
    # NOTE: numpy has no erf; math.erf is exact to double precision (gelu is rare inside an RNN cell)
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)


def _gelu_forward(a: np.ndarray) -> None:
    a *= 0.5 * (1.0 + _erf(a / math.sqrt(2.0)))


def _gelu_deriv(y: Any, z: np.ndarray) -> np.ndarray:
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    return cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _swish_forward(a: np.ndarray) -> None:
    a *= _sigmoid_np(a)


def _swish_deriv(y: Any, z: np.ndarray) -> np.ndarray:
    s = _sigmoid_np(z)
    return s + z * s * (1 - s)


def _softplus_forward(a: np.ndarray) -> None:
    np.logaddexp(a.dtype.type(0), a, out=a)


_HS2 = _hard_sigmoid(0.2)
_HS3 = _hard_sigmoid(1.0 / 6.0)

#: Activations the fused kernels implement, by name. `hard_sigmoid` is Keras 1/2's `clip(0.2x + 0.5, 0, 1)`,
#: `hard_sigmoid_keras3` Keras 3's `clip(x/6 + 0.5, 0, 1)`.
ACTIVATIONS: Dict[str, _Act] = {a.name: a for a in (
    _Act("tanh", lambda a: np.tanh(a, out=a), lambda y, z: 1 - y * y, into=lambda a, out: np.tanh(a, out=out)),
    _Act("sigmoid", _sigmoid_, lambda y, z: y * (1 - y)),
    _Act("hard_sigmoid", *_HS2),
    _Act("hard_sigmoid_keras3", *_HS3),
    _Act("linear", lambda a: None, lambda y, z: 1, identity=True),
    _Act("relu", lambda a: np.maximum(a, 0, out=a), lambda y, z: (y > 0).astype(y.dtype)),
    _Act("relu6", lambda a: np.maximum(np.minimum(a, 6, out=a), 0, out=a), lambda y, z: ((y > 0) & (y < 6)).astype(y.dtype)),
    _Act("leaky_relu", _leaky_forward, lambda y, z: np.where(y > 0, y.dtype.type(1),
                                                             np.where(y < 0, y.dtype.type(0.2), y.dtype.type(0)))),
    _Act("softsign", lambda a: np.divide(a, 1 + np.abs(a), out=a), lambda y, z: (1 - np.abs(y)) ** 2),
    _Act("elu", _elu_forward, lambda y, z: np.where(y > 0, y.dtype.type(1), y + 1)),
    _Act("selu", _selu_forward, lambda y, z: np.where(y > 0, y.dtype.type(_SELU_SCALE), y + _SELU_SCALE * _SELU_ALPHA)),
    _Act("softplus", _softplus_forward, lambda y, z: _sigmoid_np(z), needs_input=True),
    _Act("exponential", lambda a: np.exp(a, out=a), lambda y, z: y),
    _Act("swish", _swish_forward, _swish_deriv, needs_input=True),
    _Act("gelu", _gelu_forward, _gelu_deriv, needs_input=True),
)}


def _forward_only(fn: Callable[[np.ndarray], np.ndarray]) -> _Act:
    """Any numpy activation `fn(array) -> array` as a forward-only kernel activation (inspection, no backward)."""
    def forward(a: np.ndarray) -> None:
        np.copyto(a, fn(a))

    def no_deriv(y: Any, z: Any) -> Any:
        raise TypeError(f"{fn!r} is a forward-only activation: the kernels cannot differentiate it")
    return _Act(getattr(fn, "__name__", repr(fn)), forward, no_deriv)


def _act(name: Any) -> _Act:
    if callable(name):
        return _forward_only(name)
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"The fused RNN kernels have no activation named {name!r}, expected one of "
                         f"{sorted(ACTIVATIONS)}. Received: activation={name!r}") from None


# ************************************************************ shared plumbing


def _to_processing_order(x: np.ndarray, time_major: bool, go_backwards: bool) -> np.ndarray:
    """(N, T, ...) or (T, N, ...) -> contiguous (T, N, ...) in the order the steps are processed."""
    xt = x if time_major else x.swapaxes(0, 1)
    if go_backwards:
        xt = xt[::-1]
    return np.ascontiguousarray(xt)


def _from_processing_order(a: np.ndarray, time_major: bool, go_backwards: bool) -> np.ndarray:
    """Inverse of `_to_processing_order` for a gradient (T, N, ...) -> the input's layout."""
    if go_backwards:
        a = a[::-1]
    return a if time_major else a.swapaxes(0, 1)


def _mask_steps(mask: Optional[np.ndarray], time_major: bool, go_backwards: bool, T: int, N: int, dtype: Any):
    """Per processing step: None (every sample active) or a tuple `(inactive bool (N, 1), active float (N, 1),
    inactive float (N, 1))`."""
    if mask is None:
        return None
    m = np.asarray(mask).astype(bool, copy=False)
    m = _to_processing_order(m, time_major, go_backwards)
    if m.shape != (T, N):
        raise ValueError(f"The mask must have shape (batch, timesteps) = {(N, T)} (or (timesteps, batch) when "
                         f"time_major). Received: mask.shape={np.shape(mask)}")
    steps = []
    for t in range(T):
        mt = m[t]
        if mt.all():
            steps.append(None)
        else:
            active = mt[:, None].astype(dtype)
            steps.append((~mt[:, None], active, 1 - active))
    return steps


_SMALL = 1 << 15  # elements of a projection below which one GEMM + a copy beats one GEMM per gate


def _project_inputs(xt: np.ndarray, kernel: np.ndarray, bias: Optional[np.ndarray],
                    dp: Optional[np.ndarray], gates: int) -> np.ndarray:
    """All timesteps' input projections, x @ kernel + bias, GATE-MAJOR: (T, N, F) -> (G, T, N, u).

    Gate-major so that every gate of a step is one contiguous (N, u) block: numpy's cheap ufuncs run several times
    faster on contiguous blocks than on the column slices of an (N, G*u) array.
    """
    T, N, F = xt.shape
    width = kernel.shape[1]
    u = width // gates
    dtype = np.result_type(xt, kernel)
    out = np.empty((gates, T * N, u), dtype=dtype)
    shared = None if dp is None else (xt * dp[0]).reshape(T * N, F) if dp.shape[0] == 1 else None
    if (dp is None or shared is not None) and T * N * width <= _SMALL:
        # small (inference on a few samples): one GEMM and one copy cost less than a call per gate
        z = (xt.reshape(T * N, F) if dp is None else shared) @ kernel
        if bias is not None:
            z += bias
        np.copyto(out, z.reshape(T * N, gates, u).transpose(1, 0, 2))
        return out.reshape(gates, T, N, u)
    for g in range(gates):
        # NOTE: one GEMM per gate straight into its contiguous block: no (T*N, G*u) temporary to copy from
        # (a fresh multi-MB temporary costs more in page faults than the copy itself)
        cols = slice(g * u, (g + 1) * u)
        if dp is None:
            xs = xt.reshape(T * N, F)
        elif shared is not None:
            xs = shared
        else:
            xs = (xt * dp[g]).reshape(T * N, F)  # Keras implementation 1: a separate input mask per gate
        np.matmul(xs, kernel[:, cols], out=out[g])
        if bias is not None:
            out[g] += bias[cols]
    return out.reshape(gates, T, N, u)


def _input_grads(xt: np.ndarray, kernel: np.ndarray, dp: Optional[np.ndarray], dz: np.ndarray, gates: int,
                 need_x: bool, need_k: bool) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Gradients of `_project_inputs` w.r.t. x (T, N, F) and kernel, as two large GEMMs."""
    T, N, F = xt.shape
    width = kernel.shape[1]
    dz2 = dz.reshape(T * N, width)
    dx = dk = None
    if dp is None or dp.shape[0] == 1:
        if need_k:
            xs = xt if dp is None else xt * dp[0]
            dk = xs.reshape(T * N, F).T @ dz2
        if need_x:
            dx = (dz2 @ kernel.T).reshape(T, N, F)
            if dp is not None:
                dx *= dp[0]
    else:
        u = width // gates
        if need_k:
            dk = np.empty_like(kernel)
        if need_x:
            dx = np.zeros((T, N, F), dtype=dz.dtype)
        for g in range(gates):
            cols = slice(g * u, (g + 1) * u)
            if need_k:
                dk[:, cols] = (xt * dp[g]).reshape(T * N, F).T @ dz2[:, cols]
            if need_x:
                dx += (dz2[:, cols] @ kernel[:, cols].T).reshape(T, N, F) * dp[g]
    return dx, dk


def _split_weights(u_mat: np.ndarray, gates: int) -> np.ndarray:
    """(u, G*u) -> (G, u, u): the per-gate recurrent kernels stacked for one batched matmul."""
    u = u_mat.shape[0]
    return np.ascontiguousarray(u_mat.reshape(u, gates, u).transpose(1, 0, 2))


def _check_shapes(name: str, xt: np.ndarray, kernel: np.ndarray, rk: np.ndarray, h0: np.ndarray, gates: int) -> None:
    T, N, F = xt.shape
    u = rk.shape[0]
    if kernel.shape != (F, gates * u) or rk.shape != (u, gates * u) or h0.shape != (N, u):
        raise ValueError(f"{name}: incompatible shapes, expected x (.., {F}), kernel ({F}, {gates * u}), "
                         f"recurrent_kernel ({u}, {gates * u}), initial state ({N}, {u}). Received: x {xt.shape} "
                         f"(processing order), kernel {kernel.shape}, recurrent_kernel {rk.shape}, "
                         f"state {h0.shape}")


def _output_grads(grad_y: np.ndarray, return_sequences: bool, time_major: bool, go_backwards: bool):
    """The gradient of the layer output per processing step: (T, N, u) array, or None + the last step's grad."""
    if return_sequences:
        # NOTE: the output sequence is already in processing order (Keras returns it reversed with go_backwards)
        return _to_processing_order(grad_y, time_major, False), None
    return None, grad_y


class _Outputs:
    """Builds the output of every step: the new h where the sample is active, else the carried / zero output."""

    def __init__(self, T: int, N: int, u: int, dtype: Any, masked: bool, return_sequences: bool,
                 zero_output_for_mask: bool, hs: np.ndarray, initial_output: Optional[np.ndarray] = None):
        self.return_sequences = return_sequences
        self.masked = masked
        self.zero = zero_output_for_mask
        if return_sequences and not masked:
            self.Y = hs[1:]  # NOTE: without a mask the outputs ARE the h states: no copy
        elif return_sequences:
            self.Y = np.empty((T, N, u), dtype=dtype)
        self.prev = None
        if masked:
            self.prev = np.zeros((N, u), dtype=dtype) if initial_output is None else \
                np.array(initial_output, dtype=dtype, copy=True)

    def step(self, t: int, h_new: np.ndarray, m: Any) -> None:
        """Record step t's output; `h_new` is the h state after masking (the new h wherever `m` is active)."""
        if not self.masked:
            return
        out = self.Y[t] if self.return_sequences else np.empty_like(h_new)
        np.copyto(out, h_new)
        if m is not None:
            np.copyto(out, 0 if self.zero else self.prev, where=m[0])
        self.prev = out

    def result(self, hs: np.ndarray, time_major: bool) -> np.ndarray:
        if self.return_sequences:
            return self.Y if time_major else self.Y.swapaxes(0, 1)
        return self.prev if self.masked else hs[-1]


def _backprop_output(t: int, dh: np.ndarray, gy_seq: Optional[np.ndarray], gy_last: Optional[np.ndarray],
                     T: int, m: Any, masked: bool, zero_output: bool, carry: list) -> None:
    """Add the gradient of step t's output into dh (the gradient of the post-mask h state of step t)."""
    g = gy_seq[t] if gy_seq is not None else (gy_last if t == T - 1 else None)
    if not masked:
        if g is not None:
            dh += g
        return
    if zero_output:
        if g is not None:
            dh += g if m is None else g * m[1]
        return
    # NOTE: a masked step repeats the previous step's output, so its output gradient flows on to that step
    if carry[0] is not None:
        g = carry[0] if g is None else g + carry[0]
    if g is None:
        return
    if m is None:
        dh += g
        carry[0] = None
    else:
        dh += g * m[1]
        carry[0] = g * m[2]


# ************************************************************ LSTM


def _lstm_forward(x, kernel, rk, bias, h0, c0, *, mask, go_backwards, time_major, return_sequences,
                  zero_output_for_mask, initial_output, activation, recurrent_activation, dropout_mask, recurrent_dropout_mask,
                  store):
    act, ract = _act(activation), _act(recurrent_activation)
    dtype = np.result_type(x, kernel, rk, h0)
    xt = _to_processing_order(x, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
    _check_shapes("LSTMSequence", xt, kernel, rk, h0, 4)
    steps = _mask_steps(mask, time_major, go_backwards, T, N, dtype)
    rdp = recurrent_dropout_mask
    zx = _project_inputs(xt, kernel, bias, dropout_mask, 4)      # (4, T, N, u)
    u4 = _split_weights(rk, 4) if rdp is not None else None

    keep_z = store and (act.needs_input or ract.needs_input)
    S = T if store else 1
    A = np.empty((S, 4, N, u), dtype=dtype)             # activated gates i, f, c~, o (gate-major per step)
    Zp = np.empty((S, 4, N, u), dtype=dtype) if keep_z else None
    Hs = np.empty((T + 1, N, u), dtype=dtype)           # h states after each step (after masking)
    Hs[0] = h0
    Cs = np.empty((T + 1 if store else 2, N, u), dtype=dtype)
    Cs[0] = c0
    # new c before masking; without a mask it is the c state itself
    Cn = (Cs[1:] if store else None) if steps is None else np.empty((S, N, u), dtype=dtype)
    TC = np.empty((S, N, u), dtype=dtype)               # activation(c_new)
    tmp = np.empty((N, u), dtype=dtype)
    rec = np.empty((N, 4 * u), dtype=dtype)             # h @ recurrent_kernel: ONE GEMM per step
    rec4 = rec.reshape(N, 4, u).transpose(1, 0, 2)      # ... seen gate-major
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs,
                   initial_output)
    with np.errstate(over="ignore"):
        for t in range(T):
            k = t if store else 0
            h = Hs[t]
            c = Cs[t] if store else Cs[t % 2]
            a = A[k]
            if rdp is None:
                np.matmul(h, rk, out=rec)
                np.add(zx[:, t], rec4, out=a)
            else:
                # NOTE: implementation 1's per-gate recurrent dropout: h * mask_g @ U_g, one batched matmul
                np.add(zx[:, t], np.matmul(h[None] * rdp, u4), out=a)
            if keep_z:
                np.copyto(Zp[k], a)
            ract.forward(a[:2])
            act.forward(a[2])
            ract.forward(a[3])
            c_next = Cs[t + 1] if store else Cs[(t + 1) % 2]
            cn = c_next if steps is None else Cn[k]
            np.multiply(a[1], c, out=cn)
            np.multiply(a[0], a[2], out=tmp)
            cn += tmp
            tc = TC[k]
            act.into(cn, tc)
            hn = Hs[t + 1]
            np.multiply(a[3], tc, out=hn)
            if steps is not None:
                m = steps[t]
                np.copyto(c_next, cn)
                if m is not None:
                    np.copyto(c_next, c, where=m[0])
                    np.copyto(hn, h, where=m[0])
                outs.step(t, hn, m)
    c_last = Cs[T] if store else Cs[T % 2]
    y = outs.result(Hs, time_major)
    saved = None
    if store:
        saved = dict(xt=xt, A=A, Zp=Zp, Hs=Hs, Cs=Cs, Cn=Cn, TC=TC, steps=steps, u4=u4)
    return y, Hs[T], c_last, saved


class LSTMSequence(Function):
    """A whole LSTM layer call (Keras gate packing i, f, c, o) as one node; backward is hand-written BPTT.

    Inputs: x, kernel, recurrent_kernel, [bias], h0, c0. Outputs: (output, h_T, c_T), the output being the
    sequence (processing order) or the last step's output.
    """

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, mask=None, go_backwards=False, time_major=False,
                return_sequences=False, zero_output_for_mask=False, initial_output=None, activation="tanh",
                recurrent_activation="sigmoid", dropout_mask=None, recurrent_dropout_mask=None):
        bias, h0, c0 = (rest[0], rest[1], rest[2]) if has_bias else (None, rest[0], rest[1])
        store = getattr(ctx, "needs_input_grad", None) is not None
        y, h, c, saved = _lstm_forward(
            x, kernel, rk, bias, h0, c0, mask=mask, go_backwards=go_backwards, time_major=time_major,
            return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask, initial_output=initial_output,
            activation=activation,
            recurrent_activation=recurrent_activation, dropout_mask=dropout_mask,
            recurrent_dropout_mask=recurrent_dropout_mask, store=store)
        if store:
            ctx.saved = saved
            ctx.kernel, ctx.rk, ctx.has_bias = kernel, rk, has_bias
            ctx.opts = dict(go_backwards=go_backwards, time_major=time_major, return_sequences=return_sequences,
                            zero_output_for_mask=zero_output_for_mask, act=_act(activation),
                            ract=_act(recurrent_activation), dp=dropout_mask, rdp=recurrent_dropout_mask)
        return y, h, c

    @staticmethod
    def backward(ctx, grads):
        gy, ghT, gcT = grads
        s, o = ctx.saved, ctx.opts
        kernel, rk = ctx.kernel, ctx.rk
        act, ract, rdp = o["act"], o["ract"], o["rdp"]
        xt, A, Zp, Hs, Cs, Cn, TC, steps, u4 = (s[k] for k in ("xt", "A", "Zp", "Hs", "Cs", "Cn", "TC", "steps",
                                                                "u4"))
        T, N, _ = xt.shape
        u = rk.shape[0]
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"], o["go_backwards"])
        masked = steps is not None
        dtype = Hs.dtype
        dh = np.array(ghT, dtype=dtype, copy=True)
        dc = np.array(gcT, dtype=dtype, copy=True)
        carry = [None]
        # NOTE: every derivative is computed for the whole sequence at once (a few large ufuncs); the step loop
        # then needs ~7 small ones, on contiguous gate-major blocks: dz_o = dh*P_o, dc_new = dc + dh*Q,
        # dz_ifc = dc_new*P_ifc, dc = dc_new*f, one copy to the (N, 4u) row layout, dh = dz @ U^T
        P = np.empty((T, 4, N, u), dtype=dtype)
        for g, fn in ((0, ract), (1, ract), (2, act), (3, ract)):
            P[:, g] = 1 if fn.identity else fn.deriv(A[:, g], None if Zp is None else Zp[:, g])
        P[:, 0] *= A[:, 2]                   # di = dc_new * c~ * ra'(z_i)
        P[:, 1] *= Cs[:-1]                   # df = dc_new * c_prev * ra'(z_f)
        P[:, 2] *= A[:, 0]                   # dc~ = dc_new * i * act'(z_c)
        P[:, 3] *= TC                        # do = dh * act(c) * ra'(z_o)
        Q = A[:, 3] * (1 if act.identity else act.deriv(TC, Cn))  # dc_new += dh * o * act'(c)
        dZ = np.empty((T, N, 4 * u), dtype=dtype)   # row layout, for the weight-gradient GEMMs
        dzg = np.empty((4, N, u), dtype=dtype)      # one step, gate-major
        rkT = rk.T
        u4T = u4.transpose(0, 2, 1) if u4 is not None else None
        dcn = np.empty((N, u), dtype=dtype)
        for t in range(T - 1, -1, -1):
            m = steps[t] if masked else None
            _backprop_output(t, dh, gy_seq, gy_last, T, m, masked, o["zero_output_for_mask"], carry)
            if m is not None:
                dh_pass, dc_pass = dh * m[2], dc * m[2]
                dh, dc = dh * m[1], dc * m[1]
            np.multiply(dh, P[t, 3], out=dzg[3])
            np.multiply(dh, Q[t], out=dcn)
            dcn += dc
            np.multiply(dcn, P[t, :3], out=dzg[:3])
            dc = dcn * A[t, 1]
            np.copyto(dZ[t].reshape(N, 4, u), dzg.transpose(1, 0, 2))
            if rdp is None:
                dh = dZ[t] @ rkT
            else:
                dh = (np.matmul(dzg, u4T) * rdp).sum(axis=0)
            if m is not None:
                dh += dh_pass
                dc += dc_pass
        need = ctx.needs_input_grad
        dx, dk = _input_grads(xt, kernel, o["dp"], dZ, 4, need[0], need[1])
        dU = None
        if need[2]:
            Hp = Hs[:-1].reshape(T * N, u)
            dZ2 = dZ.reshape(T * N, 4 * u)
            if rdp is None:
                dU = Hp.T @ dZ2
            else:
                dU = np.empty_like(rk)
                for g in range(4):
                    cols = slice(g * u, (g + 1) * u)
                    dU[:, cols] = (Hs[:-1] * rdp[g]).reshape(T * N, u).T @ dZ2[:, cols]
        if dx is not None:
            dx = _from_processing_order(dx, o["time_major"], o["go_backwards"])
        out = [dx, dk, dU]
        if ctx.has_bias:
            out.append(dZ.sum(axis=(0, 1)) if need[3] else None)
        out += [dh, dc]
        return tuple(out)


def lstm_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                  c0: Tensor, **options: Any) -> Tuple[Tensor, Tensor, Tensor]:
    """Run `LSTMSequence`: returns Tensors (output, h_T, c_T). Options are `LSTMSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0, c0]
    return LSTMSequence.apply(*tensors, has_bias=bias is not None, **options)


def lstm_gate_values(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                     bias: Optional[np.ndarray] = None, h0: Optional[np.ndarray] = None,
                     c0: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None,
                     activation: str = "tanh", recurrent_activation: str = "hard_sigmoid",
                     go_backwards: bool = False) -> Dict[str, np.ndarray]:
    """Per-timestep LSTM internals, for inspection: numpy in, numpy out, no autograd.

    Args:
        x: inputs (N, T, F); kernel (F, 4u), recurrent_kernel (u, 4u), bias (4u,) or None: Keras's LSTM weights.
        h0, c0: initial states (N, u), zeros by default.
        mask: optional (N, T) booleans (False = padded step: the states are carried over).
        activation, recurrent_activation: names from `ACTIVATIONS` (e.g. "tanh", "hard_sigmoid", "sigmoid"), or
            any function numpy array -> numpy array (a user's activation).
        go_backwards: process the sequence from its last step (arrays are then in processing order, as the
            layer's output sequence).

    Returns:
        dict of arrays of shape (N, T, u): `i`, `f`, `o` (gate activations), `c_tilde` (candidate cell,
        activation(z_c)), `c` and `h` (the states after each step, after masking). The gates at a masked step are
        what the cell computed there, although the states ignore them.

    >>> rng = np.random.default_rng(0)
    >>> g = lstm_gate_values(rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 20)),
    ...                      rng.standard_normal((5, 20)))
    >>> sorted(g), g["h"].shape
    (['c', 'c_tilde', 'f', 'h', 'i', 'o'], (2, 3, 5))
    """
    x = np.asarray(x)
    dtype = np.result_type(x, kernel, recurrent_kernel, np.float32)
    x = x.astype(dtype, copy=False)
    kernel = np.asarray(kernel, dtype=dtype)
    recurrent_kernel = np.asarray(recurrent_kernel, dtype=dtype)
    if x.ndim != 3:
        raise ValueError(f"`lstm_gate_values` expects inputs of shape (batch, timesteps, features). "
                         f"Received: x.shape={x.shape}")
    N, u = x.shape[0], recurrent_kernel.shape[0]
    h0 = np.zeros((N, u), dtype) if h0 is None else np.asarray(h0, dtype=dtype)
    c0 = np.zeros((N, u), dtype) if c0 is None else np.asarray(c0, dtype=dtype)
    bias = None if bias is None else np.asarray(bias, dtype=dtype)
    _, _, _, s = _lstm_forward(x, kernel, recurrent_kernel, bias, h0, c0, mask=mask, go_backwards=go_backwards,
                               time_major=False, return_sequences=True, zero_output_for_mask=False, initial_output=None,
                               activation=activation, recurrent_activation=recurrent_activation, dropout_mask=None,
                               recurrent_dropout_mask=None, store=True)
    A = s["A"]  # (T, 4, N, u)
    gate = lambda g: np.ascontiguousarray(A[:, g].swapaxes(0, 1))  # noqa: E731
    return {"i": gate(0), "f": gate(1), "c_tilde": gate(2), "o": gate(3),
            "c": np.ascontiguousarray(s["Cs"][1:].swapaxes(0, 1)),
            "h": np.ascontiguousarray(s["Hs"][1:].swapaxes(0, 1))}


# ************************************************************ GRU


def _gru_forward(x, kernel, rk, bias, h0, *, reset_after, mask, go_backwards, time_major, return_sequences,
                 zero_output_for_mask, initial_output, activation, recurrent_activation, dropout_mask, recurrent_dropout_mask,
                 store):
    act, ract = _act(activation), _act(recurrent_activation)
    dtype = np.result_type(x, kernel, rk, h0)
    xt = _to_processing_order(x, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
    _check_shapes("GRUSequence", xt, kernel, rk, h0, 3)
    steps = _mask_steps(mask, time_major, go_backwards, T, N, dtype)
    rdp = recurrent_dropout_mask
    b_in, b_rec = (None, None) if bias is None else ((bias[0], bias[1]) if reset_after else (bias, None))
    zx = _project_inputs(xt, kernel, b_in, dropout_mask, 3)   # (3, T, N, u)
    keep_z = store and (act.needs_input or ract.needs_input)
    S = T if store else 1
    A = np.empty((S, 3, N, u), dtype=dtype)             # z, r, hh (activated), gate-major per step
    Zp = np.empty((S, 3, N, u), dtype=dtype) if keep_z else None
    AUX = np.empty((S, N, u), dtype=dtype)              # reset_after: h @ U_h + b_rh ; else r * h (dropped out)
    Hs = np.empty((T + 1, N, u), dtype=dtype)
    Hs[0] = h0
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs,
                   initial_output)
    rk_zr, rk_h = rk[:, :2 * u], rk[:, 2 * u:]
    u3 = _split_weights(rk, 3) if rdp is not None else None
    inner = np.empty((N, 3 * u), dtype=dtype)          # the recurrent GEMM's output
    inner3 = inner.reshape(N, 3, u).transpose(1, 0, 2)  # ... seen gate-major
    tmp = np.empty((N, u), dtype=dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            k = t if store else 0
            h = Hs[t]
            a = A[k]
            if reset_after:
                if rdp is None:
                    np.matmul(h, rk, out=inner)
                else:
                    np.copyto(inner3, np.matmul(h[None] * rdp, u3))
                if b_rec is not None:
                    inner += b_rec
            elif rdp is None:
                np.matmul(h, rk_zr, out=inner[:, :2 * u])
            else:
                np.copyto(inner3[:2], np.matmul(h[None] * rdp[:2], u3[:2]))
            np.add(zx[:2, t], inner3[:2], out=a[:2])
            if keep_z:
                np.copyto(Zp[k, :2], a[:2])
            ract.forward(a[:2])
            aux = AUX[k]
            if reset_after:
                np.copyto(aux, inner3[2])
                np.multiply(a[1], aux, out=a[2])
            else:
                np.multiply(a[1], h if rdp is None else h * rdp[2], out=aux)
                np.matmul(aux, rk_h, out=a[2])
            a[2] += zx[2, t]
            if keep_z:
                np.copyto(Zp[k, 2], a[2])
            act.forward(a[2])
            hn = Hs[t + 1]
            # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
            np.subtract(h, a[2], out=tmp)
            tmp *= a[0]
            np.add(a[2], tmp, out=hn)
            if steps is not None:
                m = steps[t]
                if m is not None:
                    np.copyto(hn, h, where=m[0])
                outs.step(t, hn, m)
    y = outs.result(Hs, time_major)
    saved = dict(xt=xt, A=A, Zp=Zp, AUX=AUX, Hs=Hs, steps=steps, u3=u3) if store else None
    return y, Hs[T], saved


class GRUSequence(Function):
    """A whole GRU layer call (Keras gate packing z, r, h; `reset_after` either way) as one node.

    Inputs: x, kernel, recurrent_kernel, [bias], h0. Outputs: (output, h_T).
    """

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, reset_after=False, mask=None, go_backwards=False,
                time_major=False, return_sequences=False, zero_output_for_mask=False, initial_output=None, activation="tanh",
                recurrent_activation="sigmoid", dropout_mask=None, recurrent_dropout_mask=None):
        bias, h0 = (rest[0], rest[1]) if has_bias else (None, rest[0])
        store = getattr(ctx, "needs_input_grad", None) is not None
        y, h, saved = _gru_forward(
            x, kernel, rk, bias, h0, reset_after=reset_after, mask=mask, go_backwards=go_backwards,
            time_major=time_major, return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask,
            initial_output=initial_output, activation=activation, recurrent_activation=recurrent_activation,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask, store=store)
        if store:
            ctx.saved = saved
            ctx.kernel, ctx.rk, ctx.has_bias, ctx.bias_shape = kernel, rk, has_bias, None if bias is None else \
                bias.shape
            ctx.opts = dict(reset_after=reset_after, go_backwards=go_backwards, time_major=time_major,
                            return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask,
                            act=_act(activation), ract=_act(recurrent_activation), dp=dropout_mask,
                            rdp=recurrent_dropout_mask)
        return y, h

    @staticmethod
    def backward(ctx, grads):
        gy, ghT = grads
        s, o = ctx.saved, ctx.opts
        kernel, rk = ctx.kernel, ctx.rk
        act, ract, rdp, reset_after = o["act"], o["ract"], o["rdp"], o["reset_after"]
        xt, A, Zp, AUX, Hs, steps, u3 = (s[k] for k in ("xt", "A", "Zp", "AUX", "Hs", "steps", "u3"))
        T, N, _ = xt.shape
        u = rk.shape[0]
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"], o["go_backwards"])
        masked = steps is not None
        dtype = Hs.dtype
        dh = np.array(ghT, dtype=dtype, copy=True)
        carry = [None]
        # NOTE: the derivatives for the whole sequence first (large ufuncs), then a short step loop on contiguous
        # gate-major blocks
        d = [1 if fn.identity else fn.deriv(A[:, g], None if Zp is None else Zp[:, g])
             for g, fn in ((0, ract), (1, ract), (2, act))]
        Pz = (Hs[:-1] - A[:, 2]) * d[0]               # dz_pre = dh * (h_prev - hh) * ra'(z)
        Ph = (1 - A[:, 0]) * d[2]                     # dhh_pre = dh * (1 - z) * act'(hh)
        if reset_after:
            Pr = AUX * d[1]                           # dr_pre = dhh_pre * (h U_h + b) * ra'(r)
        else:
            Pr = (Hs[:-1] if rdp is None else Hs[:-1] * rdp[2]) * d[1]  # dr_pre = d(r h) * h * ra'(r)
            Rh = A[:, 1] if rdp is None else A[:, 1] * rdp[2]           # d h_prev += d(r h) * r
        DX = np.empty((T, N, 3 * u), dtype=dtype)  # gradients of the input-side pre-activations (row layout)
        DI = np.empty((T, N, 3 * u), dtype=dtype) if reset_after else None  # of h @ U + b_rec
        dxg = np.empty((3, N, u), dtype=dtype)     # one step, gate-major
        rkT, rk_zrT, rk_hT = rk.T, rk[:, :2 * u].T, rk[:, 2 * u:].T
        u3T = u3.transpose(0, 2, 1) if u3 is not None else None
        for t in range(T - 1, -1, -1):
            m = steps[t] if masked else None
            _backprop_output(t, dh, gy_seq, gy_last, T, m, masked, o["zero_output_for_mask"], carry)
            if m is not None:
                dh_pass = dh * m[2]
                dh = dh * m[1]
            np.multiply(dh, Ph[t], out=dxg[2])
            np.multiply(dh, Pz[t], out=dxg[0])
            dh_new = dh * A[t, 0]
            if reset_after:
                np.multiply(dxg[2], Pr[t], out=dxg[1])
                np.copyto(DX[t].reshape(N, 3, u), dxg.transpose(1, 0, 2))
                di3 = DI[t].reshape(N, 3, u)
                np.copyto(di3[:, :2], dxg[:2].transpose(1, 0, 2))
                np.multiply(dxg[2], A[t, 1], out=di3[:, 2])
                if rdp is None:
                    dh_new += DI[t] @ rkT
                else:
                    dh_new += (np.matmul(di3.transpose(1, 0, 2), u3T) * rdp).sum(axis=0)
            else:
                drh = dxg[2] @ rk_hT
                np.multiply(drh, Pr[t], out=dxg[1])
                drh *= Rh[t]
                dh_new += drh
                np.copyto(DX[t].reshape(N, 3, u), dxg.transpose(1, 0, 2))
                if rdp is None:
                    dh_new += DX[t][:, :2 * u] @ rk_zrT
                else:
                    dh_new += (np.matmul(dxg[:2], u3T[:2]) * rdp[:2]).sum(axis=0)
            dh = dh_new
            if m is not None:
                dh += dh_pass
        need = ctx.needs_input_grad
        dxin, dk = _input_grads(xt, kernel, o["dp"], DX, 3, need[0], need[1])
        dU = None
        if need[2]:
            Hp = Hs[:-1]
            dU = np.empty_like(rk)
            if reset_after:
                for g in range(3):
                    cols = slice(g * u, (g + 1) * u)
                    hg = Hp if rdp is None else Hp * rdp[g]
                    dU[:, cols] = hg.reshape(T * N, u).T @ DI[..., cols].reshape(T * N, u)
            else:
                for g in range(2):
                    cols = slice(g * u, (g + 1) * u)
                    hg = Hp if rdp is None else Hp * rdp[g]
                    dU[:, cols] = hg.reshape(T * N, u).T @ DX[..., cols].reshape(T * N, u)
                dU[:, 2 * u:] = AUX.reshape(T * N, u).T @ DX[..., 2 * u:].reshape(T * N, u)
        if dxin is not None:
            dxin = _from_processing_order(dxin, o["time_major"], o["go_backwards"])
        out = [dxin, dk, dU]
        if ctx.has_bias:
            db = None
            if need[3]:
                db_in = DX.sum(axis=(0, 1))
                db = np.stack([db_in, DI.sum(axis=(0, 1))]) if reset_after else db_in
            out.append(db)
        out.append(dh)
        return tuple(out)


def gru_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                 **options: Any) -> Tuple[Tensor, Tensor]:
    """Run `GRUSequence`: returns Tensors (output, h_T). Options are `GRUSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0]
    return GRUSequence.apply(*tensors, has_bias=bias is not None, **options)


# ************************************************************ SimpleRNN


def _simple_rnn_forward(x, kernel, rk, bias, h0, *, mask, go_backwards, time_major, return_sequences,
                        zero_output_for_mask, initial_output, activation, dropout_mask, recurrent_dropout_mask, store):
    act = _act(activation)
    dtype = np.result_type(x, kernel, rk, h0)
    xt = _to_processing_order(x, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
    _check_shapes("SimpleRNNSequence", xt, kernel, rk, h0, 1)
    steps = _mask_steps(mask, time_major, go_backwards, T, N, dtype)
    rdp = recurrent_dropout_mask
    zx = _project_inputs(xt, kernel, bias, dropout_mask, 1)[0]
    keep_z = store and act.needs_input
    Zp = np.empty((T, N, u), dtype=dtype) if keep_z else None
    # NOTE: the new h before masking is the activation itself; with a mask it needs its own buffer
    Hs = np.empty((T + 1, N, u), dtype=dtype)
    Hs[0] = h0
    An = np.empty((T if store else 1, N, u), dtype=dtype) if steps is not None else Hs[1:]
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs,
                   initial_output)
    rec = np.empty((N, u), dtype=dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            h = Hs[t]
            a = An[t if (store or steps is None) else 0]
            np.matmul(h if rdp is None else h * rdp[0], rk, out=rec)
            np.add(zx[t], rec, out=a)
            if keep_z:
                np.copyto(Zp[t], a)
            act.forward(a)
            if steps is not None:
                hn = Hs[t + 1]
                np.copyto(hn, a)
                m = steps[t]
                if m is not None:
                    np.copyto(hn, h, where=m[0])
                outs.step(t, hn, m)
    y = outs.result(Hs, time_major)
    saved = dict(xt=xt, An=An, Zp=Zp, Hs=Hs, steps=steps) if store else None
    return y, Hs[T], saved


class SimpleRNNSequence(Function):
    """A whole SimpleRNN layer call as one node. Inputs: x, kernel, recurrent_kernel, [bias], h0.
    Outputs: (output, h_T)."""

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, mask=None, go_backwards=False, time_major=False,
                return_sequences=False, zero_output_for_mask=False, initial_output=None, activation="tanh", dropout_mask=None,
                recurrent_dropout_mask=None):
        bias, h0 = (rest[0], rest[1]) if has_bias else (None, rest[0])
        store = getattr(ctx, "needs_input_grad", None) is not None
        y, h, saved = _simple_rnn_forward(
            x, kernel, rk, bias, h0, mask=mask, go_backwards=go_backwards, time_major=time_major,
            return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask, initial_output=initial_output,
            activation=activation,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask, store=store)
        if store:
            ctx.saved = saved
            ctx.kernel, ctx.rk, ctx.has_bias = kernel, rk, has_bias
            ctx.opts = dict(go_backwards=go_backwards, time_major=time_major, return_sequences=return_sequences,
                            zero_output_for_mask=zero_output_for_mask, act=_act(activation), dp=dropout_mask,
                            rdp=recurrent_dropout_mask)
        return y, h

    @staticmethod
    def backward(ctx, grads):
        gy, ghT = grads
        s, o = ctx.saved, ctx.opts
        kernel, rk = ctx.kernel, ctx.rk
        act, rdp = o["act"], o["rdp"]
        xt, An, Zp, Hs, steps = (s[k] for k in ("xt", "An", "Zp", "Hs", "steps"))
        T, N, _ = xt.shape
        u = rk.shape[0]
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"], o["go_backwards"])
        masked = steps is not None
        dh = np.array(ghT, dtype=Hs.dtype, copy=True)
        carry = [None]
        D = np.broadcast_to(np.asarray(1, Hs.dtype), An.shape) if act.identity else act.deriv(An, Zp)
        DZ = np.empty((T, N, u), dtype=Hs.dtype)
        rkT = rk.T
        for t in range(T - 1, -1, -1):
            m = steps[t] if masked else None
            _backprop_output(t, dh, gy_seq, gy_last, T, m, masked, o["zero_output_for_mask"], carry)
            if m is not None:
                dh_pass = dh * m[2]
                dh = dh * m[1]
            np.multiply(dh, D[t], out=DZ[t])
            dh = DZ[t] @ rkT
            if rdp is not None:
                dh *= rdp[0]
            if m is not None:
                dh += dh_pass
        need = ctx.needs_input_grad
        dx, dk = _input_grads(xt, kernel, o["dp"], DZ, 1, need[0], need[1])
        dU = None
        if need[2]:
            Hp = Hs[:-1] if rdp is None else Hs[:-1] * rdp[0]
            dU = Hp.reshape(T * N, u).T @ DZ.reshape(T * N, u)
        if dx is not None:
            dx = _from_processing_order(dx, o["time_major"], o["go_backwards"])
        out = [dx, dk, dU]
        if ctx.has_bias:
            out.append(DZ.sum(axis=(0, 1)) if need[3] else None)
        out.append(dh)
        return tuple(out)


def simple_rnn_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                        **options: Any) -> Tuple[Tensor, Tensor]:
    """Run `SimpleRNNSequence`: returns Tensors (output, h_T). Options are `SimpleRNNSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0]
    return SimpleRNNSequence.apply(*tensors, has_bias=bias is not None, **options)
