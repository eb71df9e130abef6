"""Error messages speak minikeras's terms: a user who passes a TensorFlow-only argument is told what minikeras does
instead, not to call `strategy.scope()` or read about `optimizer_experimental`."""
import ast
import pathlib

import pytest

import minikeras
from minikeras import callbacks, layers, models, optimizers

PACKAGE = pathlib.Path(minikeras.__file__).parent
# Phrases that only make sense inside TensorFlow; a message containing one was copied, not written for minikeras.
FOREIGN = ("TF 2.0", "strategy.scope", "tf.distribute", "optimizer_experimental", "TF-Keras",
           "tf.keras.layers.Layer", "tf.keras.optimizers", "tf.SparseTensor", "tf.train.", "executing eagerly")


def _message_strings():
    """Every string constant inside a `raise ...(...)` or `warnings.warn(...)` call of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            call = None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                call = node.exc
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "warn":
                call = node
            if call is None:
                continue
            for sub in ast.walk(call):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield path.relative_to(PACKAGE.parent), sub.lineno, sub.value


def test_no_message_comes_from_another_library():
    found = [f"{path}:{line}: {text!r}" for path, line, text in _message_strings()
             if any(phrase in text for phrase in FOREIGN)]
    assert not found, "messages in TensorFlow's terms:\n" + "\n".join(found)


def test_the_scan_sees_the_messages():
    texts = [text for _, _, text in _message_strings()]
    assert len(texts) > 200 and any("Received:" in t for t in texts)


def _model():
    return models.Sequential([layers.Dense(1, input_shape=(2,))])


@pytest.mark.parametrize("call, error, says", [
    (lambda: _model().compile("sgd", "mse", distribute="mirrored"), ValueError, "no distribution strategies"),
    (lambda: _model().compile("sgd", "mse", target_tensors=[1]), ValueError, "pass the targets to `fit`"),
    (lambda: layers.Bidirectional("lstm"), ValueError, "`minikeras.layers.Layer` instance"),
    (lambda: layers.Bidirectional(layers.LSTM(2), backward_layer=3), ValueError, "`minikeras.layers.Layer`"),
    (lambda: optimizers.Adam(foo=1), TypeError, "`minikeras.optimizers.Adam`"),
    (lambda: optimizers.Adam(gradient_aggregator=len), ValueError, "minikeras.optimizers.legacy.Adam"),
    (lambda: callbacks.ModelCheckpoint("m.h5", options=1), NotImplementedError, "minikeras's .h5/.keras files"),
])
def test_tensorflow_only_arguments_are_refused_in_our_terms(call, error, says):
    with pytest.raises(error, match="Received: ") as info:
        call()
    assert says in str(info.value)
    assert not any(phrase in str(info.value) for phrase in FOREIGN)
