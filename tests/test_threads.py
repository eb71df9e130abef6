"""BLAS threads during minikeras's calls (minikeras.autograd.threads): one thread inside, the library's own
setting restored outside, big products on the library's threads, and the same numbers either way."""
import os
import threading

import numpy as np
import pytest

from minikeras import layers
from minikeras.autograd import Tensor, threads
from minikeras.engine.base_layer import Layer


@pytest.fixture
def two_blas_threads():
    """The library set to two threads outside minikeras (what numpy's OpenBLAS does on any multi-core machine)."""
    blas = threads._blas()
    assert blas.available, "numpy's BLAS library offers no thread control here"
    before = blas.get()
    blas.set(2)
    yield blas
    blas.set(before)


class _Probe(Layer):
    """Records the BLAS thread count its `call` runs with."""

    seen: list

    def call(self, inputs):
        self.seen.append(threads._blas().get())
        return inputs * 2.0


def test_layer_calls_run_with_one_blas_thread_and_restore_the_library_setting(two_blas_threads):
    probe = _Probe()
    probe.seen = []
    probe(np.ones((2, 3), "float32"))
    assert probe.seen == [1]
    assert two_blas_threads.get() == 2


def test_backward_runs_with_one_blas_thread(two_blas_threads, monkeypatch):
    seen = []
    x = Tensor(np.ones((3, 4), "float32"), requires_grad=True)
    y = (x @ Tensor(np.ones((4, 2), "float32"))).sum()
    real = threads._ComputeScope.__enter__

    def enter(self):
        real(self)
        seen.append(threads._blas().get())
    monkeypatch.setattr(threads._ComputeScope, "__enter__", enter)
    y.backward()
    assert seen == [1] and two_blas_threads.get() == 2
    np.testing.assert_array_equal(x.grad, np.full((3, 4), 2.0, "float32"))


def test_nested_scopes_restore_once_and_errors_restore_too(two_blas_threads):
    with threads.compute_scope():
        with threads.compute_scope():
            assert two_blas_threads.get() == 1
        assert two_blas_threads.get() == 1  # the inner exit does not restore
    assert two_blas_threads.get() == 2
    with pytest.raises(RuntimeError, match="boom"):
        with threads.compute_scope():
            raise RuntimeError("boom")
    assert two_blas_threads.get() == 2 and threads._SCOPE.depth == 0


def test_big_products_get_the_library_threads_back(two_blas_threads, monkeypatch):
    monkeypatch.setattr(threads, "machine_quiet", lambda: False)
    with threads.compute_scope():
        with threads.gemm_threads(threads.BIG_GEMM - 1):
            assert two_blas_threads.get() == 1
        with threads.gemm_threads(threads.BIG_GEMM):
            assert two_blas_threads.get() == 2
        assert two_blas_threads.get() == 1
    with threads.gemm_threads(threads.BIG_GEMM):  # outside a scope: untouched
        assert two_blas_threads.get() == 2


@pytest.mark.parametrize("quiet", [False, True])
def test_mid_sized_products_get_the_library_threads_only_on_a_quiet_machine(two_blas_threads, monkeypatch, quiet):
    monkeypatch.setattr(threads, "machine_quiet", lambda: quiet)
    with threads.compute_scope():
        with threads.gemm_threads(threads.QUIET_GEMM - 1):
            assert two_blas_threads.get() == 1
        with threads.gemm_threads(threads.QUIET_GEMM):
            assert two_blas_threads.get() == (2 if quiet else 1)
        assert two_blas_threads.get() == 1


