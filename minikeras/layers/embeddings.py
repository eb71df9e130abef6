"""Embedding (Keras 2's `keras.layers.embeddings`)."""
__all__: list = []
