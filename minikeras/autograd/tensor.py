"""`Tensor`: a numpy array with a gradient, and the reverse-mode engine (`backward`, `no_grad`)."""
from __future__ import annotations

import functools
import threading
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from minikeras import backend
from minikeras.autograd.threads import compute_scope

_STATE = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block."""
    return getattr(_STATE, "grad_enabled", True)


class _GradMode:
    """Shared body of `no_grad` / `enable_grad`: a context manager that is also a decorator.

    The previous state is kept on a stack, so one instance can be re-entered, and a decorated function gets a fresh
    instance per call, so recursive or concurrent calls never restore each other's state.
    """

    _enabled = True

    def __init__(self) -> None:
        self._prev: List[bool] = []

    def __enter__(self) -> "_GradMode":
        self._prev.append(is_grad_enabled())
        _STATE.grad_enabled = self._enabled
        return self

    def __exit__(self, *exc: Any) -> None:
        _STATE.grad_enabled = self._prev.pop()

    def __call__(self, func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) under which no graph is recorded.

    Ops run on plain arrays and return Tensors with `requires_grad=False`, so inference pays nothing for autograd.

    >>> from minikeras.autograd import Tensor, no_grad
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    _enabled = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) that turns graph recording back on inside a `no_grad()` block."""

    _enabled = True


ArrayLike = Union["Tensor", np.ndarray, float, int, Sequence]


