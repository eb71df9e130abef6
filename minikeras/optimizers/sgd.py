"""SGD with optional momentum and Nesterov momentum (tf_keras 2.21 `keras.optimizers.SGD`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent (with momentum).

    Update rule (tf_keras): `m = -lr * g + momentum * m`, then `var += m`, or with `nesterov=True`
    `var += -lr * g + momentum * m` (the new `m`). The `m` slot exists even when `momentum` is 0.

    Args:
        learning_rate: float or `LearningRateSchedule` (default 0.01).
        momentum: float in [0, 1] (default 0.0).
        nesterov: use Nesterov momentum (default False).
        **kwargs: the base `Optimizer` arguments (`clipnorm`, `weight_decay`, `name`, ...).

    >>> import numpy as np
    >>> from minikeras.autograd import Variable
    >>> v = Variable(np.array([1.0], "float32"))
    >>> _ = SGD(0.1).apply_gradients([(np.array([2.0], "float32"), v)])
    >>> v.data
    array([0.8], dtype=float32)
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 jit_compile: bool = True, name: str = "SGD", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum}")

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self.momentums = [self.add_variable_from_reference(model_variable=var, variable_name="m") for var in var_list]
        self._built = True

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        return {"lr": self._lr(dtype), "momentum": np.asarray(self.momentum, dtype=dtype)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        m, step, carried = slots["m"], work(0), work(1)
        np.multiply(gradient, -c["lr"], out=step)  # -g * lr
        np.multiply(m, c["momentum"], out=carried)
        np.add(step, carried, out=m)  # m = -g * lr + m * momentum
        if self.nesterov:
            np.multiply(m, c["momentum"], out=carried)
            carried += step
            variable += carried
        else:
            variable += m

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "momentum": self.momentum, "nesterov": self.nesterov})
        return config
