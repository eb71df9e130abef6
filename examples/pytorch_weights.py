"""Move LSTM weights between PyTorch and minikeras (Keras layout), and check both compute the same thing.

What it shows: `minikeras.saving.convert` turns an `nn.LSTM` state dict (as numpy arrays) into Keras's
`[kernel, recurrent_kernel, bias]` (transposed, the two PyTorch biases summed; gate order i, f, g/c, o is the same)
and back. With PyTorch installed, a real `nn.LSTM` and a minikeras `LSTM(recurrent_activation='sigmoid')` are run on
the same input and compared; without it, the round trip is shown on random weights. torch is never required.

Run:  python examples/pytorch_weights.py
"""
import numpy as np

from minikeras import layers
from minikeras.saving import convert


def main() -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 5)).astype("float32")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(5, 4, batch_first=True)
        sd = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
        with torch.no_grad():
            expected = lstm(torch.from_numpy(x))[0].numpy()
        print("PyTorch found: converting a real nn.LSTM")
    else:
        sd = {"weight_ih_l0": rng.standard_normal((16, 5)), "weight_hh_l0": rng.standard_normal((16, 4)),
              "bias_ih_l0": rng.standard_normal(16), "bias_hh_l0": rng.standard_normal(16)}
        sd = {k: (0.3 * v).astype("float32") for k, v in sd.items()}
        expected = None
        print("PyTorch not installed: converting a random state dict (install torch to compare outputs)")
    keras_weights = convert.torch_lstm_to_keras(sd)[0]
    layer = layers.LSTM(4, return_sequences=True, recurrent_activation="sigmoid")  # PyTorch's gates are sigmoid
    layer(x[:1])
    layer.set_weights(keras_weights)
    y = layer(x).numpy()
    back = convert.keras_lstm_to_torch([layer.get_weights()])
    assert np.array_equal(back["weight_ih_l0"], sd["weight_ih_l0"])
    if expected is None:
        print(f"round trip exact; minikeras output shape {y.shape}")
        return 0.0
    diff = float(np.abs(y - expected).max())
    print(f"max |minikeras - PyTorch| = {diff:.2e}")
    return diff


if __name__ == "__main__":
    main()
