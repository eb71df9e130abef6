"""`python -m minikeras.bench` keeps working: its options, its output, its helper processes. Speed itself is not
asserted here (docs/performance.md has the numbers and the commands)."""
import json
import os
import subprocess
import sys

import pytest

from minikeras import bench


def test_minikeras_alone_prints_every_metric_and_both_floors(capsys):
    assert bench.main(["--workload", "seed", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "workload seed" in out and "workload sent" not in out
    for row in ("train_ms", "predict1024_ms", "predict1_ms", "numpy step-loop floor, predict 1",
                "numpy train-step floor: products"):
        assert row in out
    header = next(line for line in out.splitlines() if line.strip().startswith("metric"))
    assert header.split() == ["metric", "minikeras", "minikeras-hard", "floor", "mk/floor", "hard/sigmoid"]


def test_kernel_threads_option_is_applied(monkeypatch):
    monkeypatch.setattr(bench.threads, "_KERNEL_THREADS", None)  # put back after the test
    seen = []
    monkeypatch.setattr(bench, "_main", lambda args: seen.append(bench.threads.kernel_threads()) or 0)
    assert bench.main(["--kernel-threads", "1"]) == 0
    assert seen == [1]


def test_env_ab_needs_a_setting():
    with pytest.raises(SystemExit):
        bench.main(["--env-ab", "MINIKERAS_TUNE_MALLOC"])


def test_ab_child_prints_both_metrics_as_json():
    out = subprocess.run([sys.executable, "-m", "minikeras.bench", "--ab-child", "seed"], capture_output=True,
                         text=True, check=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"train_ms", "predict1024_ms"} and all(v > 0 for v in result.values())


def _busy_children():
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "while True: pass"], capture_output=True, text=True)
    return out.stdout.split()


def test_busy_processes_run_during_the_run_and_end_with_it():
    with bench._busy(2):
        assert len(_busy_children()) == 2
    assert _busy_children() == []


def test_compare_rotates_the_systems_and_prints_the_spread_over_rounds(capsys, monkeypatch):
    # stand-ins for the peers and minikeras: each round's numbers known, so the printed spread can be checked
    order, rounds = [], {"minikeras": iter([10.0, 12.0, 11.0]), "pytorch": iter([5.0, 6.0, 4.0])}

    def fake(system):
        def run(name, repeats):
            order.append(system)
            if system in rounds:
                value = next(rounds[system])
                return {"train_ms": value, "predict1024_ms": value, "predict1_ms": value}
            if system == "keras3-jax":
                return None  # not installed
            return {"train_ms": 1.0, "predict1024_ms": 1.0, "predict1_ms": 1.0}
        return run
    for system, attr in (("minikeras", "run_minikeras"), ("minikeras-hard", "run_minikeras_hard"),
                         ("pytorch", "run_torch"), ("keras3-jax", "run_keras3"), ("floor", "floor_ms")):
        monkeypatch.setattr(bench, attr, fake(system))
    monkeypatch.setattr(bench, "_SETTLE_S", 0)
    monkeypatch.setattr(bench, "sgemm_gflops", lambda: 1.0)
    monkeypatch.setattr(bench, "step_loop_floor_ms", lambda name, repeats: 1.0)
    monkeypatch.setattr(bench, "update_floor_ms", lambda name, repeats: 1.0)
    assert bench.main(["--compare", "--workload", "seed", "--repeats", "3"]) == 0
    assert order[:5] == ["minikeras", "minikeras-hard", "pytorch", "keras3-jax", "floor"]
    assert order[5:9] == ["minikeras-hard", "pytorch", "floor", "minikeras"]  # round 2 starts one later
    out = capsys.readouterr().out
    assert "mk/best peer within each round: train 2.00-2.75, predict1024 2.00-2.75, predict1 2.00-2.75" in out


def test_the_update_floor_is_the_adam_step_minikeras_takes():
    """The optimizer's part of the train-step floor does the real work: `adam_passes` from a given state gives the
    weights and slots minikeras's Adam gives (tf_keras's arithmetic, parity-tested against tf_keras elsewhere)."""
    import numpy as np
    from minikeras import optimizers
    from minikeras.autograd import Variable

    rng = np.random.default_rng(0)
    w0, g = rng.standard_normal(1000).astype("float32"), rng.standard_normal((3, 1000)).astype("float32")
    var, opt = Variable(w0), optimizers.Adam()
    w, m, v, a, b = w0.copy(), np.zeros(1000, "float32"), np.zeros(1000, "float32"), np.empty(1000, "float32"), \
        np.empty(1000, "float32")
    opt.build([var])
    for k in range(3):
        c = opt._coefficients(np.dtype("float32"))  # the scalars of the step about to be taken
        opt.apply_gradients([(g[k], var)])
        bench.adam_passes(g[k], w, m, v, a, b, c)
    np.testing.assert_array_equal(w, var.data)
    np.testing.assert_array_equal(m, opt.get_weights()[1])
    np.testing.assert_array_equal(v, opt.get_weights()[2])
    assert bench.update_floor_ms("seed", 1) > 0
