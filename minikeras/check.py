"""Check a Keras model or weights file before trusting it.

    python -m minikeras.check FILE [--inputs x.npy] [--compare-keras] [--atol 2e-5]

FILE is a `.keras`, `.h5`/`.hdf5` (full model or weights) or `.weights.h5` file written by Keras 1, 2 or 3 or by
minikeras. The report says:

- the format and the Keras era detected (from the file's `keras_version`), and which program wrote it;
- the layers, with their output shapes and weight counts;
- every decision minikeras took while reading it: which formula `'hard_sigmoid'` means (Keras 2's
  `clip(0.2 x + 0.5)` or Keras 3's `clip(x / 6 + 0.5)`), Keras 1 or CuDNN weight layouts converted, weights stored
  rescaled for the other era's hard_sigmoid, the optimizer restored or not, and every warning the load raised;
- statistics of every weight, with NaN/inf counts;
- one forward pass, on `--inputs` (a `.npy` array) or on seeded random inputs of the model's input shape;
- with `--compare-keras`, when real Keras (`tf_keras` or Keras 3) is importable in the same environment, the
  largest absolute difference between minikeras and Keras for each layer's output on the same inputs.

The exit status is 0 when nothing is wrong, 1 when something is (the file does not load, a weight or an output is
NaN/inf, Keras disagrees by more than `--atol`), 2 for a usage error (e.g. `--compare-keras` without Keras).

>>> # python -m minikeras.check model.h5 --inputs x.npy
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
import zipfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import h5py
import numpy as np

from minikeras import activations, models
from minikeras.saving import SavingError
from minikeras.saving.h5file import open_h5
from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group
from minikeras.saving.keras3 import read_keras_zip
from minikeras.saving.serialization import era_of

RANDOM_SEED = 0


class Report:
    """Collects the report's lines and the problems that make the exit status non-zero."""

    def __init__(self, out: Any = None):
        self.out = out or sys.stdout
        self.problems: List[str] = []

    def line(self, text: str = "") -> None:
        print(text, file=self.out)

    def section(self, title: str) -> None:
        self.line()
        self.line(title)

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.line(f"  PROBLEM: {text}")


def _decode(value: Any) -> Any:
    return value.decode("utf8") if isinstance(value, bytes) else value


# ------------------------------------------------------------------------------------------ format and era


def describe_file(path: str) -> Dict[str, Any]:
    """Format, Keras version and era, writer, and whether the file holds a model, read without building anything."""
    info: Dict[str, Any] = {"path": path}
    if path.endswith(".keras"):
        config, metadata, _ = read_keras_zip(path)
        info.update(format=".keras (Keras 3 zip: config.json, metadata.json, model.weights.h5)", full_model=True,
                    keras_version=metadata.get("keras_version"), writer=metadata.get("minikeras_version"),
                    rescaled=metadata.get("minikeras_hard_sigmoid_rescaled"),
                    compiled=bool(config.get("compile_config")))
    else:
        with open_h5(path) as f:
            attrs = {k: _decode(f.attrs[k]) for k in ("keras_version", "backend", "minikeras_version",
                                                      "minikeras_hard_sigmoid_rescaled") if k in f.attrs}
            full = "model_config" in f.attrs
            k3_weights = "layers" in f and "vars" in f and "layer_names" not in f.attrs
            if k3_weights:
                fmt = ".weights.h5 (Keras 3 weights, by attribute path)"
            elif full:
                fmt = "legacy HDF5 full model (model_config, model_weights" + (
                    ", training_config" if "training_config" in f.attrs else "") + (
                    ", optimizer_weights" if "optimizer_weights" in f else "") + ")"
            else:
                fmt = "legacy HDF5 weights (save_weights: one group per layer)"
            version = attrs.get("keras_version")
            if version is None and "model_weights" in f:
                g = f["model_weights"]
                version = _decode(g.attrs["keras_version"]) if "keras_version" in g.attrs else None
            info.update(format=fmt, full_model=full, keras_version=version, backend=attrs.get("backend"),
                        writer=attrs.get("minikeras_version"), rescaled=attrs.get("minikeras_hard_sigmoid_rescaled"),
                        compiled="training_config" in f.attrs, k3_weights=k3_weights)
            if k3_weights:
                info["keras_version"] = info["keras_version"] or "3"
    version = info.get("keras_version")
    if info.get("k3_weights") or path.endswith(".keras"):
        info["era"] = era_of(version) if version else 3
    else:
        info["era"] = era_of(version) if version is not None else 1
    return info


# ------------------------------------------------------------------------------------------ weights-only files


