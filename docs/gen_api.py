"""Generate docs/api.md, the API reference, from the public modules' docstrings.

    python docs/gen_api.py        (tests/test_docs.py fails when docs/api.md is out of date)
"""
import importlib
import inspect
import pathlib

MODULES = [
    ("minikeras.models", "Models"), ("minikeras.layers.recurrent", "Recurrent layers"),
    ("minikeras.layers.wrappers", "Wrappers"), ("minikeras.layers.core", "Core layers"),
    ("minikeras.layers.embeddings", "Embedding"), ("minikeras.layers.merge", "Merge layers"),
    ("minikeras.engine.functional", "Functional API"), ("minikeras.engine.sequential", "Sequential"),
    ("minikeras.engine.training", "Training API (Model)"),
    ("minikeras.engine.base_layer", "Layer base class"), ("minikeras.engine.input_layer", "Inputs"),
    ("minikeras.optimizers", "Optimizers"), ("minikeras.losses", "Losses"), ("minikeras.metrics", "Metrics"),
    ("minikeras.callbacks", "Callbacks"), ("minikeras.activations", "Activations"),
    ("minikeras.initializers", "Initializers"), ("minikeras.regularizers", "Regularizers"),
    ("minikeras.constraints", "Constraints"), ("minikeras.preprocessing.text", "Text preprocessing"),
    ("minikeras.preprocessing.sequence", "Sequence preprocessing"), ("minikeras.utils.np_utils", "Array utilities"),
    ("minikeras.inspect", "Gate inspector"), ("minikeras.saving", "Saving and loading"),
    ("minikeras.saving.convert", "Weight conversions (Keras 1, CuDNN, PyTorch)"),
    ("minikeras.autograd.tensor", "Autograd: Tensor"), ("minikeras.autograd.gradcheck", "Autograd: gradient checks"),
    ("minikeras.backend", "Backend"),
    ("minikeras.layers.convolutional", "Convolution layers"), ("minikeras.layers.pooling", "Pooling layers"),
    ("minikeras.datasets.imdb", "Datasets: IMDB"), ("minikeras.datasets.reuters", "Datasets: Reuters"),
    ("minikeras.datasets.mnist", "Datasets: MNIST"), ("minikeras.utils.data_utils", "Data utilities"),
    ("minikeras.streaming", "Streaming (one timestep at a time)"),
    ("minikeras.optimizers.schedules", "Learning-rate schedules"),
    ("minikeras.optimizers.legacy", "Legacy optimizers (Keras 2.0-2.10 update rules)"),
    ("minikeras.utils.plotting", "Plotting (the plot extra)"), ("minikeras.utils.progbar", "Progress bar"),
    ("minikeras.autograd.ops", "Autograd: ops"), ("minikeras.autograd.function", "Autograd: writing an op"),
    ("minikeras.autograd.threads", "Threads: how minikeras uses the cores"),
]

# Modules left out of the reference, and why. tests/test_docs.py fails when a module is in neither list, so a new
# module is placed on purpose.
INTERNAL = {
    "minikeras.autograd.allocator": "sets glibc's malloc thresholds once at import; docs/performance.md says why "
                                    "and how to turn it off",
    "minikeras.autograd.rnn": "the fused recurrent kernels, reached through the recurrent layers",
    "minikeras.engine.topology": "Keras 2.0-2.2's module path, kept for `from keras.engine.topology import Layer`; "
                                 "its classes are documented under the Layer base class and Inputs",
    "minikeras.bench": "a command, `python -m minikeras.bench`, described in docs/performance.md",
    "minikeras.check": "a command, `python -m minikeras.check FILE`, described in docs/file-formats.md",
    "minikeras.engine.compile_utils": "the compiled loss and metric containers behind `Model.compile`",
    "minikeras.engine.data_adapter": "the array plumbing behind `Model.fit`",
    "minikeras.engine.keras_tensor": "the symbolic tensors that `Input` and layer calls on them return",
    "minikeras.engine.node": "the graph nodes that record each call of a layer on symbolic tensors",
    "minikeras.saving.h5file": "the one way minikeras opens HDF5 files (checked before h5py reads them)",
    "minikeras.legacy.interfaces": "the Keras 1 argument conversions behind the layers' constructors",
    "minikeras.optimizers.adadelta": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.adagrad": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.adam": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.adamax": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.adamw": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.nadam": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.optimizer": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.rmsprop": "re-exported by minikeras.optimizers",
    "minikeras.optimizers.sgd": "re-exported by minikeras.optimizers",
    "minikeras.saving.atomic": "the atomic-write helper of the savers",
    "minikeras.saving.errors": "re-exported by minikeras.saving",
    "minikeras.saving.functional": "reached through load_model and model.save",
    "minikeras.saving.hdf5_legacy": "reached through load_model, model.save and model.save_weights",
    "minikeras.saving.keras3": "reached through load_model, model.save and model.save_weights",
    "minikeras.saving.serialization": "reached through load_model and model_from_json",
    "minikeras.utils.generic_utils": "serialization helpers shared by the modules",
    "minikeras.utils.layer_utils": "the summary's table, reached through model.summary()",
}


def public_members(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if obj is None or inspect.ismodule(obj):
            continue
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", "").startswith(
                module.__name__.rsplit(".", 1)[0] if module.__name__.endswith("__init__") else module.__name__):
            yield name, obj


def signature(obj):
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def render() -> str:
    out = ["# API reference", "", "Generated from the docstrings by `python docs/gen_api.py`; the first paragraph of",
           "each public class and function. Full docstrings (arguments, shapes, examples): `help(obj)`.", ""]
    for modname, title in MODULES:
        module = importlib.import_module(modname)
        out += [f"## {title}", "", f"`{modname}`", ""]
        for name, obj in sorted(public_members(module), key=lambda kv: kv[0].lower()):
            doc = inspect.getdoc(obj) or ""
            first = doc.split("\n\n")[0].replace("\n", " ").strip()
            sig = signature(obj).replace("|", "\\|")
            if len(sig) > 160:
                sig = sig[:157] + "...)"
            out += [f"- **`{name}`**`{sig}`: {first}" if first else f"- **`{name}`**`{sig}`"]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    path = pathlib.Path(__file__).with_name("api.md")
    path.write_text(render())
    print(f"wrote {path}")
