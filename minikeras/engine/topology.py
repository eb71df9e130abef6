"""Keras 2.0-2.2's `keras.engine.topology`, kept by Keras for backwards compatibility: custom layers written for
those versions start with `from keras.engine.topology import Layer`. The classes live in `engine.base_layer`,
`engine.node` and `engine.input_layer`, as in later Keras 2."""
from minikeras.engine.base_layer import InputSpec, Layer
from minikeras.engine.input_layer import Input, InputLayer
from minikeras.engine.node import Node

__all__ = ["Layer", "InputSpec", "Node", "Input", "InputLayer"]
