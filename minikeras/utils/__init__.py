"""Utilities (Keras 2's `keras.utils`): to_categorical, Progbar, custom objects, seeds, summaries."""
from minikeras.backend import set_random_seed
from minikeras.utils.data_utils import Sequence, get_file
from minikeras.utils.generic_utils import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                                           get_custom_objects, serialize_keras_object, to_snake_case)
from minikeras.utils.layer_utils import count_params, print_summary
from minikeras.utils.np_utils import normalize, to_categorical, to_ordinal
from minikeras.preprocessing.sequence import pad_sequences  # tf.keras also exposes keras.utils.pad_sequences
from minikeras.utils.progbar import Progbar

__all__ = ["set_random_seed", "CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "serialize_keras_object", "to_snake_case", "count_params", "print_summary",
           "normalize", "to_categorical", "to_ordinal", "pad_sequences", "Progbar", "Sequence", "get_file"]
