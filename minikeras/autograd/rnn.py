"""Fused sequence kernels: a whole LSTM / GRU / SimpleRNN layer call as ONE autograd node with hand-written BPTT.

The composed path in `minikeras.layers.recurrent` builds ~20 autograd nodes per timestep and is the readable
reference (and the test oracle: fused and composed agree within 1e-6 in float64). These kernels compute the same
numbers with far less Python work:

* forward: each step does ONE batched product into a gate-major `(G, N, u)` block and the gate maths with in-place
  ufuncs on contiguous memory (numpy's cheap ufuncs run several times faster on contiguous blocks than on the
  column slices of an `(N, G*u)` array). For the LSTM with folded weights that product is `[x_t, h, 1] @ [W; U; b]`
  (the input, the state and the bias in one product, nothing added afterwards); GRU, SimpleRNN and the LSTM with
  per-gate masks project the inputs of all timesteps before the loop (one GEMM per gate) and add `h @ U`;
* the LSTM folds each gate activation's constants into scaled copies of its weights (`ActivationMath.fold`), so all
  four gates cost one `tanh` pass (sigmoid and tanh) or one `clip` (hard sigmoid) plus a few cheap passes;
* backward: the activation derivatives of all steps are computed before the loop with a few large ufuncs; each step
  then computes only the gate gradients and `dh = dz @ recurrent_kernel.T`; the weight gradients are two large
  GEMMs after the loop (`X^T dZ`, `H_{t-1}^T dZ`) and the input gradient one more;
* large batches run as per-thread chunks of samples (the recurrence of each sample is independent of the others),
  BLAS at one thread meanwhile (`minikeras.autograd.threads`); numpy releases the GIL inside ufuncs and BLAS calls,
  so both cores work;
* under `no_grad()` nothing is stored for backward.

Semantics are tf-keras 2.21's `backend.rnn` (also Keras 3's): with `go_backwards` the sequence is processed from the
last step and the output sequence is returned in that (reversed) order; a masked step carries every state and
repeats the previous output (zeros before the first unmasked step, or `initial_output`), or outputs zeros with
`zero_output_for_mask`. Dropout masks are drawn by the caller, once per call, and reused at every step:
`dropout_mask` is `(1, N, F)` (one mask for all gates, Keras's implementation 2) or `(G, N, F)` (one per gate,
implementation 1); `recurrent_dropout_mask` is `(G, N, u)` for LSTM (G=4) and GRU (G=3), `(1, N, u)` for SimpleRNN.

Activations are given by name and come from the one activation table, `minikeras.autograd.ops.ACTIVATION_MATH`
(every Keras activation that makes sense inside a cell; not softmax, log_softmax, crelu, mish, hard_silu: the
layer falls back to the composed path for those and for user callables).
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from minikeras.autograd.function import Function
from minikeras.autograd.ops import ACTIVATION_MATH, FOLD_CORES, ActivationMath
from minikeras.autograd.tensor import Tensor
# NOTE: blas_threads and set_kernel_threads are re-exported: this module's public names before threads.py existed
from minikeras.autograd.threads import BIG_GEMM, blas_helpers_spinning, blas_threads, compute_scope, gemm_threads, \
    kernel_threads, run_parallel, set_kernel_threads, split_range

__all__ = ["ACTIVATIONS", "LSTMSequence", "GRUSequence", "SimpleRNNSequence", "lstm_sequence", "gru_sequence",
           "simple_rnn_sequence", "lstm_gate_values", "blas_threads", "set_kernel_threads"]

#: The activations the fused kernels run, by name (the one table of `minikeras.autograd.ops`).
ACTIVATIONS: Dict[str, ActivationMath] = ACTIVATION_MATH


def _forward_only(fn: Callable[[np.ndarray], np.ndarray]) -> ActivationMath:
    """Any numpy activation `fn(array) -> array` as a forward-only kernel activation (inspection, no backward)."""
    def forward(x: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        y = fn(x)
        if out is None:
            return np.asarray(y)
        np.copyto(out, y)
        return out

    def no_deriv(y: Any, x: Any) -> Any:
        raise TypeError(f"{fn!r} is a forward-only activation: the kernels cannot differentiate it")
    return ActivationMath(getattr(fn, "__name__", repr(fn)), forward, no_deriv)


def _act(name: Any) -> ActivationMath:
    if callable(name):
        return _forward_only(name)
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"The fused RNN kernels have no activation named {name!r}, expected one of "
                         f"{sorted(ACTIVATIONS)}. Received: activation={name!r}") from None


def _apply(act: ActivationMath, a: np.ndarray) -> None:
    """`a = act(a)` in place."""
    if not act.identity:
        act.forward(a, a)


# ************************************************************ threads: both cores on large batches


# NOTE: thresholds measured on a 2-core machine: a thread costs GIL hand-offs around every numpy call, so it pays
# only with enough rows per thread and enough work per call (the Keras 2 two-LSTM example's batch 32 x 5 steps
# does not gain; batch 64 x 40 steps and batches of 256 do).
_MIN_ROWS_PER_THREAD = 32
_MIN_WORK_PER_CALL = 1 << 19  # timesteps x batch x gate width

def _row_chunks(steps: int, n: int, width: int) -> List[slice]:
    """Split the batch rows into one contiguous chunk per kernel thread (deterministic: depends on the shapes and
    the thread count only)."""
    if steps * n * width < _MIN_WORK_PER_CALL:
        return [slice(0, n)]
    return split_range(n, _MIN_ROWS_PER_THREAD)


def _run_chunks(fn: Callable[[slice], None], chunks: List[slice], step_macs: int = 0) -> None:
    """`fn(rows)` for every chunk, one thread per chunk (`threads.run_parallel`), BLAS at one thread throughout:
    two levels of threads would fight for the same cores. `step_macs`: the multiply-adds of one step's recurrent
    product; a single chunk of huge steps gives its products the library's threads (`threads.gemm_threads`)."""
    if len(chunks) == 1:
        with compute_scope(), gemm_threads(step_macs):
            fn(chunks[0])
        return
    run_parallel([lambda rows=rows: fn(rows) for rows in chunks])


# ************************************************************ shared plumbing


class StepMask(NamedTuple):
    """The mask of one processing step, as the kernels use it (each `(N, 1)`)."""
    inactive: np.ndarray   # bool: True where the step is masked (states carried, output repeated)
    active_f: np.ndarray   # float: 1 where the step runs
    inactive_f: np.ndarray  # float: 1 where it is masked

    def rows(self, rows: slice) -> "StepMask":
        return StepMask(self.inactive[rows], self.active_f[rows], self.inactive_f[rows])


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


