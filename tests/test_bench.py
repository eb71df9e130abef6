"""`python -m minikeras.bench` keeps working: its options, its output, its helper processes. Speed itself is not
asserted here (docs/performance.md has the numbers and the commands)."""
import json
import os
import subprocess
import sys

import pytest

from minikeras import bench


def test_minikeras_alone_prints_every_metric_and_every_floor(capsys):
    assert bench.main(["--workload", "seed", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "workload seed" in out and "workload sent" not in out
    for row in ("train_ms", "predict1024_ms", "predict1_ms", "numpy train-step floor: products"):
        assert row in out
    header = next(line for line in out.splitlines() if line.strip().startswith("metric"))
    assert header.split() == ["metric", "minikeras", "minikeras-hard", "floor", "loop", "floor", "mk/floor",
                              "mk/loop", "floor", "hard/sigmoid"]


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
                         ("pytorch", "run_torch"), ("keras3-jax", "run_keras3"), ("floor", "floor_ms"),
                         ("loop floor", "loop_floor_ms")):
        monkeypatch.setattr(bench, attr, fake(system))
    monkeypatch.setattr(bench, "_SETTLE_S", 0)
    monkeypatch.setattr(bench, "sgemm_gflops", lambda: 1.0)
    monkeypatch.setattr(bench, "update_floor_ms", lambda name, repeats: 1.0)
    assert bench.main(["--compare", "--workload", "seed", "--repeats", "3"]) == 0
    assert order[:6] == ["minikeras", "minikeras-hard", "pytorch", "keras3-jax", "floor", "loop floor"]
    # round 2 starts one later (keras3-jax is not installed: skipped from then on)
    assert order[6:11] == ["minikeras-hard", "pytorch", "floor", "loop floor", "minikeras"]
    out = capsys.readouterr().out
    assert "mk/best peer within each round: train 2.00-2.75, predict1024 2.00-2.75, predict1 2.00-2.75" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("train_ms")).split()
    assert row == ["train_ms", "11.00", "1.00", "5.00", "1.00", "1.00", "2.20", "11.00", "11.00", "0.09"]


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


@pytest.mark.parametrize("name", ["seed", "sent"])
def test_the_loop_floor_computes_what_minikeras_computes(name):
    """`LeanLoop`, the yardstick of the numpy loop floor, is the workload itself, not a stand-in: from a minikeras
    model's weights it predicts what the model predicts and, after Adam steps (one and two chunks of the batch),
    holds the weights the model holds."""
    import numpy as np
    from minikeras import backend

    backend.set_random_seed(1)
    model = bench.minikeras_model(name)
    lean = bench.LeanLoop(name, model.get_weights())
    rng = np.random.default_rng(0)
    x = bench._data(name, 300, rng)["x"]
    np.testing.assert_allclose(lean.predict(x, 256, chunks=2), model.predict(x, batch_size=256, verbose=0),
                               rtol=0, atol=2e-6)
    d = bench._data(name, 64, rng)
    for step in range(3):
        model.train_on_batch(d["x"], d["y"])
        lean.train_step(d["x"], d["y"], chunks=1 + step % 2)
    mine = ([lean.emb] if lean.emb is not None else []) + \
        [w for f, u, block, _ in lean.layers for w in (block[:f], block[f:f + u], block[f + u])] + list(lean.dense)
    theirs = model.get_weights()
    assert [w.shape for w in mine] == [w.shape for w in theirs]
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert bench.loop_floor_ms(name, 1)["train_ms"] > 0