def _file_weights(path: str) -> List[Tuple[str, List[Tuple[str, np.ndarray]]]]:
    """(layer, [(weight name, array)]) read from a weights-only file (legacy or Keras 3 layout)."""
    out: List[Tuple[str, List[Tuple[str, np.ndarray]]]] = []
    with open_h5(path) as f:
        if "layers" in f and "layer_names" not in f.attrs:
            groups: Dict[str, List[Tuple[str, np.ndarray]]] = {}

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "biuf":
                    owner = name.rsplit("/vars/", 1)[0]
                    groups.setdefault(owner, []).append((name, np.asarray(obj[()])))

            f.visititems(visit)
            return sorted(groups.items())
        root = f["model_weights"] if "model_weights" in f and "layer_names" not in f.attrs else f
        for layer in load_attributes_from_hdf5_group(root, "layer_names"):
            names = load_attributes_from_hdf5_group(root[layer], "weight_names")
            out.append((layer, [(n, np.asarray(root[layer][n][()])) for n in names]))
    return out


def _layout_decisions(layers: Sequence[Tuple[str, List[Tuple[str, np.ndarray]]]], era: int) -> List[str]:
    """What minikeras's loader converts, told from the weights' shapes as `convert.py` tells it."""
    out = []
    for layer, weights in layers:
        shapes = [w.shape for _, w in weights]
        if era == 1 and len(shapes) == 12:
            out.append(f"{layer}: Keras 1 LSTM layout (12 per-gate arrays, gates i, c, f, o) merged into kernel, "
                       "recurrent_kernel, bias (gates i, f, c, o)")
        elif era == 1 and len(shapes) == 9:
            out.append(f"{layer}: Keras 1 GRU layout (9 per-gate arrays) merged into kernel, recurrent_kernel, bias")
        elif len(shapes) == 3 and len(shapes[1]) == 2 and len(shapes[2]) == 1:
            units = shapes[1][0]
            if shapes[2][0] == 8 * units and shapes[1][1] == 4 * units:
                out.append(f"{layer}: CuDNNLSTM layout (bias of 8 x units) converted for LSTM (biases summed, "
                           "kernels transposed per gate)")
            elif shapes[2][0] == 6 * units and shapes[1][1] == 3 * units:
                out.append(f"{layer}: CuDNNGRU layout (bias of 6 x units) converted for GRU(reset_after=True)")
    return out


def _weight_stats(report: Report, named: Sequence[Tuple[str, np.ndarray]]) -> None:
    report.section("Weights (shape, min, max, mean, std, NaN/inf):")
    bad = 0
    for name, w in named:
        w = np.asarray(w)
        if w.dtype.kind not in "biuf" or w.size == 0:
            report.line(f"  {name}: {w.shape} {w.dtype}")
            continue
        finite = np.isfinite(w)
        n_bad = int(w.size - finite.sum())
        vals = w[finite].astype(np.float64) if n_bad else w.astype(np.float64)
        stats = (f"min {vals.min():.4g}, max {vals.max():.4g}, mean {vals.mean():.4g}, std {vals.std():.4g}"
                 if vals.size else "no finite value")
        report.line(f"  {name}: {w.shape} {w.dtype}, {stats}" + (f", {n_bad} NaN/inf" if n_bad else ""))
        bad += n_bad
    if bad:
        report.problem(f"{bad} weight values are NaN or infinite")


# ------------------------------------------------------------------------------------------ full models


def _hard_sigmoid_decisions(model: Any, era: int) -> List[str]:
    out = []
    seen = set()
    stack = list(model.layers)
    while stack:
        obj = stack.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for attr in ("activation", "recurrent_activation"):
            e = activations.era_of(getattr(obj, attr, None))
            if e is not None:
                formula = "clip(0.2 x + 0.5)" if e == 2 else "clip(x / 6 + 0.5)"
                out.append(f"{obj.name}: {attr}='hard_sigmoid' read as Keras {e}'s {formula} (a Keras {era} file)")
        # NOTE: an RNN layer exposes its cell's activations as its own: the cell is reported under the layer
        stack.extend(v for k, v in vars(obj).items() if not k.startswith("_") and k != "cell"
                     and hasattr(v, "weights") and hasattr(v, "name") and v is not obj)
    return out


def _optimizer_decision(info: Dict[str, Any], model: Any) -> str:
    opt = getattr(model, "optimizer", None)
    if not info.get("compiled"):
        return "optimizer: none in the file (the model is returned uncompiled)"
    if opt is None:
        return "optimizer: NOT restored (the file's training config cannot be honoured; see the warning below)"
    iterations = int(np.asarray(getattr(opt, "iterations", 0)))
    state = (f"its state restored ({iterations} step{'s' if iterations != 1 else ''} taken)" if iterations
             else "no saved state (a fresh optimizer)")
    return f"optimizer: {type(opt).__name__} ({opt.get_config().get('name')}), {state}"