def _mask_steps(mask: Optional[np.ndarray], time_major: bool, go_backwards: bool, T: int, N: int,
                dtype: Any) -> Optional[List[Optional[StepMask]]]:
    """Per processing step: None (every sample active) or its `StepMask`."""
    if mask is None:
        return None
    m = np.asarray(mask).astype(bool, copy=False)
    m = _to_processing_order(m, time_major, go_backwards)
    if m.shape != (T, N):
        raise ValueError(f"The mask must have shape (batch, timesteps) = {(N, T)} (or (timesteps, batch) when "
                         f"time_major). Received: mask.shape={np.shape(mask)}")
    steps: List[Optional[StepMask]] = []
    for t in range(T):
        mt = m[t]
        if mt.all():
            steps.append(None)
        else:
            active = mt[:, None].astype(dtype)
            steps.append(StepMask(~mt[:, None], active, 1 - active))
    return steps


_ALL = slice(None)  # every row (the kernels that run as one chunk)


def _step_mask(steps: Optional[List[Optional[StepMask]]], t: int, rows: slice) -> Optional[StepMask]:
    m = None if steps is None else steps[t]
    return None if m is None else m.rows(rows)


def _carry(m: Optional[StepMask], new_states: Sequence[np.ndarray], old_states: Sequence[np.ndarray]) -> None:
    """THE mask rule for states: a masked sample keeps its previous states (in place)."""
    if m is not None:
        for new, old in zip(new_states, old_states):
            np.copyto(new, old, where=m.inactive)


def _carry_grads(m: Optional[StepMask], grads: Sequence[np.ndarray]) -> Tuple[List[np.ndarray], List[Any]]:
    """The mask rule backwards: split each state gradient into the part through the step and the carried part."""
    if m is None:
        return list(grads), [None] * len(grads)
    return [g * m.active_f for g in grads], [g * m.inactive_f for g in grads]


_SMALL = 1 << 15  # elements of a projection below which one GEMM + a copy beats one GEMM per gate


def _project_inputs(xt: np.ndarray, kernel: np.ndarray, bias: Optional[np.ndarray],
                    dp: Optional[np.ndarray], gates: int) -> np.ndarray:
    """All timesteps' input projections, x @ kernel + bias, GATE-MAJOR: (T, N, F) -> (G, T, N, u)."""
    T, N, F = xt.shape
    width = kernel.shape[1]
    with gemm_threads(T * N * F * width):
        return _project(xt, kernel, bias, dp, gates, T, N, F, width)


def _project(xt: np.ndarray, kernel: np.ndarray, bias: Optional[np.ndarray], dp: Optional[np.ndarray], gates: int,
             T: int, N: int, F: int, width: int) -> np.ndarray:
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


def _input_grad_jobs(xt: np.ndarray, kernel: np.ndarray, dp: Optional[np.ndarray], dz: np.ndarray, gates: int,
                    need_x: bool, need_k: bool) -> List[Tuple[str, int, Callable[[], Any]]]:
    """The gradients of `_project_inputs` w.r.t. x (T, N, F) and kernel, as `_after_loop` jobs "dx" and "dk"."""
    macs = dz.size * xt.shape[-1]
    jobs = []
    if need_x:
        jobs.append(("dx", macs, lambda: _input_grads_gemms(xt, kernel, dp, dz, gates, True, False)[0]))
    if need_k:
        jobs.append(("dk", macs, lambda: _input_grads_gemms(xt, kernel, dp, dz, gates, False, True)[1]))
    return jobs


# NOTE: below this many multiply-adds in all, handing jobs to a second thread costs more than it saves
_MIN_PARALLEL_MACS = 1 << 22


def _after_loop(jobs: Sequence[Tuple[str, int, Callable[[], Any]]]) -> Dict[str, Any]:
    """Run the work that follows a backward recurrence: the input, weight and bias gradients, `(name,
    multiply-adds, fn)` each, independent of each other. Returns `{name: fn()}`.

    The jobs go whole to the kernel threads (`threads.run_parallel`), the largest first to the least loaded
    thread: each product is still computed by one thread in one call, so which thread runs it changes no number.
    (Splitting each product by rows across the threads was measured no faster; running the three products of a
    train step side by side halves their time on two cores.) Few multiply-adds in all, or one product large enough
    for the BLAS library's own threads (`threads.gemm_threads`), run one after the other.
    """
    out: Dict[str, Any] = {}
    threads = min(kernel_threads(), len(jobs))
    if threads <= 1 or sum(j[1] for j in jobs) < _MIN_PARALLEL_MACS or max(j[1] for j in jobs) >= BIG_GEMM \
            or blas_helpers_spinning():
        for name, macs, fn in jobs:
            with gemm_threads(macs):
                out[name] = fn()
        return out
    loads, groups = [0] * threads, [[] for _ in range(threads)]
    for job in sorted(jobs, key=lambda j: -j[1]):  # NOTE: a stable sort: the same grouping every call
        i = loads.index(min(loads))
        groups[i].append(job)
        loads[i] += job[1]

    def run(group: List[Tuple[str, int, Callable[[], Any]]]) -> None:
        for name, _, fn in group:
            out[name] = fn()
    run_parallel([lambda g=g: run(g) for g in groups])
    return out


def _layer_grads(ctx: Any, xt: np.ndarray, kernel: np.ndarray, dz: np.ndarray, gates: int, u: int,
                 recurrent_kernel_grad: Callable[[], np.ndarray], bias_grad: Callable[[], np.ndarray]) -> List[Any]:
    """The gradients a kernel's backward returns for x, kernel, recurrent_kernel [and bias] (None where not needed),
    from the pre-activation gradients `dz` (T, N, G*u) of all steps: one `_after_loop` of independent jobs."""
    need = ctx.needs_input_grad
    jobs = _input_grad_jobs(xt, kernel, ctx.opts["dp"], dz, gates, need[0], need[1])
    if need[2]:
        jobs.append(("dU", dz.size * u, recurrent_kernel_grad))
    if ctx.has_bias and need[3]:
        jobs.append(("db", dz.size, bias_grad))
    res = _after_loop(jobs)
    dx = res.get("dx")
    if dx is not None:
        dx = _from_processing_order(dx, ctx.opts["time_major"], ctx.opts["go_backwards"])
    return [dx, res.get("dk"), res.get("dU")] + ([res.get("db")] if ctx.has_bias else [])


def _input_grads_gemms(xt: np.ndarray, kernel: np.ndarray, dp: Optional[np.ndarray], dz: np.ndarray, gates: int,
                       need_x: bool, need_k: bool) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
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


