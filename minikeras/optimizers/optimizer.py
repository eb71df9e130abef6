"""`Optimizer`: the base of tf_keras 2.11+'s optimizers (`keras.optimizers.Optimizer`), in numpy.

One `apply_gradients(grads_and_vars)` call, in tf_keras's order:

1. the learning rate of a `LearningRateSchedule` is evaluated at `iterations`;
2. the slots are created on the first call (`build`), for every variable given;
3. pairs whose gradient is None are dropped (a warning names them; all None is a ValueError);
4. gradients are clipped: `clipnorm` per gradient, else `global_clipnorm` over all, else `clipvalue`;
5. weight decay: `var -= var * weight_decay * lr` (when `weight_decay` is not None);
6. the update rule of the optimizer, in place on `var.data`;
7. the exponential moving average (`use_ema`) is updated and, every `ema_overwrite_frequency` steps, copied into
   the variables;
8. `iterations += 1`;
9. each variable's `constraint`, if any, is applied.

Steps 4-9 run on flat buffers: `build` moves the trained variables into one contiguous buffer per dtype (each
variable's `.data` a view of its segment) and each slot kind into one buffer alongside, so a step is a handful of
numpy calls whatever the number of variables; per-variable rules use the segment bounds (`clipnorm` through
`np.add.reduceat`). `get_state`/`set_state` copy and restore the whole state (one copy per buffer): `fit` uses them
to undo a failed batch, and `get_weights`/saving read the values through them.

State (`variables`, `get_weights`, `set_weights`) is ordered as tf_keras orders `optimizer.variables`: `iteration`
first, then the slots in creation order. Slot names are tf_keras's `"{optimizer name}/{slot}/{variable path}"`
(`"Adam/m/dense/kernel"`) when the slots are created by `apply_gradients`, and `"{slot}/{variable path}"` when
`build()` is called directly; the counter is named `"iteration"`. (tf adds a `:0` suffix; minikeras names do not.)
"""
from __future__ import annotations

import re
import threading
import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from minikeras import backend
from minikeras import initializers
from minikeras.autograd import Tensor, Variable
from minikeras.autograd.threads import blas_helpers_spinning, run_parallel, split_range
from minikeras.optimizers import schedules as learning_rate_schedule


def _shared_name(variable: Any) -> str:
    """The name tf_keras uses for a model variable inside slot names (`dense/kernel`, without `:0`)."""
    name = getattr(variable, "path", None) or getattr(variable, "name", None) or "Variable"
    return name[:-2] if name.endswith(":0") else name


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


