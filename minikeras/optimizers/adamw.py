"""AdamW: Adam with decoupled weight decay (tf_keras 2.21 `keras.optimizers.AdamW`)."""
from __future__ import annotations

from typing import Any, Dict

from minikeras.optimizers.adam import Adam
from minikeras.optimizers.optimizer import Optimizer


class AdamW(Adam):
    """Adam whose variables also decay: `var -= var * weight_decay * lr` before each Adam step (the base
    optimizer's weight decay), `weight_decay` 0.004 by default and required.

    Same update and slots as `Adam` (no `adaptive_epsilon`).
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Any = None, jit_compile: bool = True, name: str = "AdamW", **kwargs: Any):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
                         use_ema=use_ema, ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, name=name, **kwargs)
        self.weight_decay = weight_decay
        if self.weight_decay is None:
            raise ValueError("Missing value of `weight_decay` which is required and must be a float value.")

    def get_config(self) -> Dict[str, Any]:
        config = Optimizer.get_config(self)
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "weight_decay": self.weight_decay, "beta_1": self.beta_1, "beta_2": self.beta_2,
                       "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config
