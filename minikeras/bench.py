"""Benchmarks: `python -m minikeras.bench [--compare] [--threads N] [--memory] [--repeats N] [--sweep]`.

Workloads:
  seed -- Keras 2's two-LSTM example: batch 32 x 5 timesteps x 64 features -> LSTM(128, return_sequences=True)
          -> LSTM(256) -> Dense(10, softmax), Adam, categorical crossentropy;
  sent -- a sentiment classifier: batch 64 x 40 token ids (vocabulary 5000) -> Embedding(5000, 64) -> LSTM(128)
          -> Dense(1, sigmoid), Adam, binary crossentropy.
Every LSTM uses `recurrent_activation='sigmoid'` (what PyTorch and Keras 3 compute); the row `minikeras-hard` runs
minikeras with Keras 2's default `'hard_sigmoid'`.
Metrics: ms per train step (train_on_batch), ms to predict 1024 samples (batch_size 256), ms to predict one sample;
medians of repeats after warm-up. `floor` is the time of the workload's matrix products alone, with the exact shapes
the LSTM and Dense layers need (forward, and for a train step the backward products), issued through numpy: what
any implementation on numpy must spend. `--compare` runs the same workloads in PyTorch (CPU, nn.LSTM batch_first)
and Keras 3 (JAX backend) when they are importable -- nothing is downloaded -- alternating runs, and prints the
ratios minikeras / best peer and minikeras / floor. `loop floor` is the leanest numpy implementation of the
workload we know (`LeanLoop`; for one sample `step_loop_floor_ms`), which computes the same numbers as minikeras:
what minikeras spends above it is the framework's own cost. `--threads 1` runs everything on one thread (BLAS, the kernels'
batch chunks, PyTorch's and XLA's thread pools).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from minikeras import layers, optimizers
from minikeras.autograd import threads
from minikeras.models import Sequential

WORKLOADS = ("seed", "sent")


#: Warm-up before timing: at least this many calls and this many seconds of them. A new minikeras model's first
#: train steps ran 2-3x slower than the steady state on the machine in docs/performance.md (the optimizer's flat
#: buffers built, the allocator's heap grown, the BLAS policy's first reading of the machine's load); the peers
#: warm up too (JIT compilation, caches). Timing after the same warm-up for every system measures what a user's
#: training loop sees after its first fraction of a second.
_WARMUP_CALLS, _WARMUP_S = 2, 0.25


def _median_ms(fn: Callable[[], Any], repeats: int, warmup: int = _WARMUP_CALLS) -> float:
    start = time.perf_counter()
    calls = 0
    while calls < warmup or time.perf_counter() - start < _WARMUP_S:
        fn()
        calls += 1
    # NOTE: the objects alive before timing are frozen out of garbage collection: a collection started by one
    # system's calls would otherwise walk every object the others left alive (the peers' graphs) and charge it to
    # whichever system runs then. Collections of what the timed calls themselves allocate still run, as for a user.
    gc.collect()
    gc.freeze()
    times = []
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    finally:
        gc.unfreeze()
    return statistics.median(times)


def _data(name: str, n: int, rng: np.random.Generator) -> Dict[str, np.ndarray]:
    if name == "seed":
        x = rng.standard_normal((n, 5, 64)).astype("float32")
        y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]
    else:
        x = rng.integers(1, 5000, (n, 40)).astype("int32")
        y = rng.integers(0, 2, (n, 1)).astype("float32")
    return {"x": x, "y": y}


def lstm_flops(name: str, batch: int, train: bool) -> float:
    """Multiply-adds x 2 of the matrix products (the GEMM work; elementwise work not counted)."""
    if name == "seed":
        layers = [(5, 64, 128), (5, 128, 256)]
        extra = 256 * 10
    else:
        layers = [(40, 64, 128)]
        extra = 128
    f = sum(2 * batch * t * (i + u) * 4 * u for t, i, u in layers) + 2 * batch * extra
    return f * (3 if train else 1)


# ------------------------------------------------------------------------------------------ minikeras


def minikeras_model(name: str, recurrent_activation: str = "sigmoid") -> Any:
    ra = recurrent_activation
    m = Sequential()
    if name == "seed":
        m.add(layers.LSTM(128, input_shape=(5, 64), return_sequences=True, recurrent_activation=ra))
        m.add(layers.LSTM(256, recurrent_activation=ra))
        m.add(layers.Dense(10, activation="softmax"))
        m.compile(optimizer=optimizers.Adam(), loss="categorical_crossentropy")
    else:
        m.add(layers.Embedding(5000, 64, input_shape=(40,)))
        m.add(layers.LSTM(128, recurrent_activation=ra))
        m.add(layers.Dense(1, activation="sigmoid"))
        m.compile(optimizer=optimizers.Adam(), loss="binary_crossentropy")
    return m


def run_minikeras(name: str, repeats: int, recurrent_activation: str = "sigmoid") -> Dict[str, float]:
    rng = np.random.default_rng(0)
    batch = 32 if name == "seed" else 64
    m = minikeras_model(name, recurrent_activation)
    d = _data(name, batch, rng)
    p = _data(name, 1024, rng)
    one = p["x"][:1]
    return {"train_ms": _median_ms(lambda: m.train_on_batch(d["x"], d["y"]), repeats),
            "predict1024_ms": _median_ms(lambda: m.predict(p["x"], batch_size=256, verbose=0), repeats),
            "predict1_ms": _median_ms(lambda: m.predict(one, verbose=0), repeats * 5)}


# ------------------------------------------------------------------------------------------ peers


def run_torch(name: str, repeats: int) -> Optional[Dict[str, float]]:
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    torch.manual_seed(0)

    class Seed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = nn.LSTM(64, 128, batch_first=True)
            self.l2 = nn.LSTM(128, 256, batch_first=True)
            self.d = nn.Linear(256, 10)

        def forward(self, x: Any) -> Any:
            h, _ = self.l1(x)
            _, (h2, _) = self.l2(h)
            return self.d(h2[-1])

    class Sent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.e = nn.Embedding(5000, 64)
            self.l = nn.LSTM(64, 128, batch_first=True)
            self.d = nn.Linear(128, 1)

        def forward(self, x: Any) -> Any:
            _, (h, _) = self.l(self.e(x))
            return self.d(h[-1])

    if _THREADS == 1:
        torch.set_num_threads(1)
    model = Seed() if name == "seed" else Sent()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss() if name == "seed" else nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(0)
    batch = 32 if name == "seed" else 64
    d, p = _data(name, batch, rng), _data(name, 1024, rng)
    conv = (lambda a: torch.from_numpy(a)) if name == "seed" else (lambda a: torch.from_numpy(a.astype("int64")))
    x, px = conv(d["x"]), conv(p["x"])
    y = torch.from_numpy(d["y"].argmax(-1)) if name == "seed" else torch.from_numpy(d["y"])

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def predict(a: Any, bs: int) -> None:
        with torch.no_grad():
            for i in range(0, len(a), bs):
                model(a[i:i + bs])

    return {"train_ms": _median_ms(step, repeats),
            "predict1024_ms": _median_ms(lambda: predict(px, 256), repeats),
            "predict1_ms": _median_ms(lambda: predict(px[:1], 1), repeats * 5)}


def run_keras3(name: str, repeats: int) -> Optional[Dict[str, float]]:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    if _THREADS == 1 and "jax" not in __import__("sys").modules:
        # NOTE: XLA reads its thread settings when JAX starts, hence before the import
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()
    try:
        import keras  # noqa: F401
        if not str(keras.__version__).startswith("3"):
            return None
    except Exception:  # noqa: BLE001 - any import failure means the peer is absent
        return None
    from keras import layers as kl

    if name == "seed":
        m = keras.Sequential([keras.Input((5, 64)), kl.LSTM(128, return_sequences=True), kl.LSTM(256),
                              kl.Dense(10, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy")
    else:
        m = keras.Sequential([keras.Input((40,), dtype="int32"), kl.Embedding(5000, 64), kl.LSTM(128),
                              kl.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    batch = 32 if name == "seed" else 64
    d, p = _data(name, batch, rng), _data(name, 1024, rng)
    return {"train_ms": _median_ms(lambda: m.train_on_batch(d["x"], d["y"]), repeats),
            "predict1024_ms": _median_ms(lambda: m.predict(p["x"], batch_size=256, verbose=0), repeats),
            "predict1_ms": _median_ms(lambda: m.predict_on_batch(p["x"][:1]), repeats * 5)}


def run_minikeras_hard(name: str, repeats: int) -> Dict[str, float]:
    """minikeras with Keras 2's default recurrent activation, hard_sigmoid."""
    return run_minikeras(name, repeats, "hard_sigmoid")


