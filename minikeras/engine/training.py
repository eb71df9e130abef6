"""`Model`: the training and inference API shared by every model (Keras 2's `keras.engine.training`)."""
from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from minikeras.autograd import Tensor, no_grad
from minikeras.engine.base_layer import Layer


class Model(Layer):
    """Base class of models: a layer made of layers, with predict/compile/fit.

    minikeras implements the `Sequential` model (`minikeras.models.Sequential`); the functional
    `Model(inputs, outputs)` form is not implemented yet.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError("The functional API `Model(inputs, outputs)` is not implemented in minikeras; "
                                      "use `Sequential`. Received: positional or inputs/outputs arguments")
        super().__init__(**kwargs)
        self.optimizer = None
        self.compiled_loss = None
        self.stop_training = False
        self.history = None

    @property
    def layers(self) -> List[Layer]:
        return list(self._layers)

    def reset_states(self) -> None:
        """Reset the state of every stateful layer (Keras 2)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto", steps: Optional[int] = None,
                callbacks: Any = None, **kwargs: Any) -> Any:
        """Outputs for `x`, computed in batches (default 32) with no graph recorded.

        Args:
            x: input array (or a list of arrays).
            batch_size: samples per batch (default 32).
            verbose: accepted for Keras compatibility; minikeras's predict prints nothing.
        """
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to predict: {kwargs}")
        arrays = x if isinstance(x, (list, tuple)) else [x]
        arrays = [np.asarray(a.data if isinstance(a, Tensor) else a) for a in arrays]
        n = len(arrays[0])
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"Expected `batch_size` to be a positive integer. Received: batch_size={batch_size}")
        outs: List[Any] = []
        with no_grad():
            for start in range(0, max(n, 1), batch_size):
                batch = [a[start:start + batch_size] for a in arrays]
                y = self(batch if isinstance(x, (list, tuple)) else batch[0], training=False)
                outs.append([t.data for t in y] if isinstance(y, (list, tuple)) else y.data)
                if n == 0:
                    break
        if outs and isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs) if outs else np.zeros((0,))

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (no batching, no graph)."""
        with no_grad():
            y = self(x, training=False)
        return [t.data for t in y] if isinstance(y, (list, tuple)) else y.data

    def summary(self, line_length: Optional[int] = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the layer table in tf.keras 2's format."""
        from minikeras.utils.layer_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)
