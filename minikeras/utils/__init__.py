"""Utilities (Keras 2's `keras.utils`)."""
from minikeras.utils.generic_utils import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                                           get_custom_objects, serialize_keras_object, to_snake_case)
from minikeras.backend import set_random_seed
