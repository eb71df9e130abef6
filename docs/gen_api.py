"""Generate docs/api.md, the API reference, from the public modules' docstrings.

    python docs/gen_api.py        (tests/test_docs.py fails when docs/api.md is out of date)
"""
import importlib
import inspect
import pathlib

MODULES = [
    ("minikeras.models", "Models"), ("minikeras.layers.recurrent", "Recurrent layers"),
    ("minikeras.layers.wrappers", "Wrappers"), ("minikeras.layers.core", "Core layers"),
    ("minikeras.layers.embeddings", "Embedding"), ("minikeras.engine.training", "Training API (Model)"),
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
]


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