def _times_transposed(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """`a @ w.T` (a new C-contiguous array), for the product of every backward step, `dh = dz @ U^T`.

    NOTE: computed as `(w @ a.T).T`. OpenBLAS runs a product whose right operand is a transposed view of a large
    matrix up to 1.5x slower: one thread, (32, 1024) @ (1024, 256) took 319 us as `dz @ U.T`, 211 us this way
    (the transpose of the small result included); (32, 512) @ (512, 128) 74 against 57. Copying `U.T` once per
    call would make the products as fast, but numpy's transposing copy of a (256, 1024) matrix costs 0.75 ms.
    """
    return np.ascontiguousarray(np.matmul(w, a.T).T)


def _split_weights(u_mat: np.ndarray, gates: int) -> np.ndarray:
    """(u, G*u) -> (G, u, u): the per-gate recurrent kernels stacked for one batched matmul."""
    u = u_mat.shape[0]
    return np.ascontiguousarray(u_mat.reshape(u, gates, u).transpose(1, 0, 2))


def _prologue(name: str, x: np.ndarray, kernel: np.ndarray, rk: np.ndarray, h0: np.ndarray, gates: int,
              mask: Optional[np.ndarray], time_major: bool, go_backwards: bool):
    """What every kernel starts with: the compute dtype, the inputs in processing order (T, N, F) (shapes checked)
    and the per-step masks."""
    dtype = np.result_type(x, kernel, rk, h0)
    xt = _to_processing_order(x, time_major, go_backwards)
    _check_shapes(name, xt, kernel, rk, h0, gates)
    return dtype, xt, _mask_steps(mask, time_major, go_backwards, xt.shape[0], xt.shape[1], dtype)


def _check_shapes(name: str, xt: np.ndarray, kernel: np.ndarray, rk: np.ndarray, h0: np.ndarray, gates: int) -> None:
    T, N, F = xt.shape
    u = rk.shape[0]
    if kernel.shape != (F, gates * u) or rk.shape != (u, gates * u) or h0.shape != (N, u):
        raise ValueError(f"{name}: incompatible shapes, expected x (.., {F}), kernel ({F}, {gates * u}), "
                         f"recurrent_kernel ({u}, {gates * u}), initial state ({N}, {u}). Received: x {xt.shape} "
                         f"(processing order), kernel {kernel.shape}, recurrent_kernel {rk.shape}, "
                         f"state {h0.shape}")


def _output_grads(grad_y: np.ndarray, return_sequences: bool, time_major: bool):
    """The gradient of the layer output per processing step: (T, N, u) array, or None + the last step's grad."""
    if return_sequences:
        # NOTE: the output sequence is already in processing order (Keras returns it reversed with go_backwards)
        return _to_processing_order(grad_y, time_major, False), None
    return None, grad_y


class _Outputs:
    """The output of every step, THE mask rule for outputs: the new h where the sample is active, else the previous
    output (or zeros with `zero_output_for_mask`). Works on row chunks, so threads can share it."""

    def __init__(self, T: int, N: int, u: int, dtype: Any, masked: bool, return_sequences: bool,
                 zero_output_for_mask: bool, hs: np.ndarray, initial_output: Optional[np.ndarray] = None):
        self.return_sequences, self.masked, self.zero = return_sequences, masked, zero_output_for_mask
        if return_sequences and not masked:
            self.Y = hs[1:]  # NOTE: without a mask the outputs ARE the h states: no copy
        elif return_sequences:
            self.Y = np.empty((T, N, u), dtype=dtype)
        self.initial = np.zeros((N, u), dtype=dtype) if initial_output is None else \
            np.array(initial_output, dtype=dtype, copy=True)
        # without return_sequences: the output so far (starts as the initial output)
        self.last = self.initial if masked and not return_sequences else None

    def step(self, t: int, rows: slice, h_new: np.ndarray, m: Optional[StepMask]) -> None:
        """Record step t's output for `rows`; `h_new` is the h state after masking."""
        if not self.masked:
            return
        if not self.return_sequences:
            if m is None:
                np.copyto(self.last[rows], h_new)
            else:
                np.copyto(self.last[rows], h_new, where=~m.inactive)
                if self.zero:
                    np.copyto(self.last[rows], 0, where=m.inactive)
            return
        out = self.Y[t, rows]
        np.copyto(out, h_new)
        if m is not None:
            prev = self.Y[t - 1, rows] if t else self.initial[rows]
            np.copyto(out, 0 if self.zero else prev, where=m.inactive)

    def result(self, hs: np.ndarray, time_major: bool) -> np.ndarray:
        if self.return_sequences:
            return self.Y if time_major else self.Y.swapaxes(0, 1)
        return self.last if self.masked else hs[-1]


def _backprop_output(t: int, dh: np.ndarray, gy_seq: Optional[np.ndarray], gy_last: Optional[np.ndarray],
                     T: int, m: Optional[StepMask], masked: bool, zero_output: bool, carry: list) -> None:
    """Add the gradient of step t's output into dh (the gradient of the post-mask h state of step t); `gy_seq` and
    `gy_last` are already cut to the chunk's rows."""
    g = gy_seq[t] if gy_seq is not None else (gy_last if t == T - 1 else None)
    if not masked:
        if g is not None:
            dh += g
        return
    if zero_output:
        if g is not None:
            dh += g if m is None else g * m.active_f
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
        dh += g * m.active_f
        carry[0] = g * m.inactive_f


# ************************************************************ LSTM

#: Keras's LSTM gate order: the weights' column blocks, and the gradients the backward pass writes.
I, F, C, O = 0, 1, 2, 3
#: The forward pass's gate order: the three recurrent-activation gates first, as one contiguous block.
FORWARD_GATES = (I, F, O, C)
_POS = {g: FORWARD_GATES.index(g) for g in (I, F, C, O)}  # Keras gate -> forward position


class _GatePlan:
    """How the forward pass activates a gate-major block `(G, N, u)` whose gates have activations `acts`.

    Each gate whose activation has a `fold` gets its weights scaled and its bias shifted (`scales`, `shifts`), so the
    activation is a core pass (`FOLD_CORES`) plus, where needed, a post affine; consecutive gates with the same core
    (or the same unfoldable activation) share one call. Built once per combination of activations (`_gate_plan`).
    """

    def __init__(self, acts: Sequence[ActivationMath], fold: bool = True):
        folds = [a.fold if fold else None for a in acts]
        self.scales = [1.0 if f is None else f[0] for f in folds]
        self.shifts = [0.0 if f is None else f[1] for f in folds]
        self.passes: List[Tuple[slice, Callable[[np.ndarray], Any]]] = []
        cores = [("core", f[2]) if f is not None else ("act", a) for f, a in zip(folds, acts)]
        for lo, hi, key in _runs(cores):
            fn = FOLD_CORES[key[1]] if key[0] == "core" else (lambda x, act=key[1]: _apply(act, x))
            self.passes.append((slice(lo, hi), fn))
        posts = [(1.0, 0.0) if f is None else (f[3], f[4]) for f in folds]
        for lo, hi, (ps, pb) in _runs(posts):
            if (ps, pb) != (1.0, 0.0):
                self.passes.append((slice(lo, hi), _affine(ps, pb)))
        self.identity = all(s == 1.0 for s in self.scales) and not any(self.shifts)

    def __call__(self, a: np.ndarray) -> None:
        for gates, fn in self.passes:
            fn(a[gates])


@functools.lru_cache(maxsize=64)
def _gate_plan(acts: Tuple[ActivationMath, ...], fold: bool) -> _GatePlan:
    """`_GatePlan(acts, fold)`, built once per combination: a plan is never changed after it is built, and building
    one costs about as much as a one-sample step."""
    return _GatePlan(acts, fold)


class _RowPlan:
    """The gate activations of ONE sample on unfolded weights, applied to its pre-activation row `(1, G*u)` (the
    gate-major block of one sample is the same memory): the folds of `_GatePlan` (`ActivationMath.fold`) applied at
    run time as per-column vectors, then one core pass per run of gates with the same core, then one vector affine.

    For sigmoid gates and a tanh candidate that is four numpy calls (`*= scale`, `tanh`, `*= post scale`,
    `+= post shift`) where the per-gate activations take nine; every element sees the same operations in the same
    order as `ActivationMath.forward` (e.g. `0.5 * tanh(0.5 z) + 0.5`; a tanh gate is scaled by 1 and shifted by
    0), so the numbers are the same bit for bit.
    """

    def __init__(self, acts: Sequence[ActivationMath], u: int, dtype: Any):
        self.dtype = np.dtype(dtype)
        folds = [a.fold for a in acts]

        def columns(values: Sequence[float]) -> np.ndarray:
            return np.repeat(np.asarray(values, dtype=dtype), u)

        self.scale = None if all(f[0] == 1.0 for f in folds) else columns([f[0] for f in folds])
        self.shift = None if not any(f[1] for f in folds) else columns([f[1] for f in folds])
        self.cores = [(slice(lo * u, hi * u), FOLD_CORES[key]) for lo, hi, key in _runs([f[2] for f in folds])]
        posts = [(f[3], f[4]) for f in folds]
        self.post = None if all(p == (1.0, 0.0) for p in posts) else \
            (columns([p[0] for p in posts]), columns([p[1] for p in posts]))

    def passes(self, row: np.ndarray) -> List[Tuple[Callable[..., Any], Tuple[Any, ...]]]:
        """The activation of `row` (a `(1, G*u)` buffer) as `(function, arguments)` pairs, to be called in order at
        every step: bound to the buffer once per call, so a step runs them with no attribute lookups or slicing."""
        out: List[Tuple[Callable[..., Any], Tuple[Any, ...]]] = []
        if self.scale is not None:
            out.append((np.multiply, (row, self.scale, row)))
        if self.shift is not None:
            out.append((np.add, (row, self.shift, row)))
        out.extend((core, (row[:, cols],)) for cols, core in self.cores)
        if self.post is not None:
            out.append((np.multiply, (row, self.post[0], row)))
            out.append((np.add, (row, self.post[1], row)))
        return out


@functools.lru_cache(maxsize=64)
def _row_plan(acts: Tuple[ActivationMath, ...], u: int, dtype: np.dtype) -> Optional[_RowPlan]:
    """A cached `_RowPlan`, or None when an activation has no fold (e.g. relu): then the per-gate plan runs."""
    if any(a.fold is None for a in acts):
        return None
    return _RowPlan(acts, u, dtype)


def _runs(keys: Sequence[Any]) -> Iterator[Tuple[int, int, Any]]:
    lo = 0
    for hi in range(1, len(keys) + 1):
        if hi == len(keys) or keys[hi] != keys[lo]:
            yield lo, hi, keys[lo]
            lo = hi


def _affine(scale: float, shift: float) -> Callable[[np.ndarray], None]:
    def apply(x: np.ndarray) -> None:
        x *= scale
        x += shift
    return apply


def _fold_lstm_weights(plan: _GatePlan, kernel: np.ndarray, rk: np.ndarray, bias: Optional[np.ndarray],
                       u: int) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """The LSTM weights in the forward gate order, each gate scaled and shifted as `plan` folds its activation:
    kernel (F, 4u), recurrent kernel stacked per gate (4, u, u), bias (4u,) (None: no bias and no shift)."""
    k = np.empty_like(kernel)
    r = np.empty((4, u, u), dtype=rk.dtype)
    b = None if bias is None and not any(plan.shifts) else np.zeros(4 * u, dtype=kernel.dtype)
    for pos, g in enumerate(FORWARD_GATES):
        src, dst, s = slice(g * u, (g + 1) * u), slice(pos * u, (pos + 1) * u), plan.scales[pos]
        np.multiply(kernel[:, src], s, out=k[:, dst])
        np.multiply(rk[:, src], s, out=r[pos])
        if b is not None:
            if bias is not None:
                np.multiply(bias[src], s, out=b[dst])
            b[dst] += plan.shifts[pos]
    return k, r, b


def _own_deriv(act: ActivationMath, y: np.ndarray, z: Optional[np.ndarray], dtype: Any) -> np.ndarray:
    """`act`'s derivative at `y` (pre-activation `z`) as a new array of y's shape that the caller may scale in
    place."""
    if act.identity:
        return np.ones(y.shape, dtype=dtype)
    d = np.asarray(act.deriv(y, z), dtype=dtype)
    if d.shape != y.shape or np.shares_memory(d, y) or (z is not None and np.shares_memory(d, z)):
        d = np.array(np.broadcast_to(d, y.shape), dtype=dtype)
    return d


def _stack_lstm_weights(plan: _GatePlan, kernel: np.ndarray, rk: np.ndarray, bias: Optional[np.ndarray],
                        u: int) -> np.ndarray:
    """The folded weights of `_fold_lstm_weights` stacked for one product per step: (F + u [+ 1], 4u) =
    [W; U; b] with the gates' column blocks in the forward order (the bias row only where there is a bias or a
    shift). `w.reshape(K, 4, u).transpose(1, 0, 2)` is the same memory as one (K, u) block per gate."""
    nf = kernel.shape[0]
    with_bias = bias is not None or any(plan.shifts)
    w = np.empty((nf + u + int(with_bias), 4 * u), dtype=np.result_type(kernel, rk))
    for pos, g in enumerate(FORWARD_GATES):
        src, dst, s = slice(g * u, (g + 1) * u), slice(pos * u, (pos + 1) * u), plan.scales[pos]
        np.multiply(kernel[:, src], s, out=w[:nf, dst])
        np.multiply(rk[:, src], s, out=w[nf:nf + u, dst])
        if with_bias:
            row = w[nf + u, dst]
            if bias is None:
                row[...] = 0
            else:
                np.multiply(bias[src], s, out=row)
            row += plan.shifts[pos]
    return w


def _lstm_one_row(xt: np.ndarray, kernel: np.ndarray, rk: np.ndarray, bias: Optional[np.ndarray], h0: np.ndarray,
                  c0: np.ndarray, act: ActivationMath, row_plan: _RowPlan, return_sequences: bool,
                  time_major: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray, None]:
    """`_lstm_forward` for inference on ONE sample without mask or dropout: `xt` (T, 1, F) in processing order.

    One sample's gate block is its row (1, 4u), so a step has nothing to choose: `h @ U` into the row, the step's
    input projection added, the gates activated as one row (`_RowPlan`: the folds applied as vectors, on the
    layer's own weights, the same bits as the per-gate activations), the cell update. Nothing is folded: folding
    copies every weight per call, and the stacked product [x_t, h, 1] @ [W; U; b] would read the input kernel again
    at every step (one sample's products are bound by reading the weights): the sent workload's one-sample predict
    (40 steps) took 0.81-0.85 ms unfolded against 0.85-0.87 folded (five alternating processes each, one thread).
    Its own loop, apart from the general one, runs no per-step branches and no state arrays for the whole
    sequence: 2.94M -> 2.76M instructions per one-sample predict of Keras 2's two-LSTM example, 5.94M -> 5.28M for
    the sent workload (callgrind, one thread)."""
    T, _, nf = xt.shape
    u = rk.shape[0]
    dtype = row_plan.dtype
    with compute_scope():
        with gemm_threads(T * nf * 4 * u):
            Z = np.matmul(xt.reshape(T, nf), kernel)   # (T, 4u): the input projections stay rows
        if bias is not None:
            Z += bias
        Hs = np.empty((T + 1, 1, u), dtype=dtype)
        Hs[0] = h0
        c = np.array(c0, dtype=dtype, copy=True)
        row = np.empty((1, 4 * u), dtype=dtype)
        i, f, cand, o = [row[:, g * u:(g + 1) * u] for g in (I, F, C, O)]
        activate = row_plan.passes(row)
        tmp, tc = np.empty((1, u), dtype=dtype), np.empty((1, u), dtype=dtype)
        with np.errstate(over="ignore"):
            for t in range(T):
                np.matmul(Hs[t], rk, out=row)
                row += Z[t]
                for fn, args in activate:
                    fn(*args)
                c *= f                     # c_t = f * c_{t-1} + i * c~
                np.multiply(i, cand, out=tmp)
                c += tmp
                act.forward(c, tc)
                np.multiply(o, tc, out=Hs[t + 1])   # h_t = o * act(c_t)
    if return_sequences:
        y = Hs[1:] if time_major else Hs[1:].swapaxes(0, 1)
    else:
        y = Hs[T]
    return y, Hs[T], c, None


def _lstm_forward(x, kernel, rk, bias, h0, c0, *, mask, go_backwards, time_major, return_sequences,
                  zero_output_for_mask, initial_output, activation, recurrent_activation, dropout_mask,
                  recurrent_dropout_mask, store):
    act, ract = _act(activation), _act(recurrent_activation)
    dtype, xt, steps = _prologue("LSTMSequence", x, kernel, rk, h0, 4, mask, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
    if not store and N == 1 and steps is None and dropout_mask is None and recurrent_dropout_mask is None:
        row_plan = _row_plan((ract, ract, act, ract), u, np.dtype(dtype))
        if row_plan is not None:
            return _lstm_one_row(xt, kernel, rk, bias, h0, c0, act, row_plan, return_sequences, time_major)
    # NOTE: folding copies all the weights, (F + u) x 4u elements, once per call; it pays off when what it saves
    # outweighs that copy: per step about three numpy calls (~6000 elements' worth of copying each) and passes over
    # the three recurrent gates (3Nu elements each). Short inference calls on few samples run unfolded, in Keras's
    # gate order, straight on the layer's weights: one h @ U GEMM per step, added gate-major through a strided view.
    fold = store or recurrent_dropout_mask is not None or (kernel.shape[0] + u) * 4 * u < T * (6000 + 9 * N * u)
    order = list(FORWARD_GATES) if fold else [I, F, C, O]
    dp = None if dropout_mask is None else dropout_mask[order] if dropout_mask.shape[0] == 4 else dropout_mask
    rdp = None if recurrent_dropout_mask is None else recurrent_dropout_mask[order]
    # NOTE: with the weights folded and no per-gate input or recurrent masks, each step is ONE product
    # [x_t, h, 1] @ [W; U; b] straight into the gate block: no input projection stored for all steps and no pass
    # adding it to h @ U (the add alone was about a sixth of a step's elementwise work on 256 samples).
    stacked = fold and rdp is None and (dp is None or dp.shape[0] == 1)
    Z = WU = xs = None
    nf = xt.shape[2]
    if fold:
        plan = _gate_plan((ract, ract, ract, act), True)    # forward order i, f, o, c~
        if stacked:
            WU = _stack_lstm_weights(plan, kernel, rk, bias, u)
            xs = xt if dp is None else xt * dp[0]
        else:
            k_f, rk_f, b_f = _fold_lstm_weights(plan, kernel, rk, bias, u)
            Z = _project_inputs(xt, k_f, b_f, dp, 4)        # (4, T, N, u) in the plan's gate order
        pos = _POS
    else:
        plan = _gate_plan((ract, ract, act, ract), False)   # Keras's order i, f, c~, o
        Z = _project_inputs(xt, kernel, bias, dp, 4)
        pos = {I: 0, F: 1, C: 2, O: 3}
    keep_z = store and (act.needs_input or ract.needs_input)
    S = T if store else 1
    A = np.empty((S, 4, N, u), dtype=dtype)   # activated gates, forward order: i, f, o, c~
    Zp = np.empty((S, 4, N, u), dtype=dtype) if keep_z else None
    Hs = np.empty((T + 1, N, u), dtype=dtype)  # h states after each step (after masking)
    Hs[0] = h0
    Cs = np.empty((T + 1 if store else 2, N, u), dtype=dtype)
    Cs[0] = c0
    # new c before masking; without a mask it is the c state itself
    Cn = (Cs[1:] if store else None) if steps is None else np.empty((S, N, u), dtype=dtype)
    TC = np.empty((S, N, u), dtype=dtype)     # act(c_new)
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs, initial_output)
    gi, gf, go, gc = pos[I], pos[F], pos[O], pos[C]

    def run(rows: slice) -> None:
        n = rows.stop - rows.start
        rec = np.empty((4, n, u), dtype=dtype) if fold and not stacked else None  # h @ U, gate-major
        if stacked:
            # [x_t, h_{t-1}, 1] for every step, x and the ones written once: a step then copies only its h in
            xh_all = np.empty((T, n, WU.shape[0]), dtype=dtype)
            # NOTE: one sample's gate-major block (4, 1, u) is the same memory as its row (1, 4u): one plain product
            # instead of one per gate (the per-call cost of a product is most of a one-sample step)
            wu = WU if N == 1 else WU.reshape(WU.shape[0], 4, u).transpose(1, 0, 2)
            xh_all[:, :, :nf] = xs[:, rows]
            xh_all[:, :, nf + u:] = 1
        tmp = np.empty((n, u), dtype=dtype)
        # the chunk's rows of every state array, cut once: a step then takes its views with one integer index
        Hr, Cr, Ar, TCr = Hs[:, rows], Cs[:, rows], A[:, :, rows], TC[:, rows]
        Cnr = None if Cn is None else Cn[:, rows]
        with np.errstate(over="ignore"):
            for t in range(T):
                k = t if store else 0
                h = Hr[t]
                c = Cr[t if store else t % 2]
                a = Ar[k]
                if stacked:
                    xh = xh_all[t]
                    xh[:, nf:nf + u] = h
                    np.matmul(xh, wu, out=a.reshape(1, 4 * u) if N == 1 else a)
                elif fold:
                    np.matmul(h if rdp is None else h * rdp[:, rows], rk_f, out=rec)
                    np.add(Z[:, t, rows], rec, out=a)
                else:
                    np.add(Z[:, t, rows], (h @ rk).reshape(n, 4, u).transpose(1, 0, 2), out=a)
                if keep_z:
                    np.copyto(Zp[k, :, rows], a)
                plan(a)
                c_next = Cr[t + 1 if store else (t + 1) % 2]
                cn = c_next if steps is None else Cnr[k]
                np.multiply(a[gf], c, out=cn)          # c_t = f * c_{t-1} + i * c~
                np.multiply(a[gi], a[gc], out=tmp)
                cn += tmp
                tc = TCr[k]
                act.forward(cn, tc)
                hn = Hr[t + 1]
                np.multiply(a[go], tc, out=hn)         # h_t = o * act(c_t)
                if steps is not None:
                    m = _step_mask(steps, t, rows)
                    np.copyto(c_next, cn)
                    _carry(m, (c_next, hn), (c, h))
                    outs.step(t, rows, hn, m)

    _run_chunks(run, _row_chunks(T, N, 4 * u), N * u * 4 * u)
    c_last = Cs[T] if store else Cs[T % 2]
    y = outs.result(Hs, time_major)
    saved = None
    if store:
        saved = dict(xt=xt, A=A, Zp=Zp, Hs=Hs, Cs=Cs, Cn=Cn, TC=TC, steps=steps)
    return y, Hs[T], c_last, saved


class LSTMSequence(Function):
    r"""A whole LSTM layer call (Keras gate packing i, f, c, o) as one node; backward is hand-written BPTT.

    Inputs: x, kernel `W` (F, 4u), recurrent_kernel `U` (u, 4u), [bias `b` (4u,)], h0, c0. Outputs: (output, h_T,
    c_T), the output being the sequence (processing order) or the last step's output.

    Forward, per step t, with `ra` the recurrent activation and `act` the activation::

        z_t  = x_t W + h_{t-1} U + b                     (N, 4u), split into z_i, z_f, z_c, z_o
        i_t  = ra(z_i)    f_t = ra(z_f)    o_t = ra(z_o)    c~_t = act(z_c)
        c_t  = f_t * c_{t-1} + i_t * c~_t
        h_t  = o_t * act(c_t)

    The kernel runs the gates in the order i, f, o, c~ with weights folded per gate (`ActivationMath.fold`): e.g.
    sigmoid gates use `W/2`, `U/2`, `b/2` and `0.5 tanh(.) + 0.5`, the tanh gate its own weights, hard sigmoid
    gates `0.2W`, `0.2b + 0.5` and `clip(., 0, 1)`: one `tanh` or `clip` pass over the gate block.

    Backward (BPTT), from the last step down, with `dh`, `dc` the gradients reaching h_t, c_t (output gradient of
    step t included)::

        dz_o = dh * act(c_t) * ra'(z_o)
        dc   = dc + dh * o_t * act'(c_t)                 (the gradient of c_t before its use in step t+1)
        dz_i = dc * c~_t * ra'(z_i)     dz_f = dc * c_{t-1} * ra'(z_f)     dz_c = dc * i_t * act'(z_c)
        dh_{t-1} = dz_t U^T             dc_{t-1} = dc * f_t
        dW = sum_t x_t^T dz_t           dU = sum_t h_{t-1}^T dz_t          db = sum_t dz_t      dx_t = dz_t W^T

    A masked step passes dh and dc through unchanged for its masked samples (their states were carried).
    """

    fresh_grads = True  # every gradient is a new array (the weight gradients are products, dh0/dc0 copies)

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, mask=None, go_backwards=False, time_major=False,
                return_sequences=False, zero_output_for_mask=False, initial_output=None, activation="tanh",
                recurrent_activation="sigmoid", dropout_mask=None, recurrent_dropout_mask=None):
        bias, h0, c0 = (rest[0], rest[1], rest[2]) if has_bias else (None, rest[0], rest[1])
        store = getattr(ctx, "needs_input_grad", None) is not None
        y, h, c, saved = _lstm_forward(
            x, kernel, rk, bias, h0, c0, mask=mask, go_backwards=go_backwards, time_major=time_major,
            return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask,
            initial_output=initial_output, activation=activation, recurrent_activation=recurrent_activation,
            dropout_mask=dropout_mask, recurrent_dropout_mask=recurrent_dropout_mask, store=store)
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
        xt, A, Zp, Hs, Cs, Cn, TC, steps = (s[k] for k in ("xt", "A", "Zp", "Hs", "Cs", "Cn", "TC", "steps"))
        T, N, _ = xt.shape
        u = rk.shape[0]
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"])
        masked = steps is not None
        dtype = Hs.dtype
        dh_all = np.array(ghT, dtype=dtype, copy=True)
        dc_all = np.array(gcT, dtype=dtype, copy=True)
        dZ = np.empty((T, N, 4 * u), dtype=dtype)   # Keras gate order, row layout: for the weight-gradient GEMMs
        u4T = _split_weights(rk, 4).transpose(0, 2, 1) if rdp is not None else None
        gi, gf, go, gc = _POS[I], _POS[F], _POS[O], _POS[C]

        def run(rows: slice) -> None:
            n = rows.stop - rows.start
            # NOTE: the derivatives for the whole sequence first (a few large ufuncs), then ~8 small ufuncs per
            # step. P holds the recurrent gates' factors in the forward order (i, f, o), Pc the candidate's:
            # dz_g = (dc or dh) * factor.
            Ar = A[:, :, rows]
            zr = None if Zp is None else Zp[:, :, rows]
            P = _own_deriv(ract, Ar[:, :3], None if zr is None else zr[:, :3], dtype)
            Pc = _own_deriv(act, Ar[:, gc], None if zr is None else zr[:, gc], dtype)
            P[:, gi] *= Ar[:, gc]              # dz_i = dc * c~ * ra'(z_i)
            P[:, gf] *= Cs[:-1, rows]          # dz_f = dc * c_{t-1} * ra'(z_f)
            P[:, go] *= TC[:, rows]            # dz_o = dh * act(c) * ra'(z_o)
            Pc *= Ar[:, gi]                    # dz_c = dc * i * act'(z_c)
            Q = Ar[:, go] * (1 if act.identity else act.deriv(TC[:, rows], None if Cn is None else Cn[:, rows]))
            dh, dc = dh_all[rows], dc_all[rows]
            gs = None if gy_seq is None else gy_seq[:, rows]
            gl = None if gy_last is None else gy_last[rows]
            carry: List[Any] = [None]
            dcn = np.empty((n, u), dtype=dtype)
            for t in range(T - 1, -1, -1):
                m = _step_mask(steps, t, rows)
                _backprop_output(t, dh, gs, gl, T, m, masked, o["zero_output_for_mask"], carry)
                (dh, dc), (dh_pass, dc_pass) = _carry_grads(m, (dh, dc))
                dzt = dZ[t, rows]
                dzg = dzt.reshape(n, 4, u).transpose(1, 0, 2)   # the step's dz, written gate by gate in place
                np.multiply(dh, P[t, go], out=dzg[O])
                np.multiply(dh, Q[t], out=dcn)
                dcn += dc
                np.multiply(dcn, P[t, gi:gf + 1], out=dzg[I:F + 1])   # i, f: adjacent in both orders
                np.multiply(dcn, Pc[t], out=dzg[C])
                dc = dcn * Ar[t, gf]
                if rdp is None:
                    dh = _times_transposed(dzt, rk)
                else:
                    dh = (np.matmul(dzg, u4T) * rdp[:, rows]).sum(axis=0)
                if m is not None:
                    dh += dh_pass
                    dc += dc_pass
            dh_all[rows], dc_all[rows] = dh, dc

        _run_chunks(run, _row_chunks(T, N, 4 * u), N * u * 4 * u)

        def recurrent_kernel_grad() -> np.ndarray:  # dU = H^T dZ
            Hp = Hs[:-1].reshape(T * N, u)
            dZ2 = dZ.reshape(T * N, 4 * u)
            if rdp is None:
                return Hp.T @ dZ2
            dU = np.empty_like(rk)
            for g in range(4):
                cols = slice(g * u, (g + 1) * u)
                dU[:, cols] = (Hs[:-1] * rdp[g]).reshape(T * N, u).T @ dZ2[:, cols]
            return dU
        out = _layer_grads(ctx, xt, kernel, dZ, 4, u, recurrent_kernel_grad, lambda: dZ.sum(axis=(0, 1)))
        return tuple(out + [dh_all, dc_all])