def _default_dtype(value: Any) -> Optional[str]:
    """Python numbers and lists become floatx; numpy arrays keep their dtype (bool/int stay as they are)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return None
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" or arr.dtype.kind == "O":
        return backend.floatx()
    if arr.dtype.kind in "iu" and not isinstance(value, (bool, np.bool_)):
        # NOTE: `Tensor([1, 2])` is a float tensor, as `tf.constant([1., 2.])` would be in Keras code.
        return backend.floatx()
    return None


class Tensor:
    """A numpy array that records the ops applied to it, so gradients can flow back.

    Args:
        data: array-like. Python numbers and lists become `backend.floatx()` (float32 unless set); numpy arrays
            keep their dtype unless `dtype` is given.
        requires_grad: whether `backward()` should fill `.grad` for this tensor.
        dtype: optional numpy dtype to cast to.
        name: optional name (layers name their weights `"<layer>/<weight>"`).

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.]], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "name", "_keras_mask", "__weakref__")
    __array_priority__ = 100  # numpy defers `ndarray * Tensor` to Tensor.__rmul__

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None,
                 name: Optional[str] = None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None:
            dtype = _default_dtype(data)
        arr = np.asarray(data, dtype=dtype)
        if arr.dtype == object:
            raise TypeError(f"Tensor data must be numeric, expected a numeric array. Received: data of dtype object")
        if requires_grad and arr.dtype.kind not in "fc":
            raise TypeError("Only floating point tensors can require gradients. "
                            f"Received: dtype={arr.dtype}, requires_grad=True")
        self.data = arr
        self.grad: Optional[np.ndarray] = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool) -> "Tensor":
        """Wrap an op's output without copying or re-validating it (the hot path)."""
        t = cls.__new__(cls)
        t.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t.name = None
        return t

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> Tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (not a copy)."""
        return self.data

    def item(self) -> Any:
        return self.data.item()

    def detach(self) -> "Tensor":
        """A Tensor sharing the data, cut from the graph."""
        return Tensor._wrap(self.data, False)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # NOTE: numpy 2 passes copy=True for `np.array(t)`; returning `self.data` then would alias the tensor.
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad else ""
        name = f", name={self.name!r}" if self.name else ""
        return f"Tensor({np.array2string(self.data, separator=', ', prefix='Tensor(')}, dtype={self.dtype}{extra}{name})"

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------------ engine
    def backward(self, grad: Optional[ArrayLike] = None) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf tensor that requires a gradient.

        The graph is sorted topologically once; gradients are always added, never overwritten, and each is checked
        against the shape of the tensor it belongs to.

        Args:
            grad: the gradient of some scalar with respect to `self`. Optional only when `self` has one element.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() called on a tensor that does not require grad: it was computed from "
                               "tensors with requires_grad=False, or inside no_grad().")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError("backward() without a `grad` argument needs a tensor with one element, as the "
                                   "gradient of a scalar. Pass `grad` of the same shape. "
                                   f"Received: shape={self.shape}")
            g = np.ones_like(self.data)
        else:
            g = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if g.shape != self.shape:
                raise ValueError(f"backward() expected `grad` of shape {self.shape}, the shape of the tensor. "
                                 f"Received: grad.shape={g.shape}")
        if self._ctx is None:
            self.grad = g.copy() if self.grad is None else self.grad + g
            return
        with compute_scope():
            self._backprop(g)

    def _backprop(self, g: np.ndarray) -> None:
        """`backward`'s walk: each node's backward in reverse topological order, leaf gradients accumulated."""
        grads = {id(self): g}
        for ctx in _toposort(self._ctx):
            if not ctx.multi_output:
                # NOTE: most ops have one output: no lists to build for it
                out = ctx.outputs[0]()
                out_grad = None if out is None else grads.pop(id(out), None)
                if out_grad is None:
                    continue
                in_grads = ctx.backward(ctx, out_grad)
            else:
                outs = [ref() for ref in ctx.outputs]
                out_grads = [grads.pop(id(o), None) if o is not None else None for o in outs]
                if all(x is None for x in out_grads):
                    continue
                out_grads = [np.zeros(shape, dtype) if gi is None else gi
                             for (shape, dtype), gi in zip(ctx.out_meta, out_grads)]
                in_grads = ctx.backward(ctx, tuple(out_grads))
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for parent, pg in zip(ctx.parents, in_grads):
                if pg is None or not parent.requires_grad:
                    continue
                pdata = parent.data
                if pg.shape != pdata.shape:
                    raise AssertionError(f"{type(ctx).__name__}.backward returned grad of shape {pg.shape} for an "
                                         f"input of shape {pdata.shape}")
                if pg.dtype != pdata.dtype:
                    pg = pg.astype(pdata.dtype)
                if parent._ctx is None:
                    # NOTE: copy on first store: ops may hand the same array to several inputs (Add returns the
                    # incoming grad twice), and an in-place update of one leaf's grad must not change another's.
                    # Ops whose backward returns new arrays only (`Function.fresh_grads`) skip the copy.
                    if parent.grad is None:
                        parent.grad = pg if ctx.fresh_grads else pg.copy()
                    else:
                        parent.grad = parent.grad + pg
                else:
                    key = id(parent)
                    prev = grads.get(key)
                    grads[key] = pg if prev is None else prev + pg

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------ operators
    def __add__(self, other: ArrayLike) -> "Tensor":
        return ops.Add.apply(self, as_tensor(other, like=self))

    def __radd__(self, other: ArrayLike) -> "Tensor":  # other + self
        return ops.Add.apply(as_tensor(other, like=self), self)

    def __sub__(self, other: ArrayLike) -> "Tensor":
        return ops.Sub.apply(self, as_tensor(other, like=self))

    def __rsub__(self, other: ArrayLike) -> "Tensor":  # other - self
        return ops.Sub.apply(as_tensor(other, like=self), self)

    def __mul__(self, other: ArrayLike) -> "Tensor":
        return ops.Mul.apply(self, as_tensor(other, like=self))

    def __rmul__(self, other: ArrayLike) -> "Tensor":
        return ops.Mul.apply(as_tensor(other, like=self), self)

    def __truediv__(self, other: ArrayLike) -> "Tensor":
        return ops.Div.apply(self, as_tensor(other, like=self))

    def __rtruediv__(self, other: ArrayLike) -> "Tensor":  # other / self
        return ops.Div.apply(as_tensor(other, like=self), self)

    def __pow__(self, other: ArrayLike) -> "Tensor":
        return ops.Pow.apply(self, as_tensor(other, like=self))

    def __rpow__(self, other: ArrayLike) -> "Tensor":  # other ** self
        return ops.Pow.apply(as_tensor(other, like=self), self)

    def __matmul__(self, other: ArrayLike) -> "Tensor":
        return ops.MatMul.apply(self, as_tensor(other, like=self))

    def __rmatmul__(self, other: ArrayLike) -> "Tensor":
        return ops.MatMul.apply(as_tensor(other, like=self), self)

    def __neg__(self) -> "Tensor":
        return ops.Neg.apply(self)

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return ops.Abs.apply(self)

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.GetItem.apply(self, index=_plain_index(index))

    # comparisons are not differentiable: they return boolean tensors without a graph
    def __lt__(self, other: ArrayLike) -> "Tensor":
        return Tensor._wrap(self.data < _data(other), False)

    def __le__(self, other: ArrayLike) -> "Tensor":
        return Tensor._wrap(self.data <= _data(other), False)

    def __gt__(self, other: ArrayLike) -> "Tensor":
        return Tensor._wrap(self.data > _data(other), False)

    def __ge__(self, other: ArrayLike) -> "Tensor":
        return Tensor._wrap(self.data >= _data(other), False)

    def eq(self, other: ArrayLike) -> "Tensor":
        """Elementwise `==` (not differentiable). `==` itself stays identity, so Tensors can live in sets/dicts."""
        return Tensor._wrap(self.data == _data(other), False)

    def ne(self, other: ArrayLike) -> "Tensor":
        return Tensor._wrap(self.data != _data(other), False)

    # ------------------------------------------------------------------ methods bound to ops
    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.Min.apply(self, axis=_axis(axis), keepdims=keepdims)

    def exp(self) -> "Tensor":
        return ops.Exp.apply(self)

    def log(self) -> "Tensor":
        return ops.Log.apply(self)

    def sqrt(self) -> "Tensor":
        return ops.Sqrt.apply(self)

    def square(self) -> "Tensor":
        return ops.Square.apply(self)

    def abs(self) -> "Tensor":
        return ops.Abs.apply(self)

    def tanh(self) -> "Tensor":
        return ops.Tanh.apply(self)

    def sigmoid(self) -> "Tensor":
        return ops.Sigmoid.apply(self)

    def relu(self) -> "Tensor":
        return ops.Relu.apply(self)

    def clip(self, min_value: Optional[float], max_value: Optional[float]) -> "Tensor":
        return ops.Clip.apply(self, min_value=min_value, max_value=max_value)

    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=tuple(int(s) for s in shape))

    def transpose(self, *axes: Any) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    def expand_dims(self, axis: int) -> "Tensor":
        return ops.ExpandDims.apply(self, axis=axis)

    def squeeze(self, axis: Any = None) -> "Tensor":
        return ops.Squeeze.apply(self, axis=_axis(axis))

    def flip(self, axis: Any) -> "Tensor":
        return ops.Flip.apply(self, axis=_axis(axis))

    def astype(self, dtype: Any) -> "Tensor":
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    cast = astype


class Variable(Tensor):
    """A Tensor that holds state: a layer weight or an optimizer slot.

    Besides the Tensor fields it carries Keras's variable attributes: `trainable` and an optional `constraint`
    (a callable on arrays, applied by the optimizer after each update, as Keras 2.11+ does). `assign` writes in
    place, so every holder of the variable sees the new value.

    An optimizer moves the variables it trains into one contiguous buffer per dtype (`use_storage`): `.data` then
    is a view of that buffer, and `assign`, `set_weights` and loading (all in place) keep it so. Code that rebinds
    `.data` to a new array detaches the variable; the optimizer notices and moves it back before its next update.

    >>> v = Variable(np.zeros(2, "float32"), name="dense/bias")
    >>> v.assign([1.0, 2.0]).numpy()
    array([1., 2.], dtype=float32)
    """

    __slots__ = ("trainable", "constraint")

    def __init__(self, value: ArrayLike, trainable: bool = True, name: Optional[str] = None,
                 constraint: Any = None, dtype: Any = None):
        super().__init__(value, requires_grad=trainable, dtype=dtype, name=name)
        # NOTE: a variable owns its storage (as tf.Variable does): `assign` writes in place and must never reach
        # the array the caller passed in. Always in C order: an initializer may return a transposed array (the
        # orthogonal one does for a wide recurrent kernel), and `assign` keeps the layout, so a model given its
        # weights by `set_weights` would keep it too, and the recurrent kernels' weight fold is a slow transposing
        # copy from such an array (one-sample `model(x)` of Keras 2's two-LSTM example: 1.35-1.64 ms against 1.00).
        self.data = np.array(self.data, copy=True, order="C")
        self.trainable = bool(trainable)
        self.constraint = constraint

    def assign(self, value: ArrayLike) -> "Variable":
        """Copy `value` into this variable in place (shape must match; dtype is cast to the variable's)."""
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if arr.shape != self.data.shape:
            raise ValueError(f"Cannot assign a value of shape {arr.shape} to variable '{self.name}' of shape "
                             f"{self.data.shape}. Received: value.shape={arr.shape}")
        np.copyto(self.data, arr, casting="unsafe")
        return self

    def use_storage(self, view: np.ndarray) -> "Variable":
        """Copy the value into `view` (an array of the same shape, e.g. a slice of a flat buffer) and keep it there.

        >>> flat = np.zeros(3, "float32")
        >>> v = Variable(np.ones(2, "float32")).use_storage(flat[1:])
        >>> v.assign([5.0, 6.0]) is v, flat
        (True, array([0., 5., 6.], dtype=float32))
        """
        if not isinstance(view, np.ndarray) or view.shape != self.data.shape:
            raise ValueError(f"The storage of variable '{self.name}' must be an array of shape {self.data.shape}. "
                             f"Received: view.shape={getattr(view, 'shape', None)}")
        if view is not self.data:
            np.copyto(view, self.data, casting="unsafe")
            self.data = view
        return self

    def __repr__(self) -> str:
        return f"<Variable name={self.name!r} shape={self.shape} dtype={self.dtype}>"


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _axis(axis: Any) -> Any:
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _plain_index(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def as_tensor(value: ArrayLike, like: Optional[Tensor] = None) -> Tensor:
    """Return `value` as a Tensor.

    Constants (Python numbers, numpy arrays) used next to a floating Tensor take that Tensor's dtype, so a float64
    constant never silently turns float32 training into float64. Tensor-Tensor ops follow numpy promotion.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and like.data.dtype.kind == "f":
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return Tensor._wrap(arr.astype(like.data.dtype, copy=False), False)
    return Tensor(value)


def tensor(data: ArrayLike, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Functional alias of `Tensor(...)`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _toposort(root_ctx: Any) -> List[Any]:
    """Op nodes reachable from `root_ctx`, each after every node that consumes its outputs.

    Iterative DFS (no recursion limit on long unrolled sequences).
    """
    order: List[Any] = []
    visited = set()
    stack: List[Tuple[Any, Iterator[Any]]] = [(root_ctx, iter(root_ctx.parents))]
    visited.add(id(root_ctx))
    while stack:
        node, it = stack[-1]
        for parent in it:
            pctx = parent._ctx
            if pctx is not None and id(pctx) not in visited:
                visited.add(id(pctx))
                stack.append((pctx, iter(pctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


from minikeras.autograd import ops  # noqa: E402  (ops imports this module)
