"""Nadam (tf_keras 2.21 `keras.optimizers.Nadam`)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

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
    `_u_product_counter`, which, like tf_keras, is not part of the saved state.

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
        if getattr(self, "_traced_counter_base", None) is not None:
            # built by the (first) trace: that trace and the retrace each moved the counter once per variable
            self._u_product_counter += 2 * len(var_list)
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(model_variable=var, variable_name="m"))
            self._velocities.append(self.add_variable_from_reference(model_variable=var, variable_name="v"))

    def update_step(self, gradient: np.ndarray, variable: Any) -> None:
        dtype = variable.dtype
        t = dtype.type
        lr = self._lr(dtype)
        iterations = int(self.iterations.data)
        local_step, next_step = t(iterations + 1), t(iterations + 2)
        decay = t(0.96)
        beta_1, beta_2 = t(self.beta_1), t(self.beta_2)
        u_t = beta_1 * (t(1.0) - t(0.5) * np.power(decay, local_step))
        u_t_1 = beta_1 * (t(1.0) - t(0.5) * np.power(decay, next_step))
        traced_base = getattr(self, "_traced_counter_base", None)
        if traced_base is not None:
            # inside tf_keras's traced train function the counter compared with `iterations + 2` is a constant
            # frozen at trace time, one per variable: `base + position` (see `_tf_function_trace`)
            use_cached = traced_base + self._update_position == iterations + 2
        else:
            use_cached = self._u_product_counter == iterations + 2
        if use_cached:
            u_product_t = self._u_product.astype(dtype)
        else:
            u_product_t = (self._u_product * u_t).astype(dtype)
            self._u_product = u_product_t
            if traced_base is None:
                self._u_product_counter += 1
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = np.power(beta_2, local_step)
        m = self._slot(self._momentums, variable)
        v = self._slot(self._velocities, variable)
        # NOTE: here beta_1/beta_2 are float32 already, so (1 - beta_1) is computed in float32 (unlike Adam).
        m.data[...] = m.data + (gradient - m.data) * (t(1) - beta_1)
        v.data[...] = v.data + (np.square(gradient) - v.data) * (t(1) - beta_2)
        m_hat = u_t_1 * m.data / (t(1) - u_product_t_1) + (t(1) - u_t) * gradient / (t(1) - u_product_t)
        v_hat = v.data / (t(1) - beta_2_power)
        variable.data[...] = variable.data - (m_hat * lr) / (np.sqrt(v_hat) + t(self.epsilon))

    def _tf_function_trace(self, var_list: Optional[Sequence[Any]]) -> None:
        """Reproduce tf_keras 2.21's Nadam inside `model.fit`/`train_on_batch` (a traced `tf.function`).

        tf_keras guards the momentum cache with `tf.cond(self._u_product_counter == iterations + 2, cached, new)`
        and increments the Python counter inside `new`. Tracing runs `new` once per variable, so the k-th variable's
        condition is frozen to `counter_at_trace + k`; and when the slots are created during the first trace, TF
        traces twice, so that value is `1 + n_vars + k`. In the traced graph the cache is therefore multiplied by
        `u_t` once per variable and step, except for variable k at step `iterations == counter_at_trace + k - 2`.
        (Checked against real `train_on_batch` and `fit`: tests/fixtures/keras2/optimizers/keras_*_nadam.)
        """
        if var_list is None:
            self._traced_counter_base = None
            return
        n = len(list(var_list))
        if not self._built:
            # the slots are created by the first trace (the counter starts at 1 and moves by n); TF then retraces
            self._traced_counter_base = 1 + n
        else:
            self._traced_counter_base = self._u_product_counter
            self._u_product_counter += n

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "beta_1": self.beta_1,
                       "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
