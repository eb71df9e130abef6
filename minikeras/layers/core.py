"""Dense, Activation, Dropout, Flatten, Masking, RepeatVector, Reshape (Keras 2's `keras.layers.core`)."""
__all__: list = []