# ------------------------------------------------------------------------------------------ the floor


def _gemms(name: str, batch: int, train: bool) -> List[Callable[[], Any]]:
    """The workload's matrix products, as numpy calls of the exact shapes (float32).

    Per LSTM layer (timesteps T, batch N, input F, units u): the input projection (T*N, F) @ (F, 4u) and one
    (N, u) @ (u, 4u) per step; for a train step also one (N, 4u) @ (4u, u) per step (BPTT), the weight gradients
    (F, T*N) @ (T*N, 4u) and (u, T*N) @ (T*N, 4u), and the input gradient (T*N, 4u) @ (4u, F) where the input needs
    one. The Dense layer: (N, u) @ (u, out), and for training its two gradient products.
    """
    rng = np.random.default_rng(0)
    if name == "seed":
        layers, dense, input_grads = [(5, 64, 128), (5, 128, 256)], (256, 10), [False, True]
    else:
        layers, dense, input_grads = [(40, 64, 128)], (128, 1), [True]
    calls: List[Callable[[], Any]] = []

    def mat(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype("float32")

    for (t, f, u), input_grad in zip(layers, input_grads):
        x, k, h, r = mat(t * batch, f), mat(f, 4 * u), mat(batch, u), mat(u, 4 * u)
        calls.append(lambda x=x, k=k: x @ k)
        calls += [lambda h=h, r=r: h @ r] * t
        if train:
            dz, dzt, hs = mat(t * batch, 4 * u), mat(batch, 4 * u), mat(t * batch, u)
            calls += [lambda dzt=dzt, r=r: dzt @ r.T] * t
            calls += [lambda x=x, dz=dz: x.T @ dz, lambda hs=hs, dz=dz: hs.T @ dz]
            if input_grad:
                calls.append(lambda dz=dz, k=k: dz @ k.T)
    a, w = mat(batch, dense[0]), mat(*dense)
    calls.append(lambda: a @ w)
    if train:
        g = mat(batch, dense[1])
        calls += [lambda: a.T @ g, lambda: g @ w.T]
    return calls


def floor_ms(name: str, repeats: int) -> Dict[str, float]:
    """The workload's matrix products alone (see `_gemms`), per metric: the faster of BLAS on its own threads and
    on one thread."""
    batch = 32 if name == "seed" else 64
    train, pred, one = _gemms(name, batch, True), _gemms(name, 256, False), _gemms(name, 1, False)

    def run(calls: List[Callable[[], Any]], times: int = 1) -> None:
        for _ in range(times):
            for c in calls:
                c()

    def best(fn: Callable[[], None], reps: int) -> float:
        # NOTE: the library's own threads or one thread, whichever is faster here and now: on a busy machine
        # OpenBLAS's threads can make small products hundreds of times slower (minikeras.autograd.threads)
        with threads.blas_threads(1):
            one_thread = _median_ms(fn, reps)
        return min(one_thread, _median_ms(fn, reps))

    return {"train_ms": best(lambda: run(train), repeats),
            "predict1024_ms": best(lambda: run(pred, 4), repeats),
            "predict1_ms": best(lambda: run(one), repeats * 5)}


def step_loop_floor_ms(name: str, repeats: int) -> float:
    """A one-sample forward pass written as the leanest numpy loop we know: per LSTM layer and timestep one product
    `h @ U` and nine elementwise calls (the four gates as one `tanh` with the sigmoid's 1/2 folded into the
    weights, its affine, the cell update, `tanh(c)`, `h`); the input projections and the Dense layer as products.
    Any numpy implementation that steps through time issues at least this many calls; on one sample their fixed
    cost, not their arithmetic, is the time."""
    rng = np.random.default_rng(0)
    layers = [(5, 64, 128), (5, 128, 256)] if name == "seed" else [(40, 64, 128)]
    state = []
    for t, f, u in layers:
        state.append((t, u, rng.standard_normal((t, f)).astype("float32"),
                      rng.standard_normal((f, 4 * u)).astype("float32") * 0.1,
                      rng.standard_normal((u, 4 * u)).astype("float32") * 0.1))
    dense = rng.standard_normal((layers[-1][2], 10)).astype("float32")

    def run() -> None:
        for t, u, x, k, r in state:
            z = x @ k
            h, c = np.zeros((1, u), "float32"), np.zeros((1, u), "float32")
            a, tmp, tc = np.empty((1, 4 * u), "float32"), np.empty((1, u), "float32"), np.empty((1, u), "float32")
            for step in range(t):
                np.matmul(h, r, out=a)
                a += z[step]
                np.tanh(a, out=a)
                sig = a[:, :3 * u]
                sig *= 0.5
                sig += 0.5
                np.multiply(a[:, u:2 * u], c, out=c)
                np.multiply(a[:, :u], a[:, 3 * u:], out=tmp)
                c += tmp
                np.tanh(c, out=tc)
                np.multiply(a[:, 2 * u:3 * u], tc, out=h)
        h @ dense
    with threads.blas_threads(1):  # products of one sample gain nothing from a second thread
        return _median_ms(run, repeats * 5)


def adam_passes(g: np.ndarray, w: np.ndarray, m: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray,
                c: Dict[str, Any]) -> None:
    """tf_keras's Adam step in place as numpy calls, one per operation of its formula (twelve passes):
    `m += (g - m)(1 - beta_1)`, `v += (g^2 - v)(1 - beta_2)`, `w -= alpha m / (sqrt(v) + epsilon)`; `a`, `b` are
    scratch arrays of the same size."""
    np.subtract(g, m, out=a)
    a *= c["one_minus_beta_1"]
    m += a
    np.multiply(g, g, out=a)
    a -= v
    a *= c["one_minus_beta_2"]
    v += a
    np.sqrt(v, out=a)
    a += c["epsilon"]
    np.multiply(m, c["alpha"], out=b)
    b /= a
    w -= b


#: Elements per block of `update_floor_ms`'s one-thread variant (what a core's cache holds of six arrays).
_UPDATE_BLOCK = 1 << 15


def update_floor_ms(name: str, repeats: int) -> float:
    """The optimizer's share of a train step's floor: one Adam update of every trainable weight of the workload as
    `adam_passes` on flat float32 buffers, the fastest of: whole buffers on one thread, block by block on one
    thread (each block's passes in cache), two halves side by side on two threads. Every numpy implementation of
    the step updates every weight; numpy cannot fuse the twelve passes into one."""
    n = minikeras_model(name).count_params()
    rng = np.random.default_rng(0)
    g, w = rng.standard_normal(n).astype("float32"), rng.standard_normal(n).astype("float32")
    m, v = np.zeros(n, "float32"), np.zeros(n, "float32")
    a, b = np.empty(n, "float32"), np.empty(n, "float32")
    f = np.float32
    c = {"one_minus_beta_1": f(0.1), "one_minus_beta_2": f(0.001), "epsilon": f(1e-7), "alpha": f(1e-3)}

    def span(lo: int, hi: int, block: int) -> None:
        for start in range(lo, hi, block):
            rows = slice(start, min(start + block, hi))
            k = rows.stop - rows.start
            scratch = (a[:k], b[:k]) if block < n else (a[rows], b[rows])
            adam_passes(g[rows], w[rows], m[rows], v[rows], *scratch, c)

    def halves() -> None:
        mid = n // 2 // 16 * 16
        threads.run_parallel([lambda: adam_passes(g[:mid], w[:mid], m[:mid], v[:mid], a[:mid], b[:mid], c),
                              lambda: adam_passes(g[mid:], w[mid:], m[mid:], v[mid:], a[mid:], b[mid:], c)])

    times = [_median_ms(lambda: span(0, n, n), repeats), _median_ms(lambda: span(0, n, _UPDATE_BLOCK), repeats)]
    if threads.kernel_threads() > 1:
        times.append(_median_ms(halves, repeats))
    return min(times)


# ------------------------------------------------------------------------------------------ the numpy loop floor


#: The sigmoid gates (Keras's i, f, o) run as `0.5 * tanh(z / 2) + 0.5`: their weights are halved in the fold.
_LEAN_FOLD = ((0, 0.5), (1, 0.5), (3, 0.5), (2, 1.0))  # (Keras gate, scale) in the loop's order i, f, o, c~


class LeanLoop:
    """The leanest numpy implementation we know of a workload's train step and batched predict: the yardstick for
    what minikeras spends above what numpy itself must (the `loop floor` column of the bench's tables).

    It computes what minikeras computes (the tests compare its predictions and its weights after Adam steps with a
    minikeras model's), written as plain numpy with nothing else around it: no layers, no autograd, no checks, no
    rollback. Per LSTM layer and step of the forward pass: one product `[x_t, h, 1] @ [W; U; b]` straight into a
    gate-major block (the sigmoid's 1/2 folded into a scaled copy of the weights, made once per call), one `tanh`
    over the four gates, one affine over the three sigmoid gates, three calls for the cell update, `tanh(c)` and
    `h`. Backward: every activation derivative for the whole sequence first, then five elementwise calls and the
    product `dz U^T` per step, one product for `[dW; dU; db]` together and one for the input's gradient. Adam:
    `adam_passes` on one flat buffer of every weight, block by block. The Embedding (sent) gathers its rows and
    scatters their gradient with `np.add.at` on the flat table. `chunks=2` runs the recurrences of two halves of
    the batch on two threads, as minikeras does.
    """

    def __init__(self, name: str, weights: List[np.ndarray]) -> None:
        self.name = name
        if name == "seed":
            dims = [(64, 128), (128, 256)]
            self.emb_shape = None
        else:
            dims = [(64, 128)]
            self.emb_shape = (5000, 64)
        shapes = ([self.emb_shape] if self.emb_shape else []) + [(f + u + 1, 4 * u) for f, u in dims] + \
            [(dims[-1][1], 10 if name == "seed" else 1), (10 if name == "seed" else 1,)]
        sizes = [int(np.prod(s)) for s in shapes]
        n = sum(sizes)
        self.w, self.g = np.empty(n, "float32"), np.zeros(n, "float32")
        self.m, self.v = np.zeros(n, "float32"), np.zeros(n, "float32")
        self.scratch = (np.empty(_UPDATE_BLOCK, "float32"), np.empty(_UPDATE_BLOCK, "float32"))
        views, grads, at = [], [], 0
        for s, k in zip(shapes, sizes):
            views.append(self.w[at:at + k].reshape(s))
            grads.append(self.g[at:at + k].reshape(s))
            at += k
        it = iter(weights)
        if self.emb_shape:
            views[0][...] = next(it)
        for (f, u), block in zip(dims, views[1 if self.emb_shape else 0:]):
            block[:f], block[f:f + u], block[f + u] = next(it), next(it), next(it)  # [kernel; recurrent; bias]
        views[-2][...], views[-1][...] = next(it), next(it)
        self.emb, self.emb_grad = (views[0], grads[0]) if self.emb_shape else (None, None)
        first = 1 if self.emb_shape else 0
        self.layers = [(f, u, blk, gblk) for (f, u), blk, gblk in zip(dims, views[first:], grads[first:])]
        self.dense, self.dense_grad = (views[-2], views[-1]), (grads[-2], grads[-1])
        self.iterations = 0

    # ---- forward

    @staticmethod
    def _fold(block: np.ndarray, u: int) -> np.ndarray:
        w = np.empty_like(block)
        for pos, (gate, scale) in enumerate(_LEAN_FOLD):
            np.multiply(block[:, gate * u:(gate + 1) * u], scale, out=w[:, pos * u:(pos + 1) * u])
        return w.reshape(block.shape[0], 4, u).transpose(1, 0, 2)  # (4, K, u) views: one product per gate block

    def _lstm_forward(self, xs: np.ndarray, f: int, u: int, block: np.ndarray, chunks: int, train: bool):
        T, N, _ = xs.shape
        K = f + u + 1
        wg = self._fold(block, u)
        xh = np.empty((T, N, K), "float32")   # [x_t, h_{t-1}, 1] of every step
        xh[:, :, :f] = xs
        xh[:, :, f + u] = 1
        S = T if train else 1
        A = np.empty((S, 4, N, u), "float32")   # gates i, f, o, c~
        Hs = np.empty((T + 1, N, u), "float32")
        Cs = np.empty((T + 1 if train else 2, N, u), "float32")
        TC = np.empty((S, N, u), "float32")
        Hs[0] = 0
        Cs[0] = 0

        def run(rows: slice) -> None:
            tmp = np.empty((rows.stop - rows.start, u), "float32")
            for t in range(T):
                k = t if train else 0
                xh[t, rows, f:f + u] = Hs[t, rows]
                a = A[k, :, rows]
                np.matmul(xh[t, rows], wg, out=a)
                np.tanh(a, out=a)
                sig = a[:3]
                sig *= 0.5
                sig += 0.5
                c, cn = Cs[t if train else t % 2, rows], Cs[t + 1 if train else (t + 1) % 2, rows]
                np.multiply(a[1], c, out=cn)
                np.multiply(a[0], a[3], out=tmp)
                cn += tmp
                np.tanh(cn, out=TC[k, rows])
                np.multiply(a[2], TC[k, rows], out=Hs[t + 1, rows])
        _lean_chunks(run, N, chunks)
        return xh, A, Hs, Cs, TC

    def _forward(self, x: np.ndarray, chunks: int, train: bool):
        xs = self.emb[x.T] if self.emb is not None else np.ascontiguousarray(x.swapaxes(0, 1))
        saved = []
        for f, u, block, _ in self.layers:
            out = self._lstm_forward(xs, f, u, block, chunks, train)
            saved.append(out)
            xs = out[2][1:]
        h = saved[-1][2][-1]
        logits = h @ self.dense[0]
        logits += self.dense[1]
        if self.name == "seed":
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits, out=logits)
            p /= p.sum(axis=1, keepdims=True)
        else:
            p = np.negative(logits, out=logits)
            np.exp(p, out=p)
            p += 1
            np.reciprocal(p, out=p)
        return p, saved

    def predict(self, x: np.ndarray, batch_size: int = 256, chunks: int = 1) -> np.ndarray:
        return np.concatenate([self._forward(x[i:i + batch_size], chunks, False)[0]
                               for i in range(0, len(x), batch_size)])

    # ---- backward

    @staticmethod
    def _lstm_backward(saved, f: int, u: int, block: np.ndarray, gblock: np.ndarray, gy_seq, gh_last, chunks: int,
                       need_x: bool):
        xh, A, Hs, Cs, TC = saved
        T, N, K = xh.shape
        U = block[f:f + u]
        dZ = np.empty((T, N, 4 * u), "float32")   # Keras's gate order i, f, c, o
        dx = None

        def run(rows: slice) -> None:
            n = rows.stop - rows.start
            Ar = A[:, :, rows]
            P = np.subtract(1, Ar[:, :3])           # i, f, o: sigmoid' = s (1 - s), times what multiplies the gate
            P *= Ar[:, :3]
            P[:, 0] *= Ar[:, 3]
            P[:, 1] *= Cs[:-1, rows]
            P[:, 2] *= TC[:, rows]
            Pc = np.square(Ar[:, 3])                # c~: tanh' times i
            np.subtract(1, Pc, out=Pc)
            Pc *= Ar[:, 0]
            Q = np.square(TC[:, rows])              # o tanh'(c)
            np.subtract(1, Q, out=Q)
            Q *= Ar[:, 2]
            dh = np.zeros((n, u), "float32") if gh_last is None else gh_last[rows].copy()
            dc = np.zeros((n, u), "float32")
            dcn = np.empty((n, u), "float32")
            for t in range(T - 1, -1, -1):
                if gy_seq is not None:
                    dh += gy_seq[t, rows]
                dzt = dZ[t, rows]
                dzg = dzt.reshape(n, 4, u).transpose(1, 0, 2)
                np.multiply(dh, P[t, 2], out=dzg[3])
                np.multiply(dh, Q[t], out=dcn)
                dcn += dc
                np.multiply(dcn, P[t, :2], out=dzg[:2])
                np.multiply(dcn, Pc[t], out=dzg[2])
                np.multiply(dcn, Ar[t, 1], out=dc)
                dh = np.ascontiguousarray(np.matmul(U, dzt.T).T)
        _lean_chunks(run, N, chunks)
        dz2 = dZ.reshape(T * N, 4 * u)
        np.matmul(xh.reshape(T * N, K).T, dz2, out=gblock)   # [dW; dU; db] in one product
        if need_x:
            dx = (dz2 @ block[:f].T).reshape(T, N, f)
        return dx

    def train_step(self, x: np.ndarray, y: np.ndarray, chunks: int = 1, learning_rate: float = 1e-3) -> None:
        """One step of Adam (tf_keras's defaults) on the workload's loss, like `model.train_on_batch(x, y)`."""
        p, saved = self._forward(x, chunks, True)
        n = len(y)
        dl = p - y
        dl /= n                                  # softmax / sigmoid crossentropy: (p - y) / N at the logits
        h = saved[-1][2][-1]
        np.matmul(h.T, dl, out=self.dense_grad[0])
        np.sum(dl, axis=0, out=self.dense_grad[1])
        gh, gy = dl @ self.dense[0].T, None
        for i in range(len(self.layers) - 1, -1, -1):
            f, u, block, gblock = self.layers[i]
            need_x = i > 0 or self.emb is not None
            dx = self._lstm_backward(saved[i], f, u, block, gblock, gy, gh, chunks, need_x)
            gh, gy = None, dx
        if self.emb is not None:
            self.emb_grad[...] = 0
            cols = self.emb_grad.shape[1]
            flat = (x.T[..., None] * cols + np.arange(cols)).ravel()
            np.add.at(self.emb_grad.reshape(-1), flat, gy.ravel())
        self.iterations += 1
        t = self.iterations
        f32 = np.float32
        c = {"one_minus_beta_1": f32(0.1), "one_minus_beta_2": f32(0.001), "epsilon": f32(1e-7),
             "alpha": f32(learning_rate * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t))}
        a, b = self.scratch
        total = len(self.w)
        for lo in range(0, total, _UPDATE_BLOCK):
            r = slice(lo, min(lo + _UPDATE_BLOCK, total))
            k = r.stop - r.start
            adam_passes(self.g[r], self.w[r], self.m[r], self.v[r], a[:k], b[:k], c)


