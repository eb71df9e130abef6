"""Keras 1 argument names, converted as Keras 2.0-2.2's `keras/legacy/interfaces.py` did, with its warnings.

Each `legacy_*_support` decorator wraps a layer's `__init__`. It renames Keras 1 keyword arguments to their Keras 2
names (`output_dim` -> `units`, `init` -> `kernel_initializer`, `dropout_W` -> `dropout`, ...), converts the values
that changed meaning (`consume_less='gpu'` -> `implementation=2`, `forget_bias_init='one'` ->
`unit_forget_bias=True`, `input_dim` + `input_length` -> `input_shape`), and warns once per call with Keras 2.0's
text, which spells out the equivalent Keras 2 call:

    UserWarning: Update your `LSTM` call to the Keras 2 API: `LSTM(32, recurrent_dropout=0.2)`

Passing both spellings of one argument (by keyword or by position) raises Keras 2.0's `TypeError`. Positional
arguments follow tf_keras 2.21: Keras 2.0 refused a second positional argument such as `Dense(10, 'relu')`;
tf_keras and minikeras accept it.

>>> import warnings
>>> from minikeras.layers import Dense
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     layer = Dense(output_dim=3, init="uniform")
>>> layer.units, type(layer.kernel_initializer).__name__
(3, 'RandomUniform')
>>> str(caught[0].message)
'Update your `Dense` call to the Keras 2 API: `Dense(units=3, kernel_initializer="uniform")`'
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

Converted = List[Tuple[str, str]]
Preprocessor = Callable[[tuple, Dict[str, Any]], Tuple[tuple, Dict[str, Any], Converted]]

__all__ = ["generate_legacy_interface", "raise_duplicate_arg_error", "legacy_dense_support",
           "legacy_dropout_support", "legacy_embedding_support", "legacy_recurrent_support",
           "legacy_conv1d_support", "legacy_pooling1d_support", "legacy_global_pooling_support",
           "legacy_spatialdropout1d_support", "legacy_generator_methods_support",
           "legacy_model_constructor_support"]


def _render(value: Any) -> str:
    """One argument in the warning's call signature, as Keras 2.0 wrote it (strings quoted, long values cut)."""
    if isinstance(value, str):
        return '"' + value + '"'
    text = "array" if isinstance(value, np.ndarray) else str(value)
    return text[:10] + "..." if len(text) > 10 else text