def test_load_monitor_counts_the_other_programs_cpu_time(monkeypatch):
    clock = {"wall": 100.0, "busy": 50.0, "own": 10.0}
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(threads.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(threads._LoadMonitor, "_machine_busy", lambda self: clock["busy"])
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monitor = threads._LoadMonitor()  # the first sample
    assert monitor() is False  # no interval measured yet: not quiet

    def advance(wall, busy, own):
        clock["wall"] += wall
        clock["busy"] += busy
        clock["own"] += own
        return monitor()
    assert advance(0.5, 0.9, 0.85) is True    # the machine's busy time is this process's own: quiet
    assert advance(0.1, 0.2, 0.0) is True     # within the interval: the last answer, nothing read
    assert advance(0.5, 0.9, 0.2) is False    # others used 0.9 s of CPU over the last 0.6 s: busy
    assert advance(0.5, 0.55, 0.5) is True
    monkeypatch.setattr(monitor, "_machine_busy", lambda: None)  # no /proc/stat: never quiet
    assert advance(0.5, 0.0, 0.0) is False


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc/stat")
def test_load_monitor_reads_this_machine():
    monitor = threads._LoadMonitor()
    first = monitor._machine_busy()
    sum(range(10 ** 6))  # some CPU time of this process
    assert 0 < first <= monitor._machine_busy()


def test_scopes_from_several_threads_restore_at_the_end(two_blas_threads):
    inside = threading.Barrier(3)
    done = threading.Event()
    seen = []

    def work():
        with threads.compute_scope():
            inside.wait()
            done.wait()
            seen.append(two_blas_threads.get())

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    inside.wait()
    assert two_blas_threads.get() == 1
    done.set()
    for w in workers:
        w.join()
    assert seen == [1, 1] and two_blas_threads.get() == 2


def test_same_numbers_with_one_or_two_blas_threads(two_blas_threads, monkeypatch):
    """Products give bit-identical results whatever the thread count, so the policy changes no number."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((512, 256)).astype("float32"), rng.standard_normal((256, 1024)).astype("float32")
    two = a @ b
    with threads.blas_threads(1):
        one = a @ b
    np.testing.assert_array_equal(one, two)
    layer = layers.LSTM(16, return_sequences=True)
    x = rng.standard_normal((64, 7, 8)).astype("float32")
    y1 = layer(x).numpy()
    monkeypatch.setattr(threads, "BIG_GEMM", 0)  # every product on the library's threads
    y2 = layer(x).numpy()
    np.testing.assert_array_equal(y1, y2)


def test_set_kernel_threads_checks_its_argument():
    with pytest.raises(ValueError, match="Received: n=0"):
        threads.set_kernel_threads(0)
    with pytest.raises(ValueError, match="Received: n=True"):
        threads.set_kernel_threads(True)


def test_training_gives_the_same_bits_on_a_quiet_or_busy_machine(two_blas_threads, monkeypatch):
    """Quiet: the steps' products on the library's threads, then the gradient products and the optimizer's update
    on this thread; busy: one BLAS thread, those on minikeras's threads. The weights are the same, bit for bit."""
    from minikeras import backend, models, optimizers  # NOTE: a test of the whole stack: imported where it is used
    from minikeras.autograd import rnn  # NOTE: as above
    from minikeras.optimizers import optimizer as optimizer_module  # NOTE: as above

    # these small shapes: every product counts as mid-sized, and the work after a recurrence and the optimizer's
    # update go to minikeras's threads whenever they may
    monkeypatch.setattr(threads, "QUIET_GEMM", 1)
    monkeypatch.setattr(rnn, "_MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(optimizer_module, "_MIN_PART", 16)
    parallel = []
    real = threads.run_parallel
    for module in (rnn, optimizer_module):
        monkeypatch.setattr(module, "run_parallel", lambda tasks: (parallel.append(len(tasks)), real(tasks)))

    def train(quiet):
        monkeypatch.setattr(threads, "machine_quiet", lambda: quiet)
        monkeypatch.setattr(threads, "_helpers_awake_until", 0.0)
        parallel.clear()
        backend.set_random_seed(7)
        rng = np.random.default_rng(5)
        model = models.Sequential([layers.LSTM(24, input_shape=(5, 8), return_sequences=True),
                                   layers.LSTM(16), layers.Dense(3, activation="softmax")])
        model.compile(optimizers.Adam(), "categorical_crossentropy")
        x = rng.standard_normal((12, 5, 8)).astype("float32")
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, 12)]
        for _ in range(3):
            model.train_on_batch(x, y)
        return [w.copy() for w in model.get_weights()], list(parallel)

    (quiet, on_ours_quiet), (busy, on_ours_busy) = train(quiet=True), train(quiet=False)
    assert not on_ours_quiet and on_ours_busy  # the two policies did run differently
    for a, b in zip(quiet, busy):
        np.testing.assert_array_equal(a, b)


def test_split_range_parts_cover_the_range_and_keep_their_rules(monkeypatch):
    monkeypatch.setattr(threads, "_KERNEL_THREADS", 3)
    parts = threads.split_range(1000, 100, align=16)
    assert [(p.start, p.stop) for p in parts] == [(0, 320), (320, 656), (656, 1000)]  # inner bounds: 16's
    assert [(p.start, p.stop) for p in threads.split_range(7, 1)] == [(0, 2), (2, 4), (4, 7)]
    assert threads.split_range(150, 100) == [slice(0, 150)]  # two parts would be shorter than 100
    monkeypatch.setattr(threads, "_KERNEL_THREADS", 1)
    assert threads.split_range(10 ** 6, 1) == [slice(0, 10 ** 6)]
