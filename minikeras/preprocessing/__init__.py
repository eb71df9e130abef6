"""Data preprocessing (Keras 2's `keras.preprocessing`): `text` (Tokenizer) and `sequence` (pad_sequences)."""
from minikeras.preprocessing import sequence, text

__all__ = ["sequence", "text"]
