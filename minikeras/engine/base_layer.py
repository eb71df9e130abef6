"""`Layer`, the base class of every minikeras layer, and `InputSpec` (Keras 2's `keras.engine.base_layer`)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend, constraints, initializers, regularizers
from minikeras.autograd import Tensor, Variable, no_grad, ops
from minikeras.autograd.threads import compute_scope
from minikeras.engine.keras_tensor import KerasTensor, flatten, is_shape, map_structure
from minikeras.engine.node import Node
from minikeras.utils.generic_utils import to_snake_case

Shape = Tuple[Optional[int], ...]

# Keyword arguments every layer accepts (tf.keras's `allowed_kwargs`, plus Keras 3's `input_shape` spelling).
_BASE_KWARGS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights", "activity_regularizer",
                "autocast", "dynamic"}


def _dtype_name(dtype: Any) -> str:
    """Accept a dtype name, a numpy dtype, or a Keras 3 `DTypePolicy` / tf.keras `Policy` config dict."""
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, dict):
        config = dtype.get("config", {})
        name = config.get("name") if isinstance(config, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"Invalid dtype policy config, expected {{'config': {{'name': ...}}}}. Received: "
                             f"dtype={dtype!r}")
        dtype = name
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        raise NotImplementedError("Mixed-precision policies are not supported by minikeras (numpy computes in one "
                                  f"dtype). Received: dtype={dtype!r}")
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise ValueError(f"Invalid dtype, expected a float dtype name such as 'float32'. Received: dtype={dtype!r}") \
            from None
    return name


class InputSpec:
    """Specifies the rank, dtype and shape of every input to a layer (Keras's `InputSpec`).

    Args:
        dtype: expected dtype name, or None.
        shape: expected shape tuple (None entries are free), or None.
        ndim, max_ndim, min_ndim: expected rank constraints.
        axes: dict mapping axis index to its expected size.
    """

    def __init__(self, dtype: Optional[str] = None, shape: Optional[Shape] = None, ndim: Optional[int] = None,
                 max_ndim: Optional[int] = None, min_ndim: Optional[int] = None,
                 axes: Optional[Dict[int, Optional[int]]] = None, allow_last_axis_squeeze: bool = False,
                 name: Optional[str] = None):
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = dict(axes or {})
        self.name = name

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                         ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                         ("axes", self.axes or None)) if v is not None]
        return f"InputSpec({', '.join(parts)})"


def _incompatible(index: int, layer_name: str) -> str:
    return f"Input {index} of layer '{layer_name}' is incompatible with the layer: "


def assert_input_compatibility(specs: Any, inputs: Sequence[Tensor], layer_name: str) -> None:
    """Raise Keras's "Input 0 of layer 'x' is incompatible with the layer: ..." when an input breaks a spec."""
    if specs is None:
        return
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
    for index, (spec, x) in enumerate(zip(specs, inputs)):
        if spec is None:
            continue
        shape = tuple(x.shape)
        ndim = len(shape)
        if spec.ndim is not None and ndim != spec.ndim:
            raise ValueError(_incompatible(index, layer_name) + f"expected ndim={spec.ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise ValueError(_incompatible(index, layer_name) + f"expected max_ndim={spec.max_ndim}, "
                             f"found ndim={ndim}. Full shape received: {shape}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise ValueError(_incompatible(index, layer_name) + f"expected min_ndim={spec.min_ndim}, "
                             f"found ndim={ndim}. Full shape received: {shape}")
        for axis, value in spec.axes.items():
            if value is not None and shape[axis] is not None and shape[axis] != value:
                raise ValueError(_incompatible(index, layer_name) + f"expected axis {axis} of input shape to "
                                 f"have value {value}, but received input with shape {shape}")
        if spec.shape is not None:
            for expected, got in zip(spec.shape, shape):
                if expected is not None and got is not None and expected != got:
                    raise ValueError(_incompatible(index, layer_name) + f"expected shape={spec.shape}, "
                                     f"found shape={shape}")


def _same_maths(layer: "Layer", cls: type) -> bool:
    """True when `layer` computes with `cls`'s `call` and `compute_mask` (a subclass has not replaced either)."""
    kind = type(layer)
    return kind.call is cls.call and kind.compute_mask is cls.compute_mask


def _plain_for_one_tensor(call: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a layer class's `__call__` that, for one Tensor and `training=False`, only calls `Layer.__call__`: the
    layer may then run through `Layer._call_for_inference` (a subclass overriding `__call__` again is not marked)."""
    call._plain_for_one_tensor = True  # type: ignore[attr-defined]
    return call


class LayerWeight(Variable):
    """A layer's weight: a `Variable` that also knows its path `"<layer name>/<weight name>"` (used in messages and
    file names). `Variable` has `__slots__`, so the extra attribute needs this subclass."""

    __slots__ = ("path",)


class Layer:
    """Base class of all layers: weights, config, masks and the call protocol.

    Subclasses create weights in `build(input_shape)` with `add_weight`, compute in `call(inputs, ...)`, and return
    their constructor arguments from `get_config()`.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: string name; auto-generated as tf.keras does (`dense`, `dense_1`, ...) when None.
        dtype: compute and weight dtype (default `backend.floatx()`); a Keras 3 `DTypePolicy` dict is accepted.
        input_shape / batch_input_shape / batch_size / input_dim: Keras 2's ways to declare the input of the first
            layer of a `Sequential` model.
        weights: optional list of arrays to set right after the layer is built (Keras 2).
        activity_regularizer: optional regularizer applied to the layer's output.

    >>> class Scale(Layer):
    ...     def build(self, input_shape):
    ...         self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")
    ...     def call(self, inputs):
    ...         return inputs * self.w
    >>> Scale()(np.ones((2, 3))).shape
    (2, 3)
    """

    _call_accepts_mask: bool = False
    _call_accepts_training: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.call).parameters
        varkw = any(p.kind == p.VAR_KEYWORD for p in params.values())
        cls._call_accepts_mask = "mask" in params or varkw
        cls._call_accepts_training = "training" in params or varkw

    def __init__(self, trainable: bool = True, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        unknown = {k: v for k, v in kwargs.items() if k not in _BASE_KWARGS}
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {unknown}")
        object.__setattr__(self, "_layers", [])
        self._trainable = bool(trainable)
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"Expected `name` to be a non-empty string. Received: name={name!r}")
        self.name = name if name is not None else self._default_name()
        self._dtype = _dtype_name(dtype)
        self.built = False
        self.supports_masking = getattr(self, "supports_masking", False)
        self.input_spec: Any = None
        self._trainable_weights: List[Variable] = []
        self._non_trainable_weights: List[Variable] = []
        self._callable_losses: List[Callable[[], Tensor]] = []
        self._activity_losses: List[Tensor] = []
        self._build_input_shape: Any = None
        self.stateful = getattr(self, "stateful", False)
        # the functional graph: one Node per call on symbolic tensors (engine/node.py)
        self._inbound_nodes: List[Any] = []
        self._outbound_nodes: List[Any] = []

        # NOTE: tf.keras's precedence: batch_input_shape, else input_shape, else input_dim (None means absent).
        batch_input_shape = kwargs.get("batch_input_shape")
        if batch_input_shape is None:
            input_shape = kwargs.get("input_shape")
            if input_shape is None and kwargs.get("input_dim") is not None:
                input_shape = (kwargs["input_dim"],)
            if input_shape is not None:
                if isinstance(input_shape, (int, np.integer)):
                    input_shape = (input_shape,)
                batch_input_shape = (kwargs.get("batch_size"),) + tuple(input_shape)
        self._batch_input_shape: Optional[Shape] = (
            tuple(None if d is None else int(d) for d in batch_input_shape) if batch_input_shape is not None else None)
        self._initial_weights = kwargs.get("weights")
        self.activity_regularizer = None
        if kwargs.get("activity_regularizer") is not None:
            self.activity_regularizer = regularizers.get(kwargs["activity_regularizer"])

    def _default_name(self) -> str:
        base = to_snake_case(type(self).__name__)
        uid = backend.get_uid(base)
        return base if uid == 1 else f"{base}_{uid - 1}"

    # ------------------------------------------------------------------ attribute tracking
    def __setattr__(self, name: str, value: Any) -> None:
        # NOTE: public attributes only: containers (Sequential) manage their private `_layers` list themselves.
        if isinstance(value, Layer) and not name.startswith("_"):
            layers = self.__dict__.get("_layers")
            if layers is not None and all(value is not l for l in layers):
                layers.append(value)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ properties
    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def trainable_weights(self) -> List[Variable]:
        if not self.trainable:
            return []
        out = list(self._trainable_weights)
        for layer in self._layers:
            out.extend(layer.trainable_weights)
        return _unique(out)

    @property
    def non_trainable_weights(self) -> List[Variable]:
        if self.trainable:
            out = list(self._non_trainable_weights)
            for layer in self._layers:
                out.extend(layer.non_trainable_weights)
        else:
            out = list(self._trainable_weights) + list(self._non_trainable_weights)
            for layer in self._layers:
                out.extend(layer.weights)
        return _unique(out)

    @property
    def weights(self) -> List[Variable]:
        """All weights: trainable first, then non-trainable (Keras's order, used by files)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def variables(self) -> List[Variable]:
        return self.weights

    @property
    def losses(self) -> List[Tensor]:
        """Regularization penalties of the current weights plus activity penalties of the last call."""
        out = [fn() for fn in self._callable_losses] + list(self._activity_losses)
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    @property
    def batch_input_shape(self) -> Optional[Shape]:
        return self._batch_input_shape

    # ------------------------------------------------------------------ weights
    def add_weight(self, name: Optional[str] = None, shape: Sequence[int] = (), dtype: Any = None,
                   initializer: Any = None, regularizer: Any = None, trainable: bool = True,
                   constraint: Any = None, **kwargs: Any) -> Variable:
        """Create a weight, initialised now, tracked in creation order (which is file order)."""
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to add_weight: {kwargs}")
        dtype = _dtype_name(dtype or self._dtype)
        shape = tuple(int(s) for s in shape)
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        try:
            value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        except MemoryError:
            nbytes = int(np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize)
            raise ValueError(f"Cannot allocate weight '{self.name}/{name}' of layer '{self.name}': expected a shape "
                             f"that fits in memory. Received: shape={shape} ({nbytes} bytes)") from None
        var = LayerWeight(value, trainable=trainable, name=name, constraint=constraints.get(constraint))
        var.path = f"{self.name}/{name}"
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._callable_losses.append(lambda reg=reg, var=var: reg(var))
        return var

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weight values, in `weights` order."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set every weight from a list of arrays; nothing is changed unless all counts and shapes match."""
        params = self.weights
        weights = list(weights)
        if len(params) != len(weights):
            raise ValueError(f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                             f"{len(weights)}, but the layer was expecting {len(params)} weights.")
        arrays = []
        for p, w in zip(params, weights):
            arr = np.asarray(w.data if isinstance(w, Tensor) else w)
            if arr.shape != p.shape:
                raise ValueError(f"Layer {self.name} weight shape {p.shape} is not compatible with provided weight "
                                 f"shape {arr.shape}.")
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"Layer {self.name} weights must be numeric arrays. Received: dtype={arr.dtype}")
            arrays.append(arr)
        for p, arr in zip(params, arrays):
            p.assign(arr)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                             "You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(w.size for w in self.weights))

    # ------------------------------------------------------------------ call protocol
    def build(self, input_shape: Any) -> None:
        """Create the layer's weights. The base version only records the shape."""
        self._build_input_shape = input_shape
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """`{"input_shape": ...}`, the shape the layer was built with (tf_keras 2.13+ and Keras 3), or None."""
        shape = getattr(self, "_build_input_shape", None)
        return {"input_shape": shape} if self.built and shape is not None else None

    def _maybe_build(self, input_shape: Any) -> None:
        if not self.built:
            self.build(input_shape)
            self._build_input_shape = input_shape
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def _convert_input(self, x: Any) -> Any:
        if isinstance(x, Tensor):
            if x.dtype.kind == "f" and x.dtype != self._dtype:
                return ops.cast(x, self._dtype)
            return x
        if isinstance(x, (list, tuple)):
            return type(x)(self._convert_input(v) for v in x)
        if x is None:
            return None
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(f"Layer '{self.name}' expects numeric input, expected a numeric array. Received: an "
                            "array of dtype object (ragged or non-numeric data)")
        if arr.dtype.kind == "f":
            arr = arr.astype(self._dtype, copy=False)  # Keras's autocast of float inputs to the layer dtype
        return Tensor._wrap(arr, False)

    @_plain_for_one_tensor
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        # NOTE: the common eager call (one array or Tensor, no extra positional arguments) is told from a symbolic
        # one by one type test; only other calls walk their arguments looking for KerasTensors.
        if (args or type(inputs) not in _PLAIN_EAGER or _kwargs_nested(kwargs)) and _any_symbolic(inputs, args,
                                                                                                    kwargs):
            return self._symbolic_call(inputs, args, kwargs)
        inputs = self._convert_input(inputs)
        single = not isinstance(inputs, (list, tuple))
        # The Keras mask: given explicitly, else carried by the inputs. A layer whose call takes no mask still
        # passes it on through compute_mask (below).
        mask = kwargs.pop("mask", None)
        if single:
            flat = None
            tensors = [inputs] if isinstance(inputs, Tensor) else []
            if mask is None and tensors:
                mask = getattr(inputs, "_keras_mask", None)
        else:
            flat = list(inputs)
            tensors = [t for t in flat if isinstance(t, Tensor)]
            if mask is None:
                masks = [getattr(t, "_keras_mask", None) if isinstance(t, Tensor) else None for t in flat]
                if any(m is not None for m in masks):
                    mask = masks
        if self._call_accepts_mask and mask is not None:
            kwargs["mask"] = mask
        if self._call_accepts_training:
            if kwargs.get("training") is None:
                kwargs["training"] = False
        elif kwargs:
            kwargs.pop("training", None)
        if not self.built:
            # NOTE: tf.keras checks the input spec before building, so a wrong rank fails with the spec's message
            assert_input_compatibility(self.input_spec, tensors, self.name)
            shapes = [tuple(t.shape) for t in tensors]
            self._maybe_build(shapes[0] if single else shapes)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, tensors, self.name)
        with compute_scope():  # BLAS at one thread during minikeras's work (autograd/threads.py says why)
            outputs = self.call(inputs, *args, **kwargs)
        if (outputs is inputs) if single else any(outputs is t for t in flat):
            # NOTE: a layer returning its input object (Dropout at inference, a Lambda) must not overwrite the
            # input's Keras mask below: give the output its own Tensor (a reshape to the same shape is a free view).
            outputs = outputs.reshape(outputs.shape)
        if self.activity_regularizer is not None:
            first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
            batch = first.shape[0] if first.ndim else 1
            self._activity_losses = [self.activity_regularizer(first) / float(batch)]
        out_mask = self.compute_mask(inputs, mask)
        if type(outputs) is Tensor:
            outputs._keras_mask = None if out_mask is None else _mask_array(out_mask)
        else:
            _set_mask(outputs, out_mask)
        return outputs

    def _pure_for_inference(self) -> bool:
        """Whether this layer's inference call (`training=False`) changes nothing but its output and returns one
        Tensor with no Keras mask for an input without one: then an inference call through a plain chain of layers
        may run it via `_call_for_inference`. False here; the built-in layers for which it holds say so, through
        `_same_maths`, so that a subclass with its own `call` or `compute_mask` is not taken for pure."""
        return False

    def _call_for_inference(self, x: Tensor) -> Optional[Tensor]:
        """`self(x, training=False)` for one Tensor without a Keras mask, in inference (`no_grad`, inside a compute
        scope the caller holds), without the plumbing of `__call__` that such a call does not use: the symbolic
        check, masks, a compute scope per layer. None when the layer is not built or the output would carry a mask
        (`compute_mask`): the caller then runs the general path, which gives the same numbers and messages.

        Only for layers whose `__call__` is marked `_plain_for_one_tensor` (`Layer`'s and `RNN`'s: one Tensor and
        `training` in, nothing else done) and which are `_pure_for_inference` (the caller checks both before it runs
        anything); `Functional.call` uses it to run a plain chain of layers in inference (`predict`, `no_grad`).
        """
        if not self.built or self.activity_regularizer is not None:
            return None
        x = self._convert_input(x)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, [x], self.name)
        out = self.call(x, training=False) if self._call_accepts_training else self.call(x)
        if type(out) is not Tensor or self.compute_mask(x, None) is not None:
            return None
        return out

    # ------------------------------------------------------------------ the functional graph
    def _symbolic_call(self, inputs: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        """Call on KerasTensors: build the layer from shapes, record a `Node`, return symbolic outputs.

        Nothing runs on data: the output shapes come from `compute_output_shape`. As tf.keras's RNN does, symbolic
        `initial_state` / `constants` join the inputs (`[inputs, *states, *constants]`), so the node lists them as
        inbound tensors.
        """
        if args:
            names = [n for n in inspect.signature(self.call).parameters][1:]
            if len(args) > len(names):
                raise TypeError(f"Layer '{self.name}' received {len(args)} extra positional arguments, expected at "
                                f"most {len(names)} ({names}). Received: args={args}")
            for n, a in zip(names, args):
                if n in kwargs:
                    raise TypeError(f"Layer '{self.name}' got multiple values for argument '{n}'")
                kwargs[n] = a
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        extra: List[Any] = []
        for key in ("initial_state", "constants"):
            if key not in kwargs:
                continue
            values = kwargs[key] if isinstance(kwargs[key], (list, tuple)) else [kwargs[key]]
            symbolic = [isinstance(v, KerasTensor) for v in values]
            if all(symbolic):
                extra.extend(values)
                del kwargs[key]
            elif any(symbolic):
                raise ValueError(f"Layer '{self.name}' received a `{key}` mixing symbolic tensors and arrays: "
                                 f"expected all entries to come from `Input` or layers, or none. Received: "
                                 f"{key}={values}")
        if extra:
            inputs = [inputs] + extra
        for t in flatten(inputs):
            if not isinstance(t, KerasTensor) or t._keras_history is None:
                raise ValueError(f"Layer '{self.name}' was called on a mix of symbolic tensors and other values: "
                                 "expected every input to come from `keras.Input` or another layer's output. "
                                 f"Received: inputs={inputs}")
        for key, value in kwargs.items():
            for t in flatten(value):
                if isinstance(t, KerasTensor) and t._keras_history is None:
                    raise ValueError(f"Layer '{self.name}' received a symbolic `{key}` that no layer produced. "
                                     f"Received: {key}={value}")
        flat = flatten(inputs)
        shapes: Any = [t.shape for t in flat] if isinstance(inputs, (list, tuple)) else inputs.shape
        if isinstance(inputs, dict):
            shapes = map_structure(lambda t: t.shape, inputs)
        try:
            assert_input_compatibility(self.input_spec, flat, self.name)
            if not self.built:
                self._maybe_build(shapes)
                assert_input_compatibility(self.input_spec, flat, self.name)
        except ValueError as e:
            producer = flat[0]._keras_history.layer
            if "expected ndim=3, found ndim=2" in str(e) and getattr(producer, "return_sequences", None) is False:
                raise ValueError(f"{e}. The previous layer '{producer.name}' ({type(producer).__name__}) returns only "
                                 "its last output, a 2D tensor (batch, units): to stack recurrent layers, pass "
                                 f"`return_sequences=True` to '{producer.name}' so that it returns the whole sequence "
                                 "(batch, timesteps, units).") from None
            raise
        out_shape = self.compute_output_shape(shapes)
        outputs = _keras_tensors_for(out_shape, self._dtype)
        Node(self, call_args=(inputs,), call_kwargs=kwargs, outputs=outputs)
        return outputs

    @property
    def inbound_nodes(self) -> List[Any]:
        """The nodes recording each call of this layer on symbolic tensors (Keras 2)."""
        return self._inbound_nodes

    @property
    def outbound_nodes(self) -> List[Any]:
        """The nodes of the layers called on this layer's symbolic outputs (Keras 2)."""
        return self._outbound_nodes

    def _node_attribute(self, node_index: int, attr: str, attr_name: str) -> Any:
        if not self._inbound_nodes:
            raise RuntimeError(f"The layer {self.name} has never been called and thus has no defined {attr_name}.")
        if not 0 <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Asked to get {attr_name} at node {node_index}, but the layer has only "
                             f"{len(self._inbound_nodes)} inbound nodes.")
        values = getattr(self._inbound_nodes[node_index], attr)
        if isinstance(values, list) and len(values) == 1:
            return values[0]
        return values

    def get_input_at(self, node_index: int) -> Any:
        """The input tensor(s) of the layer's call number `node_index`."""
        return self._node_attribute(node_index, "input_tensors", "input")

    def get_output_at(self, node_index: int) -> Any:
        """The output tensor(s) of the layer's call number `node_index`."""
        return self._node_attribute(node_index, "output_tensors", "output")

    def get_input_shape_at(self, node_index: int) -> Any:
        return self._node_attribute(node_index, "input_shapes", "input shape")

    def get_output_shape_at(self, node_index: int) -> Any:
        return self._node_attribute(node_index, "output_shapes", "output shape")

    @property
    def input(self) -> Any:
        """The symbolic input of the layer's first call (`model.get_layer(name).input` builds sub-models)."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        return self._node_attribute(0, "input_tensors", "input")

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's first call (a list for several outputs)."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} has no inbound nodes.")
        return self._node_attribute(0, "output_tensors", "output")

    @property
    def input_shape(self) -> Any:
        """The input shape of the layer's calls (only defined when every call had the same one)."""
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined input '
                                 "shape. Note that the `input_shape` property is only available for Functional and "
                                 "Sequential models.")
        shapes = {repr(node.input_shapes) for node in self._inbound_nodes}
        if len(shapes) != 1:
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different input shapes. '
                                 'Hence the notion of "input shape" is ill-defined for the layer. Use '
                                 "`get_input_shape_at(node_index)` instead.")
        return self._inbound_nodes[0].input_shapes

    @property
    def output_shape(self) -> Any:
        """The output shape of the layer's calls (only defined when every call had the same one)."""
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined output '
                                 "shape.")
        shapes = {repr(node.output_shapes) for node in self._inbound_nodes}
        if len(shapes) != 1:
            raise AttributeError(f'The layer "{self.name}" has multiple inbound nodes, with different output shapes. '
                                 'Hence the notion of "output shape" is ill-defined for the layer. Use '
                                 "`get_output_shape_at(node_index)` instead.")
        return self._inbound_nodes[0].output_shapes

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output mask: the input mask for layers that support masking, else None (Keras's default)."""
        if not self.supports_masking:
            return None
        return mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for an input shape.

        The default runs the layer twice on small zero batches, with unknown (`None`) sizes set to 2 and then 3:
        an output axis whose size follows them is unknown too. Nothing of the probe stays on the layer (no graph
        node, no activity loss); layers with state or randomness at inference define their own shapes.
        """
        single = is_shape(input_shape)
        shapes = [tuple(input_shape)] if single else [tuple(s) for s in input_shape]

        def probe(fill: int) -> List[Tuple[int, ...]]:
            dummy = [np.zeros(tuple(fill if d is None else d for d in s), self._dtype) for s in shapes]
            saved_losses = self._activity_losses
            try:
                with no_grad():
                    out = self(dummy[0] if single else dummy)
            finally:
                self._activity_losses = saved_losses
            return [tuple(o.shape) for o in flatten(out)], out

        (first, structure), (second, _) = probe(2), probe(3)
        merged = [tuple(a if a == b else None for a, b in zip(s1, s2)) for s1, s2 in zip(first, second)]
        if isinstance(structure, (list, tuple)):
            return merged
        return merged[0]

    # ------------------------------------------------------------------ config
    def get_config(self) -> Dict[str, Any]:
        """Base keys, tf.keras's order: name, trainable, dtype, [batch_input_shape]."""
        config: Dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _unique(items: List[Any]) -> List[Any]:
    seen = set()
    out = []
    for x in items:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def _set_mask(outputs: Any, mask: Any) -> None:
    if isinstance(outputs, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] + [None] * (len(outputs) - 1)
        for o, m in zip(outputs, masks):
            if isinstance(o, Tensor):
                o._keras_mask = _mask_array(m)
    elif isinstance(outputs, Tensor):
        outputs._keras_mask = _mask_array(mask)


def _mask_array(mask: Any) -> Optional[np.ndarray]:
    if mask is None:
        return None
    return np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)