def lstm_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                  c0: Tensor, **options: Any) -> Tuple[Tensor, Tensor, Tensor]:
    """Run `LSTMSequence`: returns Tensors (output, h_T, c_T). Options are `LSTMSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0, c0]
    return LSTMSequence.apply(*tensors, has_bias=bias is not None, **options)


def lstm_gate_values(x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                     bias: Optional[np.ndarray] = None, h0: Optional[np.ndarray] = None,
                     c0: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None,
                     activation: Any = "tanh", recurrent_activation: Any = "hard_sigmoid",
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
                               time_major=False, return_sequences=True, zero_output_for_mask=False,
                               initial_output=None, activation=activation, recurrent_activation=recurrent_activation,
                               dropout_mask=None, recurrent_dropout_mask=None, store=True)
    A = s["A"]  # (T, 4, N, u), forward order
    gate = lambda g: np.ascontiguousarray(A[:, _POS[g]].swapaxes(0, 1))  # noqa: E731
    return {"i": gate(I), "f": gate(F), "c_tilde": gate(C), "o": gate(O),
            "c": np.ascontiguousarray(s["Cs"][1:].swapaxes(0, 1)),
            "h": np.ascontiguousarray(s["Hs"][1:].swapaxes(0, 1))}


# ************************************************************ GRU


def _gru_forward(x, kernel, rk, bias, h0, *, reset_after, mask, go_backwards, time_major, return_sequences,
                 zero_output_for_mask, initial_output, activation, recurrent_activation, dropout_mask,
                 recurrent_dropout_mask, store):
    act, ract = _act(activation), _act(recurrent_activation)
    dtype, xt, steps = _prologue("GRUSequence", x, kernel, rk, h0, 3, mask, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
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
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs, initial_output)
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
            _apply(ract, a[:2])
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
            _apply(act, a[2])
            hn = Hs[t + 1]
            # h = z * h_prev + (1 - z) * hh = hh + z * (h_prev - hh)
            np.subtract(h, a[2], out=tmp)
            tmp *= a[0]
            np.add(a[2], tmp, out=hn)
            if steps is not None:
                m = _step_mask(steps, t, _ALL)
                _carry(m, (hn,), (h,))
                outs.step(t, _ALL, hn, m)
    y = outs.result(Hs, time_major)
    saved = dict(xt=xt, A=A, Zp=Zp, AUX=AUX, Hs=Hs, steps=steps, u3=u3) if store else None
    return y, Hs[T], saved


class GRUSequence(Function):
    """A whole GRU layer call (Keras gate packing z, r, h; `reset_after` either way) as one node.

    Inputs: x, kernel `W` (F, 3u), recurrent_kernel `U` (u, 3u), [bias `b` (3u,), or (2, 3u) = input bias `b`
    and recurrent bias `b'` with reset_after], h0. Outputs: (output, h_T).

    Forward, per step t, with `ra` the recurrent activation and `act` the activation::

        z_t  = ra(x_t W_z + h_{t-1} U_z + b_z)          r_t = ra(x_t W_r + h_{t-1} U_r + b_r)
        hh_t = act(x_t W_h + (r_t * h_{t-1}) U_h + b_h)                 (reset_after=False)
        hh_t = act(x_t W_h + b_h + r_t * (h_{t-1} U_h + b'_h))         (reset_after=True; b'_z, b'_r join z, r)
        h_t  = z_t * h_{t-1} + (1 - z_t) * hh_t

    Backward (BPTT), from the last step down, with `dh` the gradient reaching h_t::

        dhh = dh * (1 - z_t) * act'(.)                  dz = dh * (h_{t-1} - hh_t) * ra'(.)
        reset_after=False:  d(r h) = dhh U_h^T   dr = d(r h) * h_{t-1} * ra'(.)   dh_{t-1} += d(r h) * r_t
        reset_after=True:   dr = dhh * (h_{t-1} U_h + b'_h) * ra'(.)              d(h U_h) = dhh * r_t
        dh_{t-1} = dh * z_t + [dz, dr, (recurrent part of dhh)] U^T
        dW = sum_t x_t^T [dz, dr, dhh]    dU, db likewise from the recurrent products
    """

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, reset_after=False, mask=None, go_backwards=False,
                time_major=False, return_sequences=False, zero_output_for_mask=False, initial_output=None,
                activation="tanh", recurrent_activation="sigmoid", dropout_mask=None, recurrent_dropout_mask=None):
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
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"])
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
        u3T = u3.transpose(0, 2, 1) if u3 is not None else None
        for t in range(T - 1, -1, -1):
            m = _step_mask(steps, t, _ALL)
            _backprop_output(t, dh, gy_seq, gy_last, T, m, masked, o["zero_output_for_mask"], carry)
            (dh,), (dh_pass,) = _carry_grads(m, (dh,))
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
                    dh_new += _times_transposed(DI[t], rk)
                else:
                    dh_new += (np.matmul(di3.transpose(1, 0, 2), u3T) * rdp).sum(axis=0)
            else:
                drh = _times_transposed(dxg[2], rk[:, 2 * u:])
                np.multiply(drh, Pr[t], out=dxg[1])
                drh *= Rh[t]
                dh_new += drh
                np.copyto(DX[t].reshape(N, 3, u), dxg.transpose(1, 0, 2))
                if rdp is None:
                    dh_new += _times_transposed(DX[t][:, :2 * u], rk[:, :2 * u])
                else:
                    dh_new += (np.matmul(dxg[:2], u3T[:2]) * rdp[:2]).sum(axis=0)
            dh = dh_new
            if m is not None:
                dh += dh_pass

        def recurrent_kernel_grad() -> np.ndarray:  # dU = H^T dZ
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
            return dU

        def bias_grad() -> np.ndarray:
            db_in = DX.sum(axis=(0, 1))
            return np.stack([db_in, DI.sum(axis=(0, 1))]) if reset_after else db_in
        return tuple(_layer_grads(ctx, xt, kernel, DX, 3, u, recurrent_kernel_grad, bias_grad) + [dh])


def gru_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                 **options: Any) -> Tuple[Tensor, Tensor]:
    """Run `GRUSequence`: returns Tensors (output, h_T). Options are `GRUSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0]
    return GRUSequence.apply(*tensors, has_bias=bias is not None, **options)


# ************************************************************ SimpleRNN


def _simple_rnn_forward(x, kernel, rk, bias, h0, *, mask, go_backwards, time_major, return_sequences,
                        zero_output_for_mask, initial_output, activation, dropout_mask, recurrent_dropout_mask,
                        store):
    act = _act(activation)
    dtype, xt, steps = _prologue("SimpleRNNSequence", x, kernel, rk, h0, 1, mask, time_major, go_backwards)
    T, N, _ = xt.shape
    u = rk.shape[0]
    rdp = recurrent_dropout_mask
    zx = _project_inputs(xt, kernel, bias, dropout_mask, 1)[0]
    keep_z = store and act.needs_input
    Zp = np.empty((T, N, u), dtype=dtype) if keep_z else None
    # NOTE: the new h before masking is the activation itself; with a mask it needs its own buffer
    Hs = np.empty((T + 1, N, u), dtype=dtype)
    Hs[0] = h0
    An = np.empty((T if store else 1, N, u), dtype=dtype) if steps is not None else Hs[1:]
    outs = _Outputs(T, N, u, dtype, steps is not None, return_sequences, zero_output_for_mask, Hs, initial_output)
    rec = np.empty((N, u), dtype=dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            h = Hs[t]
            a = An[t if (store or steps is None) else 0]
            np.matmul(h if rdp is None else h * rdp[0], rk, out=rec)
            np.add(zx[t], rec, out=a)
            if keep_z:
                np.copyto(Zp[t], a)
            _apply(act, a)
            if steps is not None:
                hn = Hs[t + 1]
                np.copyto(hn, a)
                m = _step_mask(steps, t, _ALL)
                _carry(m, (hn,), (h,))
                outs.step(t, _ALL, hn, m)
    y = outs.result(Hs, time_major)
    saved = dict(xt=xt, An=An, Zp=Zp, Hs=Hs, steps=steps) if store else None
    return y, Hs[T], saved


class SimpleRNNSequence(Function):
    """A whole SimpleRNN layer call as one node. Inputs: x, kernel `W` (F, u), recurrent_kernel `U` (u, u),
    [bias `b` (u,)], h0. Outputs: (output, h_T).

    Forward: `h_t = act(x_t W + h_{t-1} U + b)`. Backward (BPTT), from the last step down, with `dh` the gradient
    reaching h_t: `dz_t = dh * act'(.)`, `dh_{t-1} = dz_t U^T`; `dW = sum_t x_t^T dz_t`, `dU = sum_t h_{t-1}^T dz_t`,
    `db = sum_t dz_t`, `dx_t = dz_t W^T`.
    """

    @staticmethod
    def forward(ctx, x, kernel, rk, *rest, has_bias=True, mask=None, go_backwards=False, time_major=False,
                return_sequences=False, zero_output_for_mask=False, initial_output=None, activation="tanh",
                dropout_mask=None, recurrent_dropout_mask=None):
        bias, h0 = (rest[0], rest[1]) if has_bias else (None, rest[0])
        store = getattr(ctx, "needs_input_grad", None) is not None
        y, h, saved = _simple_rnn_forward(
            x, kernel, rk, bias, h0, mask=mask, go_backwards=go_backwards, time_major=time_major,
            return_sequences=return_sequences, zero_output_for_mask=zero_output_for_mask,
            initial_output=initial_output, activation=activation,
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
        gy_seq, gy_last = _output_grads(gy, o["return_sequences"], o["time_major"])
        masked = steps is not None
        dh = np.array(ghT, dtype=Hs.dtype, copy=True)
        carry = [None]
        D = np.broadcast_to(np.asarray(1, Hs.dtype), An.shape) if act.identity else act.deriv(An, Zp)
        DZ = np.empty((T, N, u), dtype=Hs.dtype)
        for t in range(T - 1, -1, -1):
            m = _step_mask(steps, t, _ALL)
            _backprop_output(t, dh, gy_seq, gy_last, T, m, masked, o["zero_output_for_mask"], carry)
            (dh,), (dh_pass,) = _carry_grads(m, (dh,))
            np.multiply(dh, D[t], out=DZ[t])
            dh = _times_transposed(DZ[t], rk)
            if rdp is not None:
                dh *= rdp[0]
            if m is not None:
                dh += dh_pass

        def recurrent_kernel_grad() -> np.ndarray:  # dU = H^T dZ
            Hp = Hs[:-1] if rdp is None else Hs[:-1] * rdp[0]
            return Hp.reshape(T * N, u).T @ DZ.reshape(T * N, u)
        return tuple(_layer_grads(ctx, xt, kernel, DZ, 1, u, recurrent_kernel_grad, lambda: DZ.sum(axis=(0, 1)))
                     + [dh])


def simple_rnn_sequence(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Optional[Tensor], h0: Tensor,
                        **options: Any) -> Tuple[Tensor, Tensor]:
    """Run `SimpleRNNSequence`: returns Tensors (output, h_T). Options are `SimpleRNNSequence.forward`'s keywords."""
    tensors = [x, kernel, recurrent_kernel] + ([bias] if bias is not None else []) + [h0]
    return SimpleRNNSequence.apply(*tensors, has_bias=bias is not None, **options)
