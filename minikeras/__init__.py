"""minikeras: Keras's Sequential API and recurrent layers on numpy alone, reading and writing real Keras files."""
__version__ = "0.1.0"

from minikeras import backend
from minikeras import autograd
from minikeras.autograd import Tensor, no_grad
