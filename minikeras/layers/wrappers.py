"""TimeDistributed and Bidirectional (Keras 2's `keras.layers.wrappers`)."""
__all__: list = []
