"""Nadam (tf_keras 2.21 `keras.optimizers.Nadam`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Nadam(Optimizer):
    """Adam with Nesterov momentum and tf_keras 2.11+'s momentum schedule:

        u_t = beta_1 * (1 - 0.5 * 0.96**t),  u_t1 = beta_1 * (1 - 0.5 * 0.96**(t+1))   (t = iterations + 1)
        u_product *= u_t  (once per step: the "momentum cache", kept outside `variables`, starting at 1)
        m += (g - m) * (1 - beta_1);  v += (g**2 - v) * (1 - beta_2)
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        var -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)

    (The legacy Nadam used `0.96 ** (0.004 * t)`; this one uses `0.96 ** t`.) The once-per-step guard is tf_keras's
    `_u_product_counter`, which, like tf_keras, is not part of the saved state (`get_state` does hold it).

    The cache moves once per step everywhere, in `fit` too: that is tf_keras's eager rule and Keras 3's rule.
    tf_keras 2.21's traced `fit`/`train_on_batch` evaluate the guard once, when the step is traced, and so multiply
    the cache once per variable and step; minikeras does not reproduce that.

    Args:
        learning_rate: float or `LearningRateSchedule` (0.001). beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.

    Slots, per variable (interleaved): `m`, `v`.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 jit_compile: bool = True, name: str = "Nadam", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums, self._velocities = [], []
        self._u_product = np.asarray(1.0, dtype=var_list[0].dtype)
        # NOTE: tf_keras keeps a Python counter so that u_product is multiplied once per step, not once per variable.
        self._u_product_counter = 1
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(model_variable=var, variable_name="m"))
            self._velocities.append(self.add_variable_from_reference(model_variable=var, variable_name="v"))

    def _u(self, t: Any, step: int) -> Any:
        """`u_step = beta_1 * (1 - 0.5 * 0.96**step)` in the scalar type `t`."""
        return t(self.beta_1) * (t(1.0) - t(0.5) * np.power(t(0.96), t(step)))

    def _prepare_step(self) -> None:
        # tf_keras (eager) multiplies the cache by u_t at the first variable of a step and reuses it for the others:
        # its guard `_u_product_counter == iterations + 2` holds for every later variable of the same step.
        iterations = int(self.iterations.data)
        if self._u_product_counter != iterations + 2:
            dtype = self._u_product.dtype
            self._u_product = (self._u_product * self._u(dtype.type, iterations + 1)).astype(dtype)
            self._u_product_counter += 1

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        t = dtype.type
        iterations = int(self.iterations.data)
        u_t, u_t_1 = self._u(t, iterations + 1), self._u(t, iterations + 2)
        u_product_t = self._u_product.astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_1, beta_2 = t(self.beta_1), t(self.beta_2)
        # NOTE: here beta_1/beta_2 are float32 already, so (1 - beta_1) is computed in float32 (unlike Adam).
        return {"lr": self._lr(dtype), "u_t_1": u_t_1, "one_minus_u_product_t_1": t(1) - u_product_t_1,
                "one_minus_u_t": t(1) - u_t, "one_minus_u_product_t": t(1) - u_product_t,
                "one_minus_beta_1": t(1) - beta_1, "one_minus_beta_2": t(1) - beta_2,
                "one_minus_beta_2_power": t(1) - np.power(beta_2, t(iterations + 1)), "epsilon": t(self.epsilon)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        m, v, a, b = slots["m"], slots["v"], work(0), work(1)
        np.subtract(gradient, m, out=a)
        a *= c["one_minus_beta_1"]
        m += a
        np.multiply(gradient, gradient, out=a)
        a -= v
        a *= c["one_minus_beta_2"]
        v += a
        np.multiply(m, c["u_t_1"], out=a)
        a /= c["one_minus_u_product_t_1"]
        np.multiply(gradient, c["one_minus_u_t"], out=b)
        b /= c["one_minus_u_product_t"]
        a += b  # m_hat
        np.divide(v, c["one_minus_beta_2_power"], out=b)  # v_hat
        np.sqrt(b, out=b)
        b += c["epsilon"]
        a *= c["lr"]
        a /= b
        variable -= a  # var -= lr * m_hat / (sqrt(v_hat) + epsilon)

    def _get_extra_state(self) -> Dict[str, Any]:
        extra = super()._get_extra_state()
        if self._built:
            extra["u_product"] = (self._u_product.copy(), self._u_product_counter)
        return extra

    def _set_extra_state(self, extra: Dict[str, Any]) -> None:
        super()._set_extra_state(extra)
        if "u_product" in extra:
            self._u_product, self._u_product_counter = extra["u_product"][0].copy(), extra["u_product"][1]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "beta_1": self.beta_1,
                       "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