# ---------------------------------------------------------------------------------------------------- flat buffers
class _FlatLayout:
    """The trained variables of one dtype laid end to end in one buffer, with their slots alongside.

    Each variable's `.data` becomes a view of its segment of `weights`; each slot kind (`"m"`, `"v"`, ...) gets one
    buffer of the same length, whose segments are the slot variables. An optimizer then updates every variable of
    the dtype in a handful of numpy calls; per-variable rules (`clipnorm`, constraints, excluded weight decay) use
    the segment bounds (`starts`, `sizes`).
    """

    def __init__(self, dtype: Any, variables: Sequence[Variable]):
        self.dtype = np.dtype(dtype)
        self.variables = list(variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        sizes = [int(np.prod(shape, dtype=np.int64)) for shape in self.shapes]
        self.sizes = np.asarray(sizes, dtype=np.intp)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.intp)
        self.total = int(self.sizes.sum())
        self.position = {id(v): k for k, v in enumerate(self.variables)}
        self.weights = np.empty(self.total, dtype=self.dtype)
        self.views = [self.segment(self.weights, k) for k in range(len(self.variables))]
        for variable, view in zip(self.variables, self.views):
            variable.use_storage(view)
        self.grad = np.empty(self.total, dtype=self.dtype)
        self.slots: Dict[str, np.ndarray] = {}
        self.slot_variables: Dict[str, Dict[int, Variable]] = {}
        self._slot_views: Dict[str, Dict[int, np.ndarray]] = {}
        self._work: List[np.ndarray] = []
        self._nonempty = self.sizes > 0

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        del state["views"], state["_work"], state["_slot_views"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # NOTE: a copy (copy.deepcopy, pickle) copies each view as an array of its own: point the copied variables
        # back into the copied buffers, or the optimizer would update buffers nobody reads.
        self.__dict__.update(state)
        self.position = {id(v): k for k, v in enumerate(self.variables)}
        self._work = []
        self.views = [self.segment(self.weights, k) for k in range(len(self.variables))]
        for variable, view in zip(self.variables, self.views):
            variable.use_storage(view)
        self._slot_views = {kind: {k: self.segment(self.slots[kind], k) for k in variables}
                            for kind, variables in self.slot_variables.items()}
        for kind, variables in self.slot_variables.items():
            for k, variable in variables.items():
                variable.use_storage(self._slot_views[kind][k])

    def segment(self, buffer: np.ndarray, k: int) -> np.ndarray:
        start = int(self.starts[k])
        return buffer[start:start + int(self.sizes[k])].reshape(self.shapes[k])

    def add_slot(self, kind: str, k: int, variable: Variable) -> bool:
        """Move slot `variable` (of kind `kind`, for variable `k`) into the slot buffer of its kind; False if that
        segment is taken (a second slot of the same kind for one variable then keeps its own array)."""
        given = self.slot_variables.setdefault(kind, {})
        if k in given:
            return False
        if kind not in self.slots:
            self.slots[kind] = np.zeros(self.total, dtype=self.dtype)
        view = self.segment(self.slots[kind], k)
        variable.use_storage(view)
        given[k] = variable
        self._slot_views.setdefault(kind, {})[k] = view
        return True

    def slot_locations(self) -> Dict[int, Tuple[Any, ...]]:
        """`id(slot variable) -> (buffer, start, size, shape, view)` for the slots living in this layout."""
        out = {}
        for kind, variables in self.slot_variables.items():
            for k, variable in variables.items():
                out[id(variable)] = (self.slots[kind], int(self.starts[k]), int(self.sizes[k]), self.shapes[k],
                                     self._slot_views[kind][k])
        return out

    def complete_slots(self) -> bool:
        """Whether every slot kind has a segment for every variable (so the flat update covers them all)."""
        n = len(self.variables)
        return all(len(given) == n for given in self.slot_variables.values())

    def work(self, i: int) -> np.ndarray:
        """Scratch buffer `i` (flat, reused across steps: no allocation per step)."""
        with _WORK_LOCK:  # NOTE: `update` may ask from several threads at once
            while len(self._work) <= i:
                self._work.append(np.empty(self.total, dtype=self.dtype))
            return self._work[i]

    def update(self, rule: Callable[..., None], grad: Union[np.ndarray, List[np.ndarray]], c: Dict[str, Any]) -> None:
        """`rule(grad, weights, slots, c, work)` on the whole flat buffers: an optimizer's elementwise update rule
        (`Optimizer._update_flat`, the legacy optimizers' `_apply_flat`) with the step's scalars `c`. `grad` is the
        flat gradient (`gather`) or the gradients of the variables in order, then read where they lie (no copy into
        the flat buffer).

        The rule runs on contiguous ranges of the buffers; it is elementwise, so every element gets the same
        arithmetic, and the same bits, whatever the ranges. A large buffer is updated in parts side by side on the
        kernel threads (`threads.run_parallel`): the Adam update of Keras 2's two-LSTM example (497k weights) took
        0.56 ms in two parts against 0.70 as one. On one thread it goes block by block (`_BLOCK`), with the rule's
        scratch arrays reused from block to block, so its dozen passes run over data in the core's cache instead of
        streaming every whole buffer a dozen times.
        """
        def run(rows: slice, g: np.ndarray, work: Callable[[int], np.ndarray]) -> None:
            rule(g, self.weights[rows], {kind: s[rows] for kind, s in self.slots.items()}, c, work)

        # NOTE: parts start at multiples of 16 elements (64 bytes of float32): no two threads write to one cache line
        parts = [slice(0, self.total)] if blas_helpers_spinning() else split_range(self.total, _MIN_PART, 16)
        if self.total <= _BLOCK and len(parts) == 1:
            rule(grad if isinstance(grad, np.ndarray) else self.gather(grad), self.weights, self.slots, c, self.work)
            return
        if len(parts) > 1:
            def part(rows: slice) -> None:
                for piece, g in self._pieces(grad, rows, self.total):
                    run(piece, g, lambda i: self.work(i)[piece])
            run_parallel([lambda rows=rows: part(rows) for rows in parts])
            return
        for piece, g in self._pieces(grad, slice(0, self.total), _BLOCK):
            n = piece.stop - piece.start
            # NOTE: the first n elements of each scratch buffer for every block: they stay in cache
            run(piece, g, lambda i: self.work(i)[:n])

    def _pieces(self, grad: Union[np.ndarray, List[np.ndarray]], rows: slice,
                longest: int) -> Iterator[Tuple[slice, np.ndarray]]:
        """`(flat range, its gradient)` covering `rows` in pieces of at most `longest` elements: of the flat gradient,
        or, from a list, within each variable, read from the variable's own gradient."""
        if isinstance(grad, np.ndarray):
            for start in range(rows.start, rows.stop, longest):
                piece = slice(start, min(start + longest, rows.stop))
                yield piece, grad[piece]
            return
        for k, g in enumerate(grad):
            lo, hi = max(int(self.starts[k]), rows.start), min(int(self.starts[k] + self.sizes[k]), rows.stop)
            if lo >= hi:
                continue
            flat = np.asarray(g, dtype=self.dtype).reshape(-1)  # NOTE: gather's cast, for this variable alone
            base = int(self.starts[k])
            for start in range(lo, hi, longest):
                stop = min(start + longest, hi)
                yield slice(start, stop), flat[start - base:stop - base]

    def rebind(self) -> None:
        """Put back into the buffer any variable whose `.data` was rebound to a new array since the last step."""
        for variable, view in zip(self.variables, self.views):
            if variable.data is not view:
                if variable.data.shape != view.shape:
                    raise ValueError(f"Variable '{variable.name}' changed shape from {view.shape} to "
                                     f"{variable.data.shape} after the optimizer was built. Received: "
                                     f"shape={variable.data.shape}")
                variable.use_storage(view)

    def gather(self, grads: Sequence[np.ndarray]) -> np.ndarray:
        """The gradients (in variable order) concatenated into the flat gradient buffer."""
        np.concatenate([g.reshape(-1) for g in grads], out=self.grad, casting="same_kind")
        return self.grad

    def segment_sums(self, x: np.ndarray) -> np.ndarray:
        """Per-variable sums of the flat array `x` (a float64 accumulator, rounded to the dtype)."""
        acc = np.float64 if self.dtype.itemsize <= 8 else self.dtype
        out = np.zeros(len(self.variables), dtype=acc)
        if self.total:
            out[self._nonempty] = np.add.reduceat(x, self.starts[self._nonempty], dtype=acc)
        return out.astype(self.dtype)

    def per_element(self, values: np.ndarray) -> np.ndarray:
        """Per-variable values repeated over each variable's elements."""
        return np.repeat(values, self.sizes)


_WORK_LOCK = threading.Lock()
#: Fewer elements than this per part of a flat update cost more in thread hand-offs than the split saves.
_MIN_PART = 1 << 16
#: Elements per block of a flat update on one thread. An update rule touches about 6 arrays per block (gradient,
#: weights, slots, two scratch arrays): at 32k float32 elements, under 1 MB, what a core's L2 cache holds. Adam's
#: passes over the 497k weights of Keras 2's two-LSTM example on one thread (the command in docs/performance.md,
#: Threads): 1.9 ms over the whole buffers, 1.3 to 1.4 ms block by block.
_BLOCK = 1 << 15


class OptimizerState:
    """A copy of an optimizer's state: what `get_state` returns and `set_state` puts back.

    It holds one copy of each flat slot buffer (not one per variable), copies of the few variables outside them
    (`iteration`, ...), and `extra`, the optimizer's state that is not a variable (e.g. Nadam's momentum cache).
    `values()` gives the variable values in `variables` order, as `get_weights` and the saved files list them.
    """

    __slots__ = ("built", "variables", "flats", "singles", "locations", "extra")

    def __init__(self, built: bool, variables: List[Any], flats: List[Tuple[np.ndarray, np.ndarray]],
                 singles: List[np.ndarray], locations: List[Tuple[Any, ...]], extra: Dict[str, Any]):
        self.built = built
        self.variables = variables
        self.flats = flats
        self.singles = singles
        self.locations = locations
        self.extra = extra

    def values(self) -> List[np.ndarray]:
        out = []
        for loc in self.locations:
            if loc[0] == "flat":
                _, i, start, size, shape, _view = loc
                out.append(self.flats[i][1][start:start + size].reshape(shape))
            else:
                out.append(self.singles[loc[1]])
        return out


def _capture_state(built: bool, variables: List[Any], layouts: List["_FlatLayout"],
                   extra: Dict[str, Any]) -> OptimizerState:
    flat_slots: Dict[int, Tuple[Any, ...]] = {}
    for layout in layouts:
        flat_slots.update(layout.slot_locations())
    flats: List[Tuple[np.ndarray, np.ndarray]] = []
    buffer_index: Dict[int, int] = {}
    singles: List[np.ndarray] = []
    locations: List[Tuple[Any, ...]] = []
    for v in variables:
        loc = flat_slots.get(id(v))
        if loc is not None and v.data is loc[4]:
            buffer, start, size, shape, view = loc
            if id(buffer) not in buffer_index:
                buffer_index[id(buffer)] = len(flats)
                flats.append((buffer, buffer.copy()))
            locations.append(("flat", buffer_index[id(buffer)], start, size, shape, view))
        else:
            locations.append(("single", len(singles)))
            singles.append(np.array(v.data, copy=True))
    return OptimizerState(built, list(variables), flats, singles, locations, extra)


def _restore_state(variables: List[Any], state: OptimizerState) -> None:
    for live, saved in state.flats:
        np.copyto(live, saved)
    for v, loc in zip(variables, state.locations):
        if loc[0] == "single":
            v.assign(state.singles[loc[1]])
        elif v.data is not loc[5]:  # rebound since the capture: write the saved value into its current storage
            v.assign(state.flats[loc[1]][1][loc[2]:loc[2] + loc[3]].reshape(loc[4]))


def _check_state_variables(owner: str, variables: List[Any], state: Any) -> None:
    if not isinstance(state, OptimizerState):
        raise TypeError(f"`set_state` expected the value of `get_state()`. Received: state={state!r}")
    if len(state.variables) != len(variables) or any(a is not b for a, b in zip(state.variables, variables)):
        raise ValueError(f"Optimizer '{owner}' cannot take a state captured from other variables: it has "
                         f"{[v.name for v in variables]}, the state has {[v.name for v in state.variables]}. "
                         "Use `set_weights` to copy values between optimizers.")


def _values_state(state: OptimizerState, values: Sequence[np.ndarray]) -> OptimizerState:
    """`state` with its variable values replaced by `values` (checked by the caller), for `set_weights`."""
    for loc, value in zip(state.locations, values):
        if loc[0] == "flat":
            _, i, start, size, shape, _view = loc
            target = state.flats[i][1][start:start + size].reshape(shape)
        else:
            target = state.singles[loc[1]]
        np.copyto(target, value, casting="unsafe")
    return state


class Optimizer:
    """Abstract optimizer base class (tf_keras 2.11+ `keras.optimizers.Optimizer`).

    The variables an optimizer trains are moved into one flat buffer per dtype when it is built (each variable's
    `.data` a view of its segment), and each slot kind gets one flat buffer alongside; one step then updates every
    variable in a handful of numpy calls, with tf_keras's arithmetic and its per-variable rules (`clipnorm` per
    variable, constraints, weight decay exclusions).

    Args:
        name: the name used as prefix of the slot variables.
        weight_decay: if set, `var -= var * weight_decay * learning_rate` before each update.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient elementwise to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm (exclusive with `clipnorm`).
        use_ema: keep an exponential moving average of the variables.
        ema_momentum: `average = ema_momentum * average + (1 - ema_momentum) * variable`.
        ema_overwrite_frequency: every this many steps, copy the averages into the variables (None: never; call
            `finalize_variable_values`).
        jit_compile: accepted for compatibility; minikeras has no XLA, so it is stored as False (as tf_keras does on
            a machine without GPU).
        **kwargs: Keras 2's `lr` (used as `learning_rate`, with a deprecation warning) and `decay` (Keras 2.x's
            inverse-time decay, `lr * 1 / (1 + decay * iterations)`, with a deprecation warning), and
            `is_legacy_optimizer` (a serialization key); any other keyword raises TypeError.

    Subclasses implement `build(var_list)` (call `super().build`, then `add_variable_from_reference` per slot),
    `get_config`, and either `_update_flat(gradient, variable, slots, c)` (arrays: the same rule for one variable
    or a whole flat buffer; `c` from `_coefficients`) or, for a custom optimizer, `update_step(gradient, variable)`.
    """

    def __init__(self, name: str, weight_decay: Optional[float] = 0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Optional[int] = None, jit_compile: bool = True,
                 **kwargs: Any):
        kwargs.pop("mesh", None)
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        # NOTE: tf_keras keeps jit_compile only when a GPU is present; its configs on CPU say False.
        self.jit_compile = False
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer > 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}.")
        self._variables: List[Variable] = []
        self._iterations = Variable(np.array(0, dtype=np.int64), trainable=False, name="iteration")
        self._variables.append(self._iterations)
        self._built = False
        self._index_dict: Dict[int, int] = {}
        self._layouts: List[_FlatLayout] = []
        self._slot_table: Dict[int, Dict[str, Variable]] = {}
        self._learning_rate: Any = None
        self._scope: Optional[str] = None
        self._lr_kwarg: Any = None
        self._initial_decay = 0.0
        self._process_kwargs(kwargs)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # NOTE: slots are found by id(variable); a copy (copy.deepcopy, pickle) has new variables, hence new ids.
        self.__dict__.update(state)
        if "_built_variables" in state:
            self._index_dict = {self._var_key(v): i for i, v in enumerate(self._built_variables)}
        if "_exclude_from_weight_decay_vars" in state:
            self._exclude_from_weight_decay = [self._var_key(v) for v in self._exclude_from_weight_decay_vars]

    # ------------------------------------------------------------------ arguments
    def _process_kwargs(self, kwargs: Dict[str, Any]) -> None:
        kwargs.pop("is_legacy_optimizer", None)
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            # NOTE: Keras 2.0-2.10 used `lr` (tf_keras 2.11+ ignores it with a warning); code that says `lr=` was
            # written for them, so minikeras honours it, as `learning_rate` (`lr` wins if both are given, as then).
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead. Received: "
                          f"lr={lr}", DeprecationWarning, stacklevel=4)
            self._lr_kwarg = lr
        if "decay" in kwargs:
            decay = kwargs.pop("decay")
            if decay is None or isinstance(decay, bool) or not isinstance(decay, (int, float, np.number)) \
                    or decay < 0:
                raise ValueError(f"`decay` must be a number >= 0. Received: decay={decay!r}")
            warnings.warn("The `decay` argument is deprecated; use a `keras.optimizers.schedules."
                          "InverseTimeDecay(learning_rate, decay_steps=1, decay_rate=decay)` instead. As in Keras 2.x, "
                          f"the learning rate becomes lr / (1 + decay * iterations). Received: decay={decay}",
                          DeprecationWarning, stacklevel=4)
            self._initial_decay = float(decay)
            self.decay = Variable(np.asarray(decay, dtype=np.float32), trainable=False, name="decay")
        legacy_kwargs = {"gradient_aggregator", "gradient_transformers"}
        for k, v in kwargs.items():
            if k in legacy_kwargs:
                raise ValueError(f"{k} is deprecated in the new Keras optimizer, please check the docstring for "
                                 "valid arguments, or use the legacy optimizer, e.g., "
                                 f"minikeras.optimizers.legacy.{type(self).__name__}. Received: {k}={v!r}")
            raise TypeError(f"{k} is not a valid argument, kwargs should be empty for "
                            f"`minikeras.optimizers.{type(self).__name__}`. Received: {k}={v!r}")

    # ------------------------------------------------------------------ learning rate
    def _build_learning_rate(self, learning_rate: Any) -> Any:
        if self._lr_kwarg is not None:
            learning_rate = self._lr_kwarg
        if isinstance(learning_rate, learning_rate_schedule.LearningRateSchedule):
            self._current_learning_rate = Variable(
                np.asarray(learning_rate(self._iterations.data), dtype=np.float32), trainable=False,
                name="current_learning_rate")
            return learning_rate
        if callable(learning_rate) and not isinstance(learning_rate, Tensor):
            learning_rate = learning_rate()
        return Variable(np.asarray(_as_array(learning_rate), dtype=backend.floatx()), trainable=False,
                        name="learning_rate")

    @property
    def learning_rate(self) -> Variable:
        """The learning rate Variable (for a schedule: the value computed at the start of the last step).

        `backend.set_value(optimizer.learning_rate, 1e-4)` (or `optimizer.learning_rate = 1e-4`) changes the rate
        used from the next step on. With Keras 2's `decay`, this is the rate before decay.
        """
        if getattr(self, "_learning_rate", None) is None:
            raise ValueError("Missing learning rate, please set self.learning_rate at optimizer creation time.")
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            return self._current_learning_rate
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        if isinstance(learning_rate, learning_rate_schedule.LearningRateSchedule):
            self._learning_rate = learning_rate
            self._compute_current_learning_rate()
            return
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        self._learning_rate.assign(np.asarray(_as_array(learning_rate), dtype=self._learning_rate.dtype))

    @property
    def lr(self) -> Variable:
        """Alias of `learning_rate` (Keras 2 name): `K.set_value(model.optimizer.lr, 1e-4)` works."""
        return self.learning_rate

    @lr.setter
    def lr(self, learning_rate: Any) -> None:
        self.learning_rate = learning_rate

    def _compute_current_learning_rate(self) -> None:
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            value = np.asarray(self._learning_rate(self._iterations.data), dtype=np.float32)
            if getattr(self, "_current_learning_rate", None) is None:
                self._current_learning_rate = Variable(value, trainable=False, name="current_learning_rate")
            else:
                self._current_learning_rate.assign(value)

    def _lr(self, dtype: Any) -> Any:
        """`tf.cast(self.learning_rate, variable.dtype)`; with Keras 2's `decay`, Keras 2.x's
        `lr * (1. / (1. + decay * iterations))` in float32 first (keras/optimizers.py of Keras 2.3)."""
        lr = self.learning_rate.data
        if self._initial_decay > 0:
            f = np.float32
            decay = np.asarray(self.decay.data, dtype=f)
            lr = np.asarray(lr, dtype=f) * (f(1.0) / (f(1.0) + decay * f(self._iterations.data)))
        return np.asarray(lr, dtype=dtype)

    # ------------------------------------------------------------------ iterations and variables
    @property
    def iterations(self) -> Variable:
        """The number of `apply_gradients` steps run (an int64 Variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Any) -> None:
        if self._built:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer weights have been "
                               f"created. Here it is attempting to set `iterations` to {variable}. Usually this "
                               "means you are trying to set `iterations` after calling `apply_gradients()`. Please "
                               "set `iterations` before calling `apply_gradients()`.")
        if not isinstance(variable, Variable):
            variable = Variable(np.asarray(_as_array(variable), dtype=np.int64), trainable=False, name="iteration")
        self._variables[self._variables.index(self._iterations)] = variable
        self._iterations = variable

    @property
    def variables(self) -> "CallableList":
        """The optimizer state, `iteration` first, then the slots in creation order (callable, as tf_keras)."""
        return CallableList(self._variables)

    @property
    def weights(self) -> List[Variable]:
        return list(self._variables)

    # ------------------------------------------------------------------ state
    def _get_extra_state(self) -> Dict[str, Any]:
        """State outside `variables` that `apply_gradients` changes (subclasses add theirs)."""
        extra: Dict[str, Any] = {}
        if getattr(self, "_current_learning_rate", None) is not None:
            extra["current_learning_rate"] = self._current_learning_rate.data.copy()
        return extra

    def _set_extra_state(self, extra: Dict[str, Any]) -> None:
        if "current_learning_rate" in extra and getattr(self, "_current_learning_rate", None) is not None:
            self._current_learning_rate.assign(extra["current_learning_rate"])

    def get_state(self) -> OptimizerState:
        """A copy of everything `apply_gradients` changes: `iterations`, the slots (one copy per flat buffer), the
        current learning rate of a schedule and any optimizer-specific counter.

        `set_state(state)` puts it back exactly (bit for bit); `fit` uses the pair to undo a failed batch, and
        `get_weights`/saving read the values through it (`state.values()`, in `variables` order).

        >>> import numpy as np
        >>> from minikeras.autograd import Variable
        >>> from minikeras.optimizers import Adam
        >>> w = Variable(np.ones(3, "float32")); opt = Adam()
        >>> _ = opt.apply_gradients([(np.ones(3, "float32"), w)])
        >>> state = opt.get_state()
        >>> _ = opt.apply_gradients([(np.ones(3, "float32"), w)])
        >>> opt.set_state(state); int(opt.iterations.data)
        1
        """
        return _capture_state(self._built, list(self._variables), self._layouts, self._get_extra_state())

    def set_state(self, state: OptimizerState) -> None:
        """Put back a state from `get_state()` of this optimizer (an unbuilt state un-builds the optimizer)."""
        if isinstance(state, OptimizerState) and not state.built and self._built:
            self._unbuild()
        _check_state_variables(self.name, self._variables, state)
        _restore_state(self._variables, state)
        self._set_extra_state(state.extra)

    def _flat_weight_buffers(self) -> List[Tuple[np.ndarray, List[Tuple[Any, np.ndarray]]]]:
        """`(buffer, [(variable, view), ...])` per flat weight buffer: a training rollback copies these whole."""
        return [(layout.weights, list(zip(layout.variables, layout.views))) for layout in self._layouts]

    def _unbuild(self) -> None:
        """Forget the slots (back to before the first `apply_gradients`); the model variables keep their values."""
        self._built = False
        self._variables = [self._iterations]
        self._index_dict = {}
        self._layouts = []
        self._slot_table = {}

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the state arrays, in `variables` order."""
        return self.get_state().values()

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the state from arrays in `variables` order (the optimizer must be built).

        Unlike tf_keras (which zips and silently ignores extra or missing arrays), a count mismatch raises, so a
        file written for another optimizer never half-loads; nothing is changed unless every array fits.
        """
        if not self._built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        weights = [_as_array(w) for w in weights]
        if len(weights) != len(self._variables):
            raise ValueError(f"Optimizer '{self.name}' has {len(self._variables)} variables "
                             f"({[v.name for v in self._variables]}), but {len(weights)} values were given. "
                             f"Received: {len(weights)} arrays")
        for variable, weight in zip(self._variables, weights):
            if variable.shape != weight.shape:
                raise ValueError(f"Optimizer variable {variable.name} has shape {variable.shape} not compatible "
                                 f"with provided weight shape {weight.shape}.")
        self.set_state(_values_state(self.get_state(), weights))

    def save_own_variables(self, store: Any) -> None:
        """Write the state as `store["0"], store["1"], ...` (the `.keras` format)."""
        for i, value in enumerate(self.get_state().values()):
            store[str(i)] = value

    def load_own_variables(self, store: Any) -> None:
        """Read the state written by `save_own_variables`; skipped with a warning if the counts differ."""
        if len(store.keys()) != len(self._variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                   f"variables whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(self._variables) == 1:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        self.set_weights([np.asarray(store[str(i)]) for i in range(len(self._variables))])

    # ------------------------------------------------------------------ slots
    def _var_key(self, variable: Any) -> int:
        return id(variable)

    def build(self, var_list: Sequence[Any]) -> None:
        """Create the slots for `var_list` (once). Subclasses call `super().build(var_list)` first.

        The floating `Variable`s of `var_list` move into one flat buffer per dtype (their `.data` become views).
        """
        if self._built:
            return
        self._index_dict = {self._var_key(v): i for i, v in enumerate(var_list)}
        # NOTE: slots are found by id(variable); holding the variables keeps those ids from being reused.
        self._built_variables = list(var_list)
        self._layouts = _make_layouts(var_list)
        if self.use_ema:
            self._model_variables_moving_average = [
                self.add_variable_from_reference(var, "average", initial_value=var.data) for var in var_list]

    def add_variable(self, shape: Sequence[int] = (), dtype: Any = None, initializer: Any = "zeros",
                     name: Optional[str] = None) -> Variable:
        """Create an optimizer variable not tied to a model variable (appended to `variables`)."""
        dtype = dtype or backend.floatx()
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype=dtype), dtype=dtype)
        variable = Variable(value, trainable=False, name=name)
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, model_variable: Any, variable_name: str, shape: Any = None,
                                    initial_value: Any = None) -> Variable:
        """Create a slot named `{variable_name}/{model variable path}`, zeros of the variable's shape by default.

        A slot of the variable's shape and dtype lives in the flat buffer of its kind (`variable_name`).
        """
        dtype = model_variable.dtype
        if initial_value is None:
            value = np.zeros(model_variable.shape if shape is None else tuple(shape), dtype=dtype)
        else:
            value = np.array(_as_array(initial_value), dtype=dtype)
        prefix = f"{self._scope}/" if self._scope else ""
        variable = Variable(value, trainable=False, name=f"{prefix}{variable_name}/{_shared_name(model_variable)}")
        found = self._layout_of(model_variable)
        if found is not None and value.shape == tuple(model_variable.shape):
            layout, k = found
            layout.add_slot(variable_name, k, variable)
        index = self._index_dict.get(self._var_key(model_variable))
        if index is not None:
            self._slot_table.setdefault(index, {}).setdefault(variable_name, variable)
        self._variables.append(variable)
        return variable

    def _layout_of(self, variable: Any) -> Optional[Tuple[_FlatLayout, int]]:
        for layout in self._layouts:
            k = layout.position.get(id(variable))
            if k is not None:
                return layout, k
        return None

    def _slot(self, slots: List[Variable], variable: Any) -> Variable:
        return slots[self._index_dict[self._var_key(variable)]]

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list: Optional[Sequence[Any]] = None,
                                  var_names: Optional[Sequence[str]] = None) -> None:
        """Exclude variables (or names matching any regex in `var_names`) from weight decay; before `build`."""
        if self._built:
            raise ValueError("`exclude_from_weight_decay()` can only be configued before the optimizer is built.")
        self._exclude_from_weight_decay_vars = list(var_list or [])
        self._exclude_from_weight_decay = [self._var_key(v) for v in self._exclude_from_weight_decay_vars]
        self._exclude_from_weight_decay_names = list(var_names or [])

    def _use_weight_decay(self, variable: Any) -> bool:
        if self._var_key(variable) in getattr(self, "_exclude_from_weight_decay", []):
            return False
        name = getattr(variable, "name", None) or ""
        return not any(re.search(p, name) is not None for p in getattr(self, "_exclude_from_weight_decay_names", []))

    def _decay_weights(self, w: np.ndarray, work: np.ndarray) -> None:
        """`w -= w * weight_decay * lr` in place (tf_keras's order of operations)."""
        dtype = w.dtype
        np.multiply(w, np.asarray(self.weight_decay, dtype=dtype), out=work)
        work *= self._lr(dtype)
        w -= work

    # ------------------------------------------------------------------ clipping
    def _clip_gradients(self, flats: List[Tuple[_FlatLayout, np.ndarray]], singles: List[np.ndarray]) -> None:
        """Clip in place: `clipnorm` per variable (segment sums on the flat buffers), else `global_clipnorm` over
        all gradients, else `clipvalue`."""
        if self.clipnorm and self.clipnorm > 0:
            _clip_each_by_norm(flats, singles, self.clipnorm)
        elif self.global_clipnorm and self.global_clipnorm > 0:
            _clip_all_by_global_norm(flats, singles, self.global_clipnorm)
        elif self.clipvalue and self.clipvalue > 0:
            _clip_by_value(flats, singles, self.clipvalue)

    # ------------------------------------------------------------------ applying gradients
    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Any, Any]], name: Optional[str] = None,
                        skip_gradients_aggregation: bool = False, **kwargs: Any) -> Variable:
        """Apply `(gradient, variable)` pairs; returns the `iterations` Variable.

        Gradients may be numpy arrays or Tensors (cast to the variable's dtype); None gradients are skipped.
        Variables are updated in place (`variable.data`): when every variable of a flat buffer has a gradient, the
        whole buffer is updated at once, otherwise variable by variable (same arithmetic).
        """
        kwargs.pop("experimental_aggregate_gradients", None)
        if kwargs:
            raise TypeError(f"apply_gradients() got unexpected keyword arguments: {sorted(kwargs)}")
        self._compute_current_learning_rate()
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("`grads_and_vars` must be a list of (gradient, variable) pairs. "
                                f"Received: {pair!r}")
        variables = [v for _, v in pairs]
        for v in variables:
            if not isinstance(v, Tensor):
                raise TypeError(f"Expected a minikeras Variable to update. Received: {type(v).__name__} {v!r}")
        if not self._built:
            self._scope = name or self.name or "optimizer"
            try:
                self.build(variables)
            finally:
                self._scope = None
        filtered = [(g, v) for g, v in pairs if g is not None]
        if not filtered:
            raise ValueError(f"No gradients provided for any variable: ({[v.name for v in variables]},). "
                             f"Provided `grads_and_vars` is {tuple(pairs)}.")
        if len(filtered) < len(pairs):
            warnings.warn("Gradients do not exist for variables "
                          f"{[v.name for g, v in pairs if g is None]} when minimizing the loss. If you're using "
                          "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=2)
        grads = []
        for g, v in filtered:
            arr = _as_array(g)
            if arr.shape != v.shape:
                raise ValueError(f"Gradient of shape {arr.shape} does not match variable '{v.name}' of shape "
                                 f"{v.shape}. Received: gradient.shape={arr.shape}")
            grads.append(arr)
        variables = [v for _, v in filtered]
        for v in variables:
            if self._var_key(v) not in self._index_dict:
                raise KeyError(f"The optimizer cannot recognize variable {v.name}. This usually means you are trying "
                               "to call the optimizer to update different parts of the model separately. Please call "
                               "`optimizer.build(variables)` with the full list of trainable variables before the "
                               "training loop or use legacy optimizer "
                               f"`minikeras.optimizers.legacy.{type(self).__name__}`.")
        flats, single_pairs = self._plan(grads, variables)
        singles = [np.array(g, dtype=v.dtype) for g, v in single_pairs]  # a copy: clipping works in place
        single_vars = [v for _, v in single_pairs]
        self._clip_gradients(flats, singles)
        self._prepare_step()
        coefficients: Dict[Any, Dict[str, Any]] = {}

        def coeffs(dtype: Any) -> Dict[str, Any]:
            if dtype not in coefficients:
                coefficients[dtype] = self._coefficients(np.dtype(dtype))
            return coefficients[dtype]

        if self.weight_decay is not None:
            for layout, _ in flats:
                self._decay_layout(layout)
            for v in single_vars:
                if self._use_weight_decay(v):
                    self._decay_weights(v.data, np.empty_like(v.data))
        for layout, g in flats:
            layout.update(self._update_flat, g, coeffs(layout.dtype))
        custom = type(self).update_step is not Optimizer.update_step
        for g, v in zip(singles, single_vars):
            if custom:
                self.update_step(g, v)
            else:
                self._update_variable(g, v, coeffs(v.dtype))
        if self.use_ema:
            self._update_model_variables_moving_average(flats, single_vars)
            if self.ema_overwrite_frequency and (int(self._iterations.data) + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_model_variables_with_average_value(variables)
        self._iterations.data[...] += 1
        for v in variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.data[...] = np.asarray(_as_array(constraint(v.data)), dtype=v.dtype)
        return self._iterations

    def _plan(self, grads: List[np.ndarray], variables: List[Any]
              ) -> Tuple[List[Tuple[_FlatLayout, np.ndarray]], List[Tuple[np.ndarray, Any]]]:
        """Split the update into whole flat buffers and single variables (all single for a custom `update_step`)."""
        if type(self).update_step is not Optimizer.update_step:
            return [], list(zip(grads, variables))
        # NOTE: clipping needs the gradients in the flat buffer (segment sums); the update alone does not
        clips = any(v is not None and v > 0 for v in (self.clipnorm, self.global_clipnorm, self.clipvalue))
        return _plan_flat(self._layouts, grads, variables, gather=clips)

    def _decay_layout(self, layout: _FlatLayout) -> None:
        decayed = [self._use_weight_decay(v) for v in layout.variables]
        if all(decayed):
            self._decay_weights(layout.weights, layout.work(0))
            return
        for k, use in enumerate(decayed):
            if use:
                view = layout.views[k]
                self._decay_weights(view, np.empty_like(view))

    def _prepare_step(self) -> None:
        """Once per step, before the updates (Nadam moves its momentum cache here)."""

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        """The step's scalars in `dtype` (computed once per step and dtype)."""
        return {"lr": self._lr(dtype)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:  # pragma: no cover - abstract
        """The update rule on arrays, in place: `variable` and each `slots[kind]` are one variable's arrays or a
        whole flat buffer; `work(i)` gives scratch arrays of the same size."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step(gradient, variable)`.")

    def _update_variable(self, gradient: np.ndarray, variable: Any, c: Dict[str, Any]) -> None:
        index = self._index_dict[self._var_key(variable)]
        slots = {kind: s.data for kind, s in self._slot_table.get(index, {}).items()}
        scratch: List[np.ndarray] = []

        def work(i: int) -> np.ndarray:
            while len(scratch) <= i:
                scratch.append(np.empty_like(variable.data))
            return scratch[i]

        self._update_flat(gradient, variable.data, slots, c, work)

    def update_step(self, gradient: np.ndarray, variable: Any) -> None:
        """Update one variable from its (clipped) gradient, in place (what `apply_gradients` runs per variable).

        Custom optimizers override this; the built-in ones update whole flat buffers instead.
        """
        self._update_variable(np.asarray(_as_array(gradient), dtype=variable.dtype), variable,
                              self._coefficients(variable.dtype))

    def step(self, variables: Iterable[Any]) -> Variable:
        """Apply each variable's accumulated `.grad` (a PyTorch-style convenience over `apply_gradients`)."""
        variables = list(variables)
        return self.apply_gradients([(v.grad, v) for v in variables])

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> None:
        """Minimize `loss` (a Tensor, or a callable returning one) over `var_list` (or a callable giving it)."""
        if callable(loss) and not isinstance(loss, Tensor):
            loss = loss()
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        for v in var_list:
            v.grad = None
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            raise ValueError("`minimize` needs a loss Tensor that depends on the variables (computed with gradients "
                             f"recorded). Received: loss={loss!r}")
        loss.backward()
        self.apply_gradients([(v.grad, v) for v in var_list])

    # ------------------------------------------------------------------ EMA
    def _update_model_variables_moving_average(self, flats: List[Tuple[_FlatLayout, np.ndarray]],
                                               single_vars: Sequence[Any]) -> None:
        m = self.ema_momentum
        for layout, _ in flats:
            average, w = layout.slots["average"], layout.weights
            t = layout.dtype.type
            average *= t(m)
            average += t(1 - m) * w
        for var in single_vars:
            average = self._slot(self._model_variables_moving_average, var)
            average.data[...] = np.asarray(m, var.dtype) * average.data + np.asarray(1 - m, var.dtype) * var.data

    def _overwrite_model_variables_with_average_value(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            var.data[...] = self._slot(self._model_variables_moving_average, var).data

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        """With `use_ema`, copy the moving averages into the variables (fit does this at the end of training)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    # ------------------------------------------------------------------ config
    def _serialize_hyperparameter(self, hyperparameter: Any) -> Any:
        if hyperparameter is self._learning_rate and self._decay_as_schedule():
            # NOTE: Keras 2's `decay` is the schedule InverseTimeDecay(lr, decay_steps=1, decay_rate=decay), which
            # tf_keras 2.11+ and Keras 3 read; both refuse a `decay` key (tf_keras: "decay is deprecated in the new
            # Keras optimizer"). Reloaded, the rate is lr / (1 + decay * t) where Keras 2 computed
            # lr * (1 / (1 + decay * t)): the same up to the last bit of float32.
            rate = float(np.asarray(self._learning_rate.data, dtype=np.float32))
            return learning_rate_schedule.serialize(learning_rate_schedule.InverseTimeDecay(
                rate, decay_steps=1, decay_rate=float(self.decay.data)))
        if isinstance(hyperparameter, learning_rate_schedule.LearningRateSchedule):
            return learning_rate_schedule.serialize(hyperparameter)
        if isinstance(hyperparameter, Tensor):
            # tf_keras returns the float32 numpy value: 0.001 is written 0.0010000000474974513
            return float(hyperparameter.data)
        if callable(hyperparameter):
            return hyperparameter()
        return hyperparameter

    def _decay_as_schedule(self) -> bool:
        """Whether Keras 2's `decay` is written as an InverseTimeDecay learning rate (a plain rate and a decay)."""
        return self._initial_decay > 0 and not isinstance(self._learning_rate,
                                                          learning_rate_schedule.LearningRateSchedule)

    def get_config(self) -> Dict[str, Any]:
        """tf_keras's keys: name, weight_decay, clipnorm, global_clipnorm, clipvalue, use_ema, ema_momentum,
        ema_overwrite_frequency, jit_compile, is_legacy_optimizer, then the subclass's (learning_rate, ...).
        A Keras 2 `decay` other than 0 is written as the learning rate schedule it is (`InverseTimeDecay` with
        `decay_steps=1`), which tf_keras 2.11+ and Keras 3 read; on top of a schedule it can only be kept as
        `"decay"`, a key only minikeras reads."""
        config = {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                  "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "jit_compile": self.jit_compile, "is_legacy_optimizer": False}
        if self._initial_decay > 0 and not self._decay_as_schedule():
            config["decay"] = float(self.decay.data)
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = learning_rate_schedule.deserialize(config["learning_rate"],
                                                                         custom_objects=custom_objects)
        if "decay" in config:
            with warnings.catch_warnings():  # the file already says so; warned once at the user's own call
                warnings.simplefilter("ignore", DeprecationWarning)
                return cls(**config)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={int(self._iterations.data)}>"


class CallableList(list):
    """A list that also answers `opt.variables()` (tf_keras's shim for the Keras 2 method)."""

    def __call__(self) -> "CallableList":
        return self


def _plan_flat(layouts: List[_FlatLayout], grads: List[np.ndarray], variables: List[Any], gather: bool = True
               ) -> Tuple[List[Tuple[_FlatLayout, Any]], List[Tuple[np.ndarray, Any]]]:
    """Split `(gradient, variable)` pairs into whole flat buffers (every variable of the buffer present once, its
    slots complete), with their gradients gathered (or, without `gather`, as the list `_FlatLayout.update` reads
    in place), and the remaining single variables."""
    if not layouts:
        return [], list(zip(grads, variables))
    found: Dict[int, List[Optional[np.ndarray]]] = {}
    rest: List[Tuple[np.ndarray, Any]] = []
    for g, v in zip(grads, variables):
        placed = False
        for li, layout in enumerate(layouts):
            k = layout.position.get(id(v))
            if k is not None:
                parts = found.setdefault(li, [None] * len(layout.variables))
                if parts[k] is None:
                    parts[k] = g
                    placed = True
                break
        if not placed:
            rest.append((g, v))
    flats = []
    for li, parts in found.items():
        layout = layouts[li]
        if all(p is not None for p in parts) and layout.complete_slots():
            layout.rebind()
            # NOTE: read in place only when no gradient lies in the buffers the update writes (a weight passed as
            # its own gradient must be read as it was before the step, as the gathered copy is)
            buffers = [layout.weights] + list(layout.slots.values())
            in_place = not gather and not any(np.may_share_memory(p, b) for p in parts for b in buffers)
            flats.append((layout, parts if in_place else layout.gather(parts)))
        else:
            rest.extend((p, v) for p, v in zip(parts, layout.variables) if p is not None)
    return flats, rest


def _make_layouts(var_list: Sequence[Any]) -> List[_FlatLayout]:
    """One `_FlatLayout` per floating dtype over the distinct `Variable`s of `var_list`, in order."""
    by_dtype: Dict[np.dtype, List[Variable]] = {}
    seen = set()
    for v in var_list:
        if isinstance(v, Variable) and v.data.dtype.kind == "f" and id(v) not in seen:
            seen.add(id(v))
            by_dtype.setdefault(v.data.dtype, []).append(v)
    return [_FlatLayout(dtype, vs) for dtype, vs in by_dtype.items()]


def _clip_each_by_norm(flats: List[Tuple[_FlatLayout, np.ndarray]], singles: List[np.ndarray],
                       clip_norm: float) -> None:
    """`tf.clip_by_norm` of every variable's gradient, in place: per segment on the flat buffers."""
    for layout, g in flats:
        t = layout.dtype.type
        l2sum = layout.segment_sums(g * g)
        with np.errstate(invalid="ignore"):
            l2norm = np.where(l2sum > 0, np.sqrt(np.where(l2sum > 0, l2sum, t(1))), l2sum)
        cn = t(clip_norm)
        g *= cn
        g /= layout.per_element(np.maximum(l2norm, cn))
    for g in singles:
        g[...] = _clip_by_norm(g, clip_norm)


def _clip_all_by_global_norm(flats: List[Tuple[_FlatLayout, np.ndarray]], singles: List[np.ndarray],
                             clip_norm: float) -> None:
    """`tf.clip_by_global_norm` over every gradient, in place."""
    if not flats and not singles:
        return
    dtype = flats[0][0].dtype if flats else singles[0].dtype
    t = dtype.type
    # global_norm = sqrt(2 * sum(l2_loss(g))), l2_loss(g) = sum(g**2) / 2
    halves = [layout.segment_sums(g * g) * t(0.5) for layout, g in flats]
    halves += [np.asarray([(g * g * t(0.5)).sum(dtype=dtype)], dtype=dtype) for g in singles]
    use_norm = np.sqrt(np.concatenate(halves).astype(dtype).sum(dtype=dtype) * t(2.0))
    cn = t(clip_norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = cn * np.minimum(t(1.0) / use_norm, t(1.0) / cn)
        scale = scale + (use_norm - use_norm)  # NaN/inf norms propagate, as TF does
    for g in [g for _, g in flats] + singles:
        g *= scale.astype(g.dtype)


def _clip_by_value(flats: List[Tuple[_FlatLayout, np.ndarray]], singles: List[np.ndarray], clip_value: float) -> None:
    for g in [g for _, g in flats] + singles:
        cv = np.asarray(clip_value, g.dtype)
        np.clip(g, -cv, cv, out=g)


def _clip_by_norm(g: np.ndarray, clip_norm: float) -> np.ndarray:
    """`tf.clip_by_norm`: `g * clip_norm / max(||g||, clip_norm)`, with `||g|| = 0` handled."""
    t = g.dtype.type
    l2sum = (g * g).sum(dtype=g.dtype)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    cn = t(clip_norm)
    return (g * cn) / np.maximum(l2norm, cn)