def default_inputs(model: Any) -> np.ndarray:
    """Seeded inputs of the model's input shape: batch 2, unknown time steps 5; integers for an Embedding."""
    shape = tuple(2 if i == 0 else (5 if d is None else int(d)) for i, d in enumerate(model.input_shape))
    rng = np.random.default_rng(RANDOM_SEED)
    first = model.layers[0]
    if type(first).__name__ == "Embedding":
        return rng.integers(0, int(first.input_dim), shape)
    return rng.standard_normal(shape).astype("float32")


def layer_outputs(model: Any, x: np.ndarray) -> List[Tuple[str, np.ndarray]]:
    """(layer name, output) for each layer of a Sequential, in order (masks propagate as in `predict`); for other
    models the model's output alone."""
    if not isinstance(model, models.Sequential):
        return [(model.name, _first(model.predict(x, verbose=0)))]
    out = []
    h: Any = x
    for layer in model.layers:
        h = layer(h)
        out.append((layer.name, _first(h)))
    return out


def _first(value: Any) -> np.ndarray:
    if isinstance(value, (list, tuple)):
        value = value[0]
    return np.asarray(getattr(value, "data", value))


# ------------------------------------------------------------------------------------------ real Keras


def _import_keras(era: int) -> Any:
    """tf_keras for Keras 1/2 files when importable, else Keras 3; None when neither is."""
    if era < 3:
        try:
            import tf_keras

            return tf_keras
        except ImportError:
            pass
    try:
        import keras
    except ImportError:
        return None
    return keras if keras.__version__.split(".")[0] == "3" or era < 3 else None


def keras_layer_outputs(keras: Any, path: str, x: np.ndarray) -> List[Tuple[str, np.ndarray]]:
    kmodel = keras.models.load_model(path, compile=False)
    outputs = [layer.output for layer in kmodel.layers]
    probe = keras.Model(inputs=kmodel.inputs, outputs=[o[0] if isinstance(o, (list, tuple)) else o
                                                       for o in outputs])
    values = probe.predict(x, verbose=0)
    values = values if isinstance(values, list) else [values]
    return [(layer.name, np.asarray(v)) for layer, v in zip(kmodel.layers, values)]


# ------------------------------------------------------------------------------------------ main


def check(path: str, inputs: Optional[str] = None, compare_keras: bool = False, atol: float = 2e-5,
          out: Any = None) -> int:
    """Print the report for `path`; return the exit status (0 fine, 1 problems, 2 usage error)."""
    report = Report(out)
    report.line(f"File: {path}")
    try:
        info = describe_file(path)
    except (SavingError, OSError, ValueError, KeyError) as e:
        report.problem(f"cannot read the file: {e}")
        return 1
    report.line(f"Format: {info['format']}")
    writer = f"minikeras {info['writer']}" if info.get("writer") else "Keras"
    report.line(f"Keras era: {info['era']} (keras_version {info.get('keras_version') or 'absent: Keras 1'}"
                + (f", backend {info['backend']}" if info.get("backend") else "") + f"); written by {writer}")
    if not info["full_model"]:
        return _check_weights_only(report, path, info, inputs, compare_keras)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = models.load_model(path)
        except (SavingError, OSError, ValueError, TypeError, NotImplementedError) as e:
            report.problem(f"the model does not load: {type(e).__name__}: {e}")
            return 1
    if inputs is not None:
        x = np.load(inputs, allow_pickle=False)
        source = f"{inputs} {x.shape} {x.dtype}"
    else:
        x = default_inputs(model)
        source = f"seeded random inputs (numpy default_rng({RANDOM_SEED})) {x.shape} {x.dtype}"
    try:
        outputs = layer_outputs(model, x)
    except (ValueError, TypeError) as e:
        report.problem(f"the forward pass fails: {type(e).__name__}: {e}")
        return 1
    report.section("Layers (name, class, output shape, weights):")
    by_name = dict(outputs)
    for layer in model.layers:
        shape = by_name.get(layer.name)
        shape_text = str((None,) + tuple(shape.shape[1:])) if shape is not None else "-"
        report.line(f"  {layer.name} ({type(layer).__name__}): output {shape_text}, "
                    f"{int(sum(w.size for w in layer.weights))} parameters in {len(layer.weights)} weights")
    report.section("Decisions:")
    decisions = _hard_sigmoid_decisions(model, info["era"])
    if info.get("rescaled"):
        decisions.append(f"stored weights were rescaled by minikeras for the other era's hard_sigmoid: "
                         f"{info['rescaled']}")
    decisions.append(_optimizer_decision(info, model))
    decisions.extend(f"warning: {w.message}" for w in caught)
    for d in decisions:
        report.line(f"  - {d}")
    _weight_stats(report, [(w.path if hasattr(w, "path") else w.name, w.data) for w in model.weights])
    report.section(f"Forward pass on {source}:")
    y = outputs[-1][1]
    n_bad = int(np.size(y) - np.isfinite(y).sum())
    report.line(f"  output {y.shape}, min {np.nanmin(y):.4g}, max {np.nanmax(y):.4g}"
                + (f", {n_bad} NaN/inf" if n_bad else ""))
    if n_bad:
        report.problem(f"the output holds {n_bad} NaN/inf values")
    if compare_keras:
        status = _compare(report, path, info, x, outputs, atol)
        if status:
            return status
    return _verdict(report)