def _lean_chunks(run: Callable[[slice], None], n: int, chunks: int) -> None:
    if chunks == 1:
        run(slice(0, n))
    else:
        threads.run_parallel([lambda rows=rows: run(rows) for rows in threads.split_range(n, n // chunks)])


def loop_floor_ms(name: str, repeats: int) -> Dict[str, float]:
    """The numpy loop floor, per metric: `LeanLoop`'s train step and predict of 1024 samples (batch 256), the
    fastest of one chunk and, with more than one kernel thread and at least 64 samples, two, each with BLAS on one
    thread and on its own threads; for one sample, `step_loop_floor_ms`."""
    rng = np.random.default_rng(0)
    lean = LeanLoop(name, minikeras_model(name).get_weights())
    batch = 32 if name == "seed" else 64
    d, p = _data(name, batch, rng), _data(name, 1024, rng)

    def best(fn: Callable[[int], Any], n: int) -> float:
        options = [1] + ([2] if threads.kernel_threads() > 1 and n >= 64 else [])
        times = []
        for chunks in options:
            with threads.blas_threads(1):
                times.append(_median_ms(lambda: fn(chunks), repeats))
            times.append(_median_ms(lambda: fn(chunks), repeats))
        return min(times)

    return {"train_ms": best(lambda k: lean.train_step(d["x"], d["y"], k), batch),
            "predict1024_ms": best(lambda k: lean.predict(p["x"], 256, k), 256),
            "predict1_ms": step_loop_floor_ms(name, repeats)}


@contextlib.contextmanager
def _one_thread() -> Any:
    """BLAS at one thread and the kernels' batch chunks off (PyTorch and XLA are limited where they are set up)."""
    threads.set_kernel_threads(1)
    try:
        with threads.blas_threads(1):
            yield
    finally:
        threads.set_kernel_threads(None)


def sgemm_gflops() -> float:
    """numpy's own float32 GEMM throughput on a large product (the roofline)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype("float32")
    ms = _median_ms(lambda: a @ a, 10, warmup=3)
    return 2 * 1024 ** 3 / (ms * 1e-3) / 1e9


def sweep(repeats: int) -> None:
    """minikeras alone: one LSTM(units) on (batch, timesteps, 64) float32 inputs -> Dense(1), Adam, mse; how the train
    step and a forward pass of the same batch grow with timesteps, batch and units (others held at 32, 32, 128)."""
    rng = np.random.default_rng(0)
    base = {"timesteps": 32, "batch": 32, "units": 128}
    grid = {"timesteps": (8, 32, 128), "batch": (8, 32, 128), "units": (32, 128, 512)}
    print("\nsweep (minikeras): LSTM(units) on (batch, timesteps, 64) -> Dense(1); medians in ms")
    print(f"  {'varied':10s} {'value':>6s} {'train_ms':>9s} {'predict_ms':>10s} {'train GFLOP/s':>13s}")
    for key, values in grid.items():
        for v in values:
            cfg = dict(base, **{key: v})
            t, n, u = cfg["timesteps"], cfg["batch"], cfg["units"]
            m = Sequential()
            m.add(layers.LSTM(u, input_shape=(t, 64)))
            m.add(layers.Dense(1))
            m.compile(optimizer=optimizers.Adam(), loss="mse")
            x = rng.standard_normal((n, t, 64)).astype("float32")
            y = rng.standard_normal((n, 1)).astype("float32")
            tr = _median_ms(lambda: m.train_on_batch(x, y), repeats)
            pr = _median_ms(lambda: m.predict_on_batch(x), repeats)
            gf = 3 * 2 * n * t * (64 + u) * 4 * u / (tr * 1e-3) / 1e9
            print(f"  {key:10s} {v:6d} {tr:9.2f} {pr:10.2f} {gf:13.1f}")


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process so far (Linux /proc VmHWM), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("VmHWM not available (Linux only)")


_SETTLE_S = 0.3  # seconds of quiet before each system's timings (see _main)

SYSTEMS = {"minikeras": run_minikeras, "pytorch": run_torch, "keras3-jax": run_keras3}
_THREADS: Optional[int] = None  # --threads


def _memory_child(system: str) -> None:
    """In a fresh process: import the framework, note the peak RSS, run the sent training loop, print the growth."""
    if system == "pytorch":
        try:
            import torch  # noqa: F401
        except ImportError:
            print("missing")
            return
    elif system == "keras3-jax":
        os.environ.setdefault("KERAS_BACKEND", "jax")
        try:
            import keras  # noqa: F401
        except ImportError:
            print("missing")
            return
    else:
        # NOTE: a no-op kept for symmetry: `python -m minikeras.bench` has imported minikeras already, so the
        # baseline below includes it, as it includes torch or keras for the peers
        import minikeras  # noqa: F401
    before = _vm_hwm_mb()
    result = SYSTEMS[system]("sent", 3)
    if result is None:
        print("missing")
        return
    print(f"{_vm_hwm_mb() - before:.1f}")


def memory(peers: bool) -> None:
    """Peak-memory growth of the sent workload (train, predict 1024, predict 1) per system, each in a new process."""
    import subprocess
    import sys

    print("\npeak memory of the sent workload (MB above the peak after importing the framework; fresh process each)")
    for system in ["minikeras"] + (["pytorch", "keras3-jax"] if peers else []):
        out = subprocess.run([sys.executable, "-m", "minikeras.bench", "--memory-child", system],
                             capture_output=True, text=True, check=False)
        value = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"failed: {out.stderr[-200:]}"
        print(f"  {system:11s} {value}")


def _ab_child(name: str) -> None:
    """In a fresh process: minikeras's train step (40 timed after 3 warm-up) and predict 1024 (7 timed); prints
    the two medians as JSON."""
    import json

    rng = np.random.default_rng(0)
    m = minikeras_model(name)
    d = _data(name, 32 if name == "seed" else 64, rng)
    p = _data(name, 1024, rng)
    train = _median_ms(lambda: m.train_on_batch(d["x"], d["y"]), 40, warmup=3)
    pred = _median_ms(lambda: m.predict(p["x"], batch_size=256, verbose=0), 7)
    print(json.dumps({"train_ms": train, "predict1024_ms": pred}))


def env_ab(setting: str, names: List[str], rounds: int) -> None:
    """minikeras with and without the environment setting `VAR=VALUE`, each round a new process of each, in
    alternating order; per-round medians and the median over rounds."""
    import json
    import subprocess
    import sys

    var, _, value = setting.partition("=")
    for name in names:
        runs: Dict[str, List[Dict[str, float]]] = {"as is": [], setting: []}
        for r in range(rounds):
            for label in (["as is", setting] if r % 2 == 0 else [setting, "as is"]):
                env = dict(os.environ)
                env.pop(var, None)
                if label == setting:
                    env[var] = value
                out = subprocess.run([sys.executable, "-m", "minikeras.bench", "--ab-child", name], env=env,
                                     capture_output=True, text=True, check=True)
                runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"\nworkload {name}: minikeras as is and with {setting}, {rounds} new processes each (ms)")
        for k in ("train_ms", "predict1024_ms"):
            for label, rs in runs.items():
                vals = [r[k] for r in rs]
                print(f"  {k:>15s} {label:>28s}: median {statistics.median(vals):8.2f}  "
                      f"runs {' '.join(f'{v:.1f}' for v in vals)}")


def main(argv: Optional[List[str]] = None) -> int:
    global _THREADS
    parser = argparse.ArgumentParser(prog="python -m minikeras.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also run PyTorch and Keras 3 (JAX) if importable")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--workload", choices=WORKLOADS, action="append")
    parser.add_argument("--threads", type=int, choices=[1], help="run everything on one thread")
    parser.add_argument("--sweep", action="store_true",
                        help="minikeras alone: cost vs timesteps, batch and units (instead of the workloads)")
    parser.add_argument("--memory", action="store_true",
                        help="also measure the peak-memory growth of the sent workload (each system in a new process)")
    parser.add_argument("--memory-child", choices=sorted(SYSTEMS), help=argparse.SUPPRESS)
    parser.add_argument("--env-ab", metavar="VAR=VALUE",
                        help="minikeras alone, in new processes alternating without and with this environment "
                             "setting (e.g. MINIKERAS_TUNE_MALLOC=0); --rounds of each")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of --env-ab (default 8)")
    parser.add_argument("--ab-child", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--kernel-threads", type=int, metavar="N",
                        help="minikeras's recurrent kernels split batches into at most N chunks (default: the cores)")
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="keep N other processes busy (a Python loop each) during the run: a shared machine")
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(args.memory_child)
        return 0
    if args.ab_child:
        _ab_child(args.ab_child)
        return 0
    if args.env_ab:
        if "=" not in args.env_ab:
            parser.error(f"--env-ab expects VAR=VALUE. Received: --env-ab {args.env_ab}")
        env_ab(args.env_ab, args.workload or list(WORKLOADS), args.rounds)
        return 0
    _THREADS = args.threads
    if args.kernel_threads is not None:
        threads.set_kernel_threads(args.kernel_threads)
    with _busy(args.busy), _one_thread() if args.threads == 1 else contextlib.nullcontext():
        return _main(args)


@contextlib.contextmanager
def _busy(n: int) -> Any:
    """`n` processes spinning in a Python loop for the duration (what another program on the machine does)."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _main(args: Any) -> int:
    names = args.workload or list(WORKLOADS)
    thread_setting = "one thread" if args.threads == 1 else "default threads"
    if args.kernel_threads is not None:
        thread_setting += f", minikeras kernel threads {args.kernel_threads}"
    if args.busy:
        thread_setting += f", {args.busy} other busy process{'es' if args.busy > 1 else ''}"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}; {thread_setting}")
    roof = sgemm_gflops()
    time.sleep(_SETTLE_S)
    print(f"numpy sgemm 1024^3: {roof:.1f} GFLOP/s")
    if args.sweep:
        sweep(args.repeats)
        return 0
    systems: Dict[str, Callable[[str, int], Optional[Dict[str, float]]]] = {
        "minikeras": run_minikeras, "minikeras-hard": run_minikeras_hard}
    if args.compare:
        systems.update({"pytorch": run_torch, "keras3-jax": run_keras3})
    systems["floor"] = floor_ms
    systems["loop floor"] = loop_floor_ms
    peers = ("pytorch", "keras3-jax")
    for name in names:
        results: Dict[str, Dict[str, List[float]]] = {}
        missing: List[str] = []
        # NOTE: alternate the systems in rounds so background load hits them alike
        rounds = 3 if args.compare else 1
        per_round = max(3, args.repeats // rounds)
        order = list(systems.items())
        for r in range(rounds):
            # NOTE: each round starts with a different system: the first one after the floor measurement and the
            # pause ran measurably slower (minikeras and minikeras-hard differed by 20% in that order, not at all
            # when they alternated)
            for system, fn in order[r % len(order):] + order[:r % len(order)]:
                if system in missing:
                    continue
                # NOTE: OpenBLAS's helper threads spin for about 0.1 s after a multi-threaded product (the floor's,
                # a peer's) before they sleep; on a 2-core machine they would run against the next system's timings
                time.sleep(_SETTLE_S)
                r = fn(name, per_round)
                if r is None:
                    missing.append(system)
                    continue
                for k, v in r.items():
                    results.setdefault(system, {}).setdefault(k, []).append(v)
        med = {s: {k: statistics.median(v) for k, v in m.items()} for s, m in results.items()}
        batch = 32 if name == "seed" else 64
        print(f"\nworkload {name} (ms, medians)")
        header = ["metric"] + list(med) + (["mk/best peer"] if any(p in med for p in peers) else []) + \
            ["mk/floor", "mk/loop floor", "hard/sigmoid"]
        print("  " + "".join(f"{h:>15s}" for h in header))
        for k in ("train_ms", "predict1024_ms", "predict1_ms"):
            row = [f"{med[s][k]:15.2f}" for s in med]
            mk = med["minikeras"][k]
            best = [med[p][k] for p in peers if p in med]
            if best:
                row.append(f"{mk / min(best):15.2f}")
            row += [f"{mk / med['floor'][k]:15.2f}", f"{mk / med['loop floor'][k]:15.2f}",
                    f"{med['minikeras-hard'][k] / mk:15.2f}"]
            print(f"  {k:>15s}" + "".join(row))
        present = [p for p in peers if p in results]
        if present and rounds > 1:
            # NOTE: the spread of the ratio over the rounds of this one run: how far apart background load moved it
            spans = []
            for k in ("train_ms", "predict1024_ms", "predict1_ms"):
                ratios = [m / min(results[p][k][r] for p in present)
                          for r, m in enumerate(results["minikeras"][k])]
                spans.append(f"{k.replace('_ms', '')} {min(ratios):.2f}-{max(ratios):.2f}")
            print(f"  mk/best peer within each round: {', '.join(spans)}")
        update = update_floor_ms(name, args.repeats)
        step_floor = med["floor"]["train_ms"] + update
        line = (f"  numpy train-step floor: products {med['floor']['train_ms']:.2f} + Adam update {update:.2f} = "
                f"{step_floor:.2f} ms (minikeras / step floor {med['minikeras']['train_ms'] / step_floor:.2f}")
        best_train = [med[p]["train_ms"] for p in peers if p in med]
        if best_train:
            line += f", best peer / step floor {min(best_train) / step_floor:.2f}"
        print(line + ")")
        gf = lstm_flops(name, batch, True) / (med["minikeras"]["train_ms"] * 1e-3) / 1e9
        print(f"  minikeras train step: {gf:.1f} GFLOP/s ({100 * gf / roof:.1f}% of the sgemm rate)")
        if missing:
            print(f"  peers not installed (skipped): {', '.join(missing)}")
    if args.memory:
        memory(args.compare)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
