"""Keras 1 compatibility (Keras 2's `keras.legacy`): the argument converters of `interfaces`."""
