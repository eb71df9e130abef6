"""minikeras: Keras's Sequential API and recurrent layers on numpy alone, reading and writing real Keras files.

`import minikeras as keras` lets Keras 2 code run unchanged: `keras.models`, `keras.layers`, `keras.optimizers`,
`keras.losses`, `keras.metrics`, `keras.callbacks`, `keras.initializers`, `keras.regularizers`,
`keras.constraints`, `keras.activations`, `keras.backend`, `keras.utils`, `keras.preprocessing`,
`keras.datasets`.
"""
__version__ = "0.1.0"
#: The Keras version minikeras writes into files and JSON: the tf_keras release whose file formats it follows.
__keras_version__ = "2.21.0"

from minikeras import backend
from minikeras import autograd
from minikeras.autograd import Tensor, Variable, no_grad
from minikeras import activations, constraints, initializers, regularizers
from minikeras import losses, metrics, optimizers
from minikeras import layers, models, callbacks, utils, preprocessing, saving, datasets
from minikeras.engine.input_layer import Input
from minikeras.engine.training import Model
from minikeras.models import Sequential, load_model, model_from_json

__all__ = ["__version__", "backend", "autograd", "Tensor", "Variable", "no_grad", "activations", "constraints",
           "initializers", "regularizers", "losses", "metrics", "optimizers", "layers", "models", "callbacks",
           "utils", "preprocessing", "saving", "datasets", "Input", "Model", "Sequential", "load_model",
           "model_from_json"]
