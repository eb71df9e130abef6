"""Keras 2's `keras.engine`: the Layer base class and the Model training API."""