def _signature(object_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [_render(v) for v in args] + [f"{k}={_render(v)}" for k, v in kwargs.items()]
    return "`" + object_name + "(" + ", ".join(parts) + ")`"


def _positional_names(func: Callable[..., Any], count: int) -> List[str]:
    """Names of the parameters that `count` positional arguments (self included) fill."""
    params = list(inspect.signature(func).parameters.values())
    return [p.name for p in params[1:count] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def raise_duplicate_arg_error(old_arg: str, new_arg: str) -> None:
    raise TypeError("For the `" + new_arg + "` argument, the layer received both the legacy keyword argument `"
                    + old_arg + "` and the Keras 2 keyword argument `" + new_arg + "`. Stick to the latter!")


def generate_legacy_interface(conversions: Sequence[Tuple[str, str]] = (),
                              preprocessor: Optional[Preprocessor] = None,
                              value_conversions: Optional[Mapping[str, Mapping[Any, Any]]] = None,
                              object_type: str = "class") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator for `__init__` that renames Keras 1 keyword arguments (Keras 2.0's function of the same name).

    Args:
        conversions: `(old_name, new_name)` pairs, applied in order.
        preprocessor: optional `f(args, kwargs) -> (args, kwargs, converted)` for conversions that are not renames.
        value_conversions: `{old_name: {old_value: new_value}}`, applied before renaming.
        object_type: `'class'` (the warning names the class) or `'method'` (it names the method, e.g.
            `fit_generator`).
    """
    value_conversions = dict(value_conversions or {})

    def legacy_support(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            object_name = type(args[0]).__name__ if object_type == "class" else func.__name__
            converted: Converted = []
            if preprocessor is not None:
                args, kwargs, converted = preprocessor(args, kwargs)
            for key, mapping in value_conversions.items():
                if key in kwargs:
                    old_value = kwargs[key]
                    try:
                        known = old_value in mapping
                    except TypeError:  # an unhashable value is not one of the Keras 1 spellings
                        known = False
                    if known:
                        kwargs[key] = mapping[old_value]
            positional = _positional_names(func, len(args))
            for old_name, new_name in conversions:
                if old_name in kwargs:
                    value = kwargs.pop(old_name)
                    if new_name in kwargs or new_name in positional:
                        raise_duplicate_arg_error(old_name, new_name)
                    kwargs[new_name] = value
                    converted.append((new_name, old_name))
            if converted:
                warnings.warn("Update your `" + object_name + "` call to the Keras 2 API: "
                              + _signature(object_name, args[1:], kwargs), stacklevel=2)
            return func(*args, **kwargs)

        wrapper._legacy_support = True  # type: ignore[attr-defined]
        return wrapper

    return legacy_support


# ************************************************************ core layers

legacy_dense_support = generate_legacy_interface(
    conversions=[("output_dim", "units"),
                 ("init", "kernel_initializer"),
                 ("W_regularizer", "kernel_regularizer"),
                 ("b_regularizer", "bias_regularizer"),
                 ("W_constraint", "kernel_constraint"),
                 ("b_constraint", "bias_constraint"),
                 ("bias", "use_bias")])

legacy_dropout_support = generate_legacy_interface(conversions=[("p", "rate")])

legacy_spatialdropout1d_support = generate_legacy_interface(conversions=[("p", "rate")])


# ************************************************************ Embedding


def embedding_kwargs_preprocessor(args: tuple, kwargs: Dict[str, Any]) -> Tuple[tuple, Dict[str, Any], Converted]:
    if "dropout" in kwargs:
        # NOTE: Keras 2.0 dropped Keras 1's word dropout with this warning; the argument has no effect, as there.
        kwargs.pop("dropout")
        warnings.warn("The `dropout` argument is no longer support in `Embedding`. You can apply a "
                      "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get the same "
                      "behavior.", stacklevel=3)
    return args, kwargs, []


legacy_embedding_support = generate_legacy_interface(
    conversions=[("init", "embeddings_initializer"),
                 ("W_regularizer", "embeddings_regularizer"),
                 ("W_constraint", "embeddings_constraint")],
    preprocessor=embedding_kwargs_preprocessor)


# ************************************************************ recurrent layers


def recurrent_args_preprocessor(args: tuple, kwargs: Dict[str, Any]) -> Tuple[tuple, Dict[str, Any], Converted]:
    converted: Converted = []
    if "forget_bias_init" in kwargs:
        if kwargs["forget_bias_init"] == "one":
            kwargs.pop("forget_bias_init")
            kwargs["unit_forget_bias"] = True
            converted.append(("forget_bias_init", "unit_forget_bias"))
        else:
            kwargs.pop("forget_bias_init")
            warnings.warn("The `forget_bias_init` argument has been ignored. Use `unit_forget_bias=True` instead to "
                          "initialize with ones.", stacklevel=3)
    if "input_dim" in kwargs:
        input_length = kwargs.pop("input_length", None)
        input_dim = kwargs.pop("input_dim")
        kwargs["input_shape"] = (input_length, input_dim)
        converted.append(("input_dim", "input_shape"))
        warnings.warn("The `input_dim` and `input_length` arguments in recurrent layers are deprecated. Use "
                      "`input_shape` instead.", stacklevel=3)
    return args, kwargs, converted


legacy_recurrent_support = generate_legacy_interface(
    conversions=[("output_dim", "units"),
                 ("init", "kernel_initializer"),
                 ("inner_init", "recurrent_initializer"),
                 ("inner_activation", "recurrent_activation"),
                 ("W_regularizer", "kernel_regularizer"),
                 ("b_regularizer", "bias_regularizer"),
                 ("U_regularizer", "recurrent_regularizer"),
                 ("dropout_W", "dropout"),
                 ("dropout_U", "recurrent_dropout"),
                 ("consume_less", "implementation")],
    value_conversions={"consume_less": {"cpu": 0, "mem": 1, "gpu": 2}},
    preprocessor=recurrent_args_preprocessor)


# ************************************************************ convolution and pooling


def conv1d_args_preprocessor(args: tuple, kwargs: Dict[str, Any]) -> Tuple[tuple, Dict[str, Any], Converted]:
    converted: Converted = []
    if "input_dim" in kwargs:
        length = kwargs.pop("input_length", None)
        kwargs["input_shape"] = (length, kwargs.pop("input_dim"))
        converted.append(("input_shape", "input_dim"))
    return args, kwargs, converted


legacy_conv1d_support = generate_legacy_interface(
    conversions=[("nb_filter", "filters"),
                 ("filter_length", "kernel_size"),
                 ("subsample_length", "strides"),
                 ("border_mode", "padding"),
                 ("init", "kernel_initializer"),
                 ("W_regularizer", "kernel_regularizer"),
                 ("b_regularizer", "bias_regularizer"),
                 ("W_constraint", "kernel_constraint"),
                 ("b_constraint", "bias_constraint"),
                 ("bias", "use_bias")],
    preprocessor=conv1d_args_preprocessor)

legacy_pooling1d_support = generate_legacy_interface(
    conversions=[("pool_length", "pool_size"),
                 ("stride", "strides"),
                 ("border_mode", "padding")])

legacy_global_pooling_support = generate_legacy_interface(
    conversions=[("dim_ordering", "data_format")],
    value_conversions={"dim_ordering": {"tf": "channels_last", "th": "channels_first", "default": None}})


# ************************************************************ Model's generator methods

def generator_methods_args_preprocessor(args: tuple, kwargs: Dict[str, Any]
                                        ) -> Tuple[tuple, Dict[str, Any], Converted]:
    """Keras 1's `samples_per_epoch` becomes `steps_per_epoch` (divided by the generator's `batch_size` if it has
    one, else taken as is, as Keras 2.0 did), with Keras 2.0's warning on the arguments that changed meaning."""
    converted: Converted = []
    if len(args) < 3 and "samples_per_epoch" in kwargs:
        samples_per_epoch = kwargs.pop("samples_per_epoch")
        generator = args[1] if len(args) > 1 else kwargs["generator"]
        if hasattr(generator, "batch_size"):
            kwargs["steps_per_epoch"] = samples_per_epoch // generator.batch_size
        else:
            kwargs["steps_per_epoch"] = samples_per_epoch
        converted.append(("samples_per_epoch", "steps_per_epoch"))
    if {"samples_per_epoch", "val_samples", "nb_epoch", "nb_val_samples", "nb_worker"}.intersection(kwargs):
        warnings.warn("The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the Keras 1 "
                      "argument `samples_per_epoch`. `steps_per_epoch` is the number of batches to draw from the "
                      "generator at each epoch. Basically steps_per_epoch = samples_per_epoch/batch_size. Similarly "
                      "`nb_val_samples`->`validation_steps` and `val_samples`->`steps` arguments have changed. "
                      "Update your method calls accordingly.", stacklevel=3)
    return args, kwargs, converted


legacy_generator_methods_support = generate_legacy_interface(
    conversions=[("samples_per_epoch", "steps_per_epoch"),
                 ("val_samples", "steps"),
                 ("nb_epoch", "epochs"),
                 ("nb_val_samples", "validation_steps"),
                 ("nb_worker", "workers"),
                 ("pickle_safe", "use_multiprocessing"),
                 ("max_q_size", "max_queue_size")],
    preprocessor=generator_methods_args_preprocessor,
    object_type="method")


# ************************************************************ Model constructor

legacy_model_constructor_support = generate_legacy_interface(
    conversions=[("input", "inputs"),
                 ("output", "outputs")])
