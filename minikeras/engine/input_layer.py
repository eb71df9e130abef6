"""`InputLayer` and `Input` (Keras 2's `keras.engine.input_layer`)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from minikeras import backend
from minikeras.engine.base_layer import Layer, _dtype_name
from minikeras.engine.keras_tensor import KerasTensor
from minikeras.engine.node import Node


class InputLayer(Layer):
    """The entry point of a model: declares the input shape (batch axis included) and dtype.

    Args:
        input_shape: shape without the batch axis, e.g. `(5, 64)`.
        batch_size: optional fixed batch size (needed by stateful recurrent layers).
        dtype: input dtype (default floatx; use `'int32'` for token ids).
        batch_input_shape: Keras 2's full shape including the batch axis (alternative to the two above).
        batch_shape: Keras 3's name for `batch_input_shape`.
        sparse, ragged: accepted for Keras configs; must be False/None (minikeras has dense arrays only).
        name: layer name.

    >>> InputLayer(input_shape=(5, 64)).batch_input_shape
    (None, 5, 64)
    """

    def __init__(self, input_shape: Optional[Sequence[Optional[int]]] = None, batch_size: Optional[int] = None,
                 dtype: Any = None, input_tensor: Any = None, sparse: Optional[bool] = None,
                 name: Optional[str] = None, ragged: Optional[bool] = None, type_spec: Any = None,
                 batch_input_shape: Optional[Sequence[Optional[int]]] = None,
                 batch_shape: Optional[Sequence[Optional[int]]] = None, optional: bool = False, **kwargs: Any):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to InputLayer: {kwargs}")
        if sparse or ragged:
            raise NotImplementedError("Sparse and ragged inputs are not supported by minikeras. "
                                      f"Received: sparse={sparse}, ragged={ragged}")
        if optional:
            raise NotImplementedError("Optional inputs (`optional=True`, an input that may be None) are not supported "
                                      "by minikeras. Received: optional=True")
        if input_tensor is not None or type_spec is not None:
            raise NotImplementedError("`input_tensor` and `type_spec` are TensorFlow graph features that minikeras "
                                      "does not have. Received: input_tensor/type_spec")
        shape = batch_input_shape if batch_input_shape is not None else batch_shape
        if shape is None:
            if input_shape is None:
                raise ValueError("InputLayer expects `input_shape` or `batch_input_shape`. Received: neither")
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            shape = (batch_size,) + tuple(input_shape)
        shape = tuple(None if d is None else int(d) for d in shape)
        for d in shape[1:]:
            if d is not None and d <= 0:
                raise ValueError(f"Input dimensions must be positive integers or None. Received: shape={shape}")
        if name is None:
            name = f"input_{backend.get_uid('input')}"  # tf.keras names inputs input_1, input_2, ...
        super().__init__(name=name, dtype=_dtype_name(dtype), batch_input_shape=shape)
        self.built = True
        self._build_input_shape = shape
        # the input node: no arguments, one output, the symbolic tensor `Input()` returns
        Node(self, outputs=KerasTensor(shape, self.dtype, name=self.name))

    def get_config(self) -> Dict[str, Any]:
        # tf_keras 2.21's keys and order (`optional` is new in 2.21's InputLayer config)
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}


def Input(shape: Optional[Sequence[Optional[int]]] = None, batch_size: Optional[int] = None,  # noqa: N802
          name: Optional[str] = None, dtype: Any = None, sparse: Optional[bool] = None, tensor: Any = None,
          ragged: Optional[bool] = None, type_spec: Any = None, batch_shape: Optional[Tuple] = None,
          **kwargs: Any) -> KerasTensor:
    """Declare a model input: a symbolic `KerasTensor` to call layers on and to pass to `Model(inputs, outputs)`.

    Args:
        shape: shape without the batch axis, e.g. `(None, 64)` for sequences of any length.
        batch_size: optional fixed batch size (stateful recurrent layers need one).
        name: name of the input layer (default `input_1`, `input_2`, ...), also the key of dict data.
        dtype: `'float32'` (default floatx) or e.g. `'int32'` for token ids.
        batch_shape: Keras 3's full shape including the batch axis (alternative to `shape`/`batch_size`).
        sparse, ragged, tensor, type_spec: accepted for Keras signatures; minikeras has dense arrays only.

    >>> x = Input(shape=(5, 64))
    >>> x.shape
    (None, 5, 64)
    """
    batch_input_shape = kwargs.pop("batch_input_shape", None)
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments passed to Input: {kwargs}")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype, sparse=sparse,
                       input_tensor=tensor, ragged=ragged, type_spec=type_spec,
                       batch_input_shape=batch_input_shape if batch_input_shape is not None else batch_shape)
    return layer._inbound_nodes[0].outputs
