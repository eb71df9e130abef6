"""LSTM, GRU, SimpleRNN and their cells (Keras 2's `keras.layers.recurrent`)."""
__all__: list = []
