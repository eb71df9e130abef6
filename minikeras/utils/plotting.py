"""PNG pictures of an LSTM's gates and of a training history (matplotlib, Agg backend, no display needed).

matplotlib is optional: `pip install matplotlib`, or the `plot` extra from a clone: `pip install -e '.[plot]'`.
It is imported only when a plot is drawn.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

__all__ = ["plot_gates", "plot_history"]

_GATE_ORDER = ("input_gate", "forget_gate", "output_gate", "candidate", "cell", "hidden")
_TITLES = {"input_gate": "input gate I_t", "forget_gate": "forget gate F_t", "output_gate": "output gate O_t",
           "candidate": "candidate C~_t", "cell": "cell C_t", "hidden": "hidden H_t"}


def _pyplot() -> Any:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("Plotting needs matplotlib, which is not installed: `pip install matplotlib`, or the "
                          "`plot` extra from the minikeras clone: `pip install -e '.[plot]'`.") from error
    return plt


def plot_gates(gates: Dict[str, np.ndarray], path: str, sample: int = 0) -> str:
    """Heatmaps (units x timesteps) of one sample's gates and states, written to a PNG file.

    Args:
        gates: the dict returned by `minikeras.inspect.lstm_gates` (arrays (samples, timesteps, units)).
        path: the PNG file to write.
        sample: which sample (row of the arrays) to draw.

    Returns:
        `path`.

    Raises:
        ImportError: matplotlib is not installed (`pip install matplotlib`).
        ValueError: `gates` is not `lstm_gates`'s output, or `sample` is out of range.

    >>> import numpy as np
    >>> from minikeras.layers import LSTM
    >>> from minikeras.inspect import lstm_gates
    >>> gates = lstm_gates(LSTM(4), np.ones((2, 5, 3), dtype="float32"))
    >>> plot_gates(gates, "gates.png")  # doctest: +SKIP
    'gates.png'
    """
    names = [n for n in _GATE_ORDER if n in gates]
    if not names or any(np.ndim(gates[n]) != 3 for n in names):
        raise ValueError("`plot_gates` expects the dict returned by `minikeras.inspect.lstm_gates` (arrays of shape "
                         f"(samples, timesteps, units)). Received keys: {sorted(gates)}")
    samples = np.shape(gates[names[0]])[0]
    if not -samples <= sample < samples:
        raise ValueError(f"`sample={sample}` is out of range: the gates hold {samples} samples.")
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), squeeze=False)
    for ax, name in zip(axes.flat, names):
        values = np.asarray(gates[name])[sample].T  # (units, timesteps)
        if name in ("input_gate", "forget_gate", "output_gate"):
            image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            bound = float(np.max(np.abs(values))) or 1.0
            image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
        ax.set_title(_TITLES[name])
        ax.set_xlabel("timestep")
        ax.set_ylabel("unit")
        fig.colorbar(image, ax=ax)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"LSTM gates, sample {sample}")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def plot_history(history: Any, path: str) -> str:
    """Learning curves (loss and each metric, with their `val_` counterparts) written to a PNG file.

    Args:
        history: the `History` returned by `model.fit`, or its `.history` dict (name -> list of per-epoch values).
        path: the PNG file to write.

    Returns:
        `path`.

    Raises:
        ImportError: matplotlib is not installed (`pip install matplotlib`).
        ValueError: the history is empty.

    >>> plot_history({"loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6]}, "history.png")  # doctest: +SKIP
    'history.png'
    """
    logs: Dict[str, Sequence[float]] = dict(getattr(history, "history", history) or {})
    if not logs or not any(len(v) for v in logs.values()):
        raise ValueError("`plot_history` needs a non-empty history: the `History` returned by `model.fit` or "
                         "its `.history` dict.")
    bases = [k for k in logs if not k.startswith("val_")]
    bases += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(bases), figsize=(5 * len(bases), 4), squeeze=False)
    for ax, name in zip(axes[0], bases):
        for key, style in ((name, "-o"), ("val_" + name, "--o")):
            if key in logs:
                values = list(logs[key])
                ax.plot(range(1, len(values) + 1), values, style, label=key, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path
