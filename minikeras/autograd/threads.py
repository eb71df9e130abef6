"""How minikeras uses the cores: numpy's BLAS threads during minikeras's calls, and the kernels' batch chunks.

**BLAS at one thread inside minikeras.** numpy's wheels ship OpenBLAS, which splits every matrix product above a
small size across all cores. On a machine where anything else is running (another program, a second training, a
test suite), the helper thread of such a product often waits a whole scheduler time slice to run: measured on a
2-core machine with one busy process beside it, a `(40, 64) @ (64, 512)` product took 1.4 to 20 ms instead of
0.04 to 0.1 ms (docs/performance.md gives the command). So every layer call and every backward pass
runs inside `compute_scope()`, which sets OpenBLAS to one thread on the way in and restores the library's setting
on the way out (two calls of the library's own function, about 0.2 microseconds each). Products large enough that
such a wait cannot dominate them (`gemm_threads`: at least 2**30 multiply-adds, about 30 ms on one core) still run
with the library's threads.

**The library's threads on a quiet machine.** Products of at least 2**21 multiply-adds also get the library's
threads while the machine is quiet (`machine_quiet`: the other programs used less than a quarter of a core over the
last fifth of a second, read from /proc/stat): then no helper thread waits for a core, and the steps of a small
batch, too small to split into chunks, run on both cores (Keras 2's two-LSTM example, batch 32: train step 3%
faster in `python -m minikeras.bench --env-ab OPENBLAS_NUM_THREADS=1 --workload seed`, 12% in runs of 400 steps,
10.1 -> 8.9 ms; six new processes of each, alternating, both times). After such products OpenBLAS's helpers keep
polling for about 0.1 s (`blas_helpers_spinning`), so the gradient products after a recurrence and the optimizer's
update stay on the calling thread meanwhile instead of going to minikeras's own threads.

**minikeras's own threads** (`run_parallel`): the recurrent kernels split large batches into one chunk of samples
per core, each on its own Python thread (numpy releases the interpreter lock inside its functions). Their waits
sleep, so a chunk that waits for a busy core delays only itself. `set_kernel_threads(n)` sets how many (default:
the cores this process may use). After a backward recurrence the input, weight and bias gradients are independent
products: they run side by side, each whole on one thread (sent train step 27.6 -> 21.7 ms, new processes
alternating). Splitting each product by rows across the threads instead was faster within one process and no
faster across new processes alternating with and without it.

Matrix products give the same numbers whatever the thread count (each output element is one dot product, its
order of summation fixed by the library's blocking), so none of this changes results.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

__all__ = ["blas_threads", "blas_helpers_spinning", "compute_scope", "gemm_threads", "machine_quiet",
           "set_kernel_threads", "kernel_threads", "cores", "run_parallel", "split_range"]


class _BlasThreads:
    """Get and set the number of threads of the BLAS library numpy uses, through the library's own call.

    OpenBLAS (numpy's wheels) through ctypes: `openblas_set_num_threads`, with or without the `scipy_` prefix and
    the `64_` suffix of its ILP64 build; a call costs about 0.2 microseconds. Else `threadpoolctl`, when it is
    importable, for the other BLAS libraries (about 0.8 microseconds a call). An environment variable would not do:
    OpenBLAS reads it once, when numpy is imported.
    """

    def __init__(self) -> None:
        self._get: Optional[Callable[[], int]] = None
        self._set: Optional[Callable[[int], None]] = None
        self._find_openblas()
        if self._set is None:
            self._find_threadpoolctl()

    def _find_openblas(self) -> None:
        try:
            with open("/proc/self/maps") as fh:
                paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and ".so" in line})
        except OSError:
            return
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                    put = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                        self._get, self._set = get, put
                        return

    def _find_threadpoolctl(self) -> None:
        try:
            import threadpoolctl  # optional: only for BLAS libraries other than OpenBLAS
        except ImportError:
            return
        blas = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
        if blas:
            self._get = lambda: blas[0].num_threads
            self._set = blas[0].set_num_threads

    @property
    def available(self) -> bool:
        return self._set is not None

    def get(self) -> int:
        return int(self._get()) if self._get is not None else 0

    def set(self, n: int) -> None:
        if self._set is not None:
            self._set(int(n))


_BLAS: Optional[_BlasThreads] = None
_LOCK = threading.Lock()
_KERNEL_THREADS: Optional[int] = None  # set_kernel_threads(); None: the cores this process may use
_CORES: Optional[int] = None


def _blas() -> _BlasThreads:
    global _BLAS
    if _BLAS is None:
        _BLAS = _BlasThreads()
    return _BLAS


def cores() -> int:
    """The number of cores this process may run on (its CPU affinity), read once."""
    global _CORES
    if _CORES is None:
        try:
            _CORES = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            _CORES = os.cpu_count() or 1
    return _CORES


def set_kernel_threads(n: Optional[int]) -> None:
    """How many threads minikeras splits its own large work into (the recurrent kernels' batch chunks, large
    products): `n >= 1`, or None (default) for the number of cores this process may use. For given shapes and
    thread count the numbers are the same run after run; `python -m minikeras.bench --threads 1` sets 1."""
    global _KERNEL_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"Expected a number of threads >= 1 or None. Received: n={n!r}")
    _KERNEL_THREADS = n


def kernel_threads() -> int:
    """The number of threads minikeras's own work may use (`set_kernel_threads`, else the cores)."""
    return _KERNEL_THREADS if _KERNEL_THREADS is not None else cores()


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Within this block numpy's BLAS uses `n` threads (a no-op where the library cannot be controlled)."""
    blas = _blas()
    with _LOCK:
        prev = blas.get()
        blas.set(n)
    try:
        yield
    finally:
        with _LOCK:
            blas.set(prev)


class _ComputeScope:
    """`with compute_scope():` -- BLAS at one thread until the outermost scope ends (nested scopes are free).

    A process-wide depth count: the library's own setting is read when the first scope opens and put back when
    the last one closes, so minikeras called from several threads at once restores it once, at the end.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.outer_threads = 0  # the library's setting outside every scope

    def __enter__(self) -> None:
        with _LOCK:
            self.depth += 1
            if self.depth == 1:
                blas = _blas()
                self.outer_threads = blas.get()
                if self.outer_threads > 1:
                    blas.set(1)

    def __exit__(self, *exc: object) -> None:
        with _LOCK:
            self.depth -= 1
            if self.depth == 0 and self.outer_threads > 1:
                _blas().set(self.outer_threads)


_SCOPE = _ComputeScope()


def compute_scope() -> _ComputeScope:
    """The context every layer call and backward pass runs in (see the module docstring)."""
    return _SCOPE


# NOTE: a product of this many multiply-adds takes ~30 ms on one core of the machine in docs/performance.md: long
# enough that a helper thread's wait for a busy core (measured up to ~24 ms) cannot dominate it.
BIG_GEMM = 1 << 30
# NOTE: from this many multiply-adds (about 50 us on one core) OpenBLAS's threads make a product faster when their
# cores are free: one thread against two, (32, 193) @ (193, 512) 76 -> 48 us, (32, 385) @ (385, 1024) 309 -> 173 us.
QUIET_GEMM = 1 << 21


class _LoadMonitor:
    """Whether the other programs on this machine leave this process's cores free, from the CPU time the whole
    machine spent (Linux's /proc/stat) minus this process's own (`time.process_time`), over the last fifth of a
    second or more (the first interval starts at import). Read at most every `interval` seconds (a read costs
    about 20 microseconds); False where /proc/stat is missing, before the first full interval, and on a single
    core."""

    interval = 0.2
    max_other = 0.25  # cores' worth of CPU time others may use for the machine to count as quiet

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Optional[Tuple[float, float, float]] = None  # (wall, machine busy seconds, own seconds)
        self._quiet = False
        self._tick = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        # NOTE: the first sample now (at import), so the first layer call a fifth of a second later already knows
        busy = self._machine_busy()
        if busy is not None:
            self._last = (time.monotonic(), busy, time.process_time())

    def _machine_busy(self) -> Optional[float]:
        try:
            with open("/proc/stat", "rb") as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        if len(fields) < 5 or fields[0] != b"cpu":
            return None
        # NOTE: user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy; steal
        # (another virtual machine on the same host) counts as busy, it delays helper threads the same way
        values = [int(v) for v in fields[1:9]]
        return (sum(values) - values[3] - (values[4] if len(values) > 4 else 0)) / self._tick

    def __call__(self) -> bool:
        now = time.monotonic()
        last = self._last
        if last is not None and now - last[0] < self.interval:
            return self._quiet
        with self._lock:
            if self._last is not last:  # another thread measured meanwhile
                return self._quiet
            busy = self._machine_busy()
            if busy is None or cores() < 2:
                self._quiet = False
                return False
            own = time.process_time()
            if last is not None:
                others = (busy - last[1]) - (own - last[2])
                self._quiet = others / (now - last[0]) < self.max_other
            self._last = (now, busy, own)
            return self._quiet


machine_quiet = _LoadMonitor()


# NOTE: after a product on several threads, OpenBLAS's helper threads keep polling for the next one, each a whole
# core, for about 0.1 s (measured: 106 ms of CPU time in the 0.1 s after the last product, then none), even once
# the thread count is set back to 1.
HELPER_SPIN = 0.15
_helpers_awake_until = 0.0


def blas_helpers_spinning() -> bool:
    """Whether OpenBLAS's helper threads may still be polling after a product on the library's threads
    (`HELPER_SPIN`). Work that would run on minikeras's own threads then runs on this one instead: two threads
    of ours beside a polling helper would share two cores three ways."""
    return time.monotonic() < _helpers_awake_until


@contextlib.contextmanager
def _library_threads() -> Iterator[None]:
    global _helpers_awake_until
    blas = _blas()
    with _LOCK:
        blas.set(_SCOPE.outer_threads)
    try:
        yield
    finally:
        with _LOCK:
            blas.set(1)
        _helpers_awake_until = time.monotonic() + HELPER_SPIN


def gemm_threads(macs: int) -> contextlib.AbstractContextManager:
    """The context for a product (or a loop of products) of `macs` multiply-adds each: inside a compute scope, a
    product of at least `BIG_GEMM` multiply-adds runs with the library's own thread count, and one of at least
    `QUIET_GEMM` too while the machine is quiet (`machine_quiet()`: nothing else keeps a core busy, so the
    library's helper threads cannot wait for one); anything else stays as it is."""
    if macs < QUIET_GEMM or _SCOPE.depth == 0 or _SCOPE.outer_threads <= 1:
        return contextlib.nullcontext()
    if macs < BIG_GEMM and not machine_quiet():
        return contextlib.nullcontext()
    return _library_threads()


# ************************************************************ our own threads: both cores, waits that sleep


def split_range(total: int, min_part: int, align: int = 1) -> List[slice]:
    """`range(total)` as contiguous parts for the kernel threads: one per thread at most, none shorter than
    `min_part` (fewer parts instead), inner boundaries at multiples of `align`. Depends only on its arguments and
    the thread count, so a split, and every number computed from it, is the same run after run."""
    n = max(1, min(kernel_threads(), total // max(1, min_part)))
    bounds = [0] + [(total * i // n) // align * align for i in range(1, n)] + [total]
    return [slice(bounds[i], bounds[i + 1]) for i in range(n)]


_POOL: Optional[ThreadPoolExecutor] = None


def run_parallel(tasks: Sequence[Callable[[], None]]) -> None:
    """Run every task, on up to `kernel_threads()` threads (this one included), BLAS at one thread meanwhile.

    Tasks must write disjoint outputs; which thread runs which task does not change any number. Waiting threads
    sleep (a blocked future), so on a busy machine a task that waits for a core delays only itself, unlike
    OpenBLAS's spinning helper threads. The first error is raised after every task has finished.
    """
    global _POOL
    workers = min(kernel_threads(), len(tasks))
    if workers <= 1:
        with compute_scope():
            for task in tasks:
                task()
        return
    if _POOL is None or _POOL._max_workers < workers - 1:
        _POOL = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="minikeras")
    queue = iter(tasks)
    lock = threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                task = next(queue, None)
            if task is None:
                return
            task()

    with compute_scope():
        futures = [_POOL.submit(drain) for _ in range(workers - 1)]
        try:
            drain()
        finally:
            for f in futures:
                f.exception()  # wait for every worker, even when this thread's task failed
    for f in futures:
        f.result()
