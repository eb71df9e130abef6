"""minikeras: Keras's Sequential API and recurrent layers on numpy alone, reading and writing real Keras files."""
__version__ = "0.1.0"

from minikeras import backend
from minikeras import autograd
from minikeras.autograd import Tensor, no_grad
# (activations, initializers, regularizers, constraints, losses, metrics, optimizers are imported once they land)
from minikeras import layers, models, utils
from minikeras.engine.input_layer import Input
from minikeras.models import Sequential