def _check_weights_only(report: Report, path: str, info: Dict[str, Any], inputs: Optional[str],
                        compare_keras: bool) -> int:
    try:
        layers = _file_weights(path)
    except (SavingError, OSError, ValueError, KeyError) as e:
        report.problem(f"cannot read the weights: {e}")
        return 1
    report.section("Layers in the file (name: weight shapes):")
    for layer, weights in layers:
        report.line(f"  {layer}: {[tuple(w.shape) for _, w in weights]}")
    report.section("Decisions:")
    for d in _layout_decisions(layers, info["era"]) or ["no layout conversion (weights load as stored)"]:
        report.line(f"  - {d}")
    _weight_stats(report, [(n, w) for _, weights in layers for n, w in weights])
    report.section("Forward pass:")
    report.line("  none: a weights-only file holds no model (build it in code, then `model.load_weights(path)`)")
    if inputs is not None or compare_keras:
        report.line("  (--inputs and --compare-keras need a full-model file)")
    return _verdict(report)


def _compare(report: Report, path: str, info: Dict[str, Any], x: np.ndarray,
             outputs: List[Tuple[str, np.ndarray]], atol: float) -> int:
    keras = _import_keras(info["era"])
    report.section("Compared with real Keras (max abs difference per layer output):")
    if keras is None:
        report.line("  real Keras is not importable in this environment (install tf_keras or keras 3)")
        return 2
    try:
        theirs = dict(keras_layer_outputs(keras, path, x))
    except Exception as e:  # noqa: BLE001 -- whatever real Keras raises is reported, not judged
        report.problem(f"Keras {keras.__version__} cannot load or run the file: {type(e).__name__}: {e}")
        return 0
    report.line(f"  Keras {keras.__version__}")
    for name, mine in outputs:
        other = theirs.get(name)
        if other is None or other.shape != mine.shape:
            report.line(f"  {name}: not comparable (Keras output {None if other is None else other.shape})")
            continue
        diff = float(np.max(np.abs(mine.astype(np.float64) - other.astype(np.float64)))) if mine.size else 0.0
        report.line(f"  {name}: {diff:.3g}")
        if not diff <= atol:
            report.problem(f"layer {name!r} differs from Keras by {diff:.3g} (more than {atol})")
    return 0


def _verdict(report: Report) -> int:
    report.section("Result: " + ("OK" if not report.problems else f"{len(report.problems)} problem(s)"))
    for p in report.problems:
        report.line(f"  - {p}")
    return 1 if report.problems else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minikeras.check",
                                description="Check a Keras model or weights file before trusting it.")
    p.add_argument("file", help=".keras, .h5/.hdf5 or .weights.h5 file")
    p.add_argument("--inputs", default=None, help="a .npy array to run the forward pass on")
    p.add_argument("--compare-keras", action="store_true",
                   help="compare each layer's output with real Keras (tf_keras or keras 3) in this environment")
    p.add_argument("--atol", type=float, default=2e-5, help="largest accepted difference from Keras (default 2e-5)")
    args = p.parse_args(argv)
    if not os.path.exists(args.file):
        print(f"No such file: {args.file}", file=sys.stderr)
        return 2
    if args.inputs is not None and not os.path.exists(args.inputs):
        print(f"No such file: {args.inputs}", file=sys.stderr)
        return 2
    return check(args.file, inputs=args.inputs, compare_keras=args.compare_keras, atol=args.atol)


if __name__ == "__main__":
    sys.exit(main())