_PLAIN_EAGER = (Tensor, np.ndarray)
_CONTAINERS = (list, tuple, dict, KerasTensor)


def _kwargs_nested(kwargs: Dict[str, Any]) -> bool:
    """True when a keyword argument is a KerasTensor or a container that may hold one."""
    for v in kwargs.values():
        if isinstance(v, _CONTAINERS):
            return True
    return False


def _any_symbolic(inputs: Any, args: Any, kwargs: Dict[str, Any]) -> bool:
    if isinstance(inputs, KerasTensor):
        return True
    # NOTE: the common eager call (one array or Tensor, no nested arguments) is decided without flattening
    if not isinstance(inputs, (list, tuple, dict)) and not args and not _kwargs_nested(kwargs):
        return False
    return any(isinstance(t, KerasTensor) for t in flatten([inputs, list(args), list(kwargs.values())]))


def _keras_tensors_for(shape: Any, dtype: str) -> Any:
    """Symbolic outputs for `compute_output_shape`'s result: one shape, or a list/dict of shapes."""
    if is_shape(shape):
        return KerasTensor(tuple(None if d is None else int(d) for d in shape), dtype)
    if isinstance(shape, dict):
        return {k: _keras_tensors_for(v, dtype) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_keras_tensors_for(s, dtype) for s in shape]
    raise TypeError(f"compute_output_shape must return a shape tuple or a list of them. Received: {shape!r}")
