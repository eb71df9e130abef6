"""Keras's small datasets (Keras 2's `keras.datasets`): `imdb`, `reuters`, `mnist`, read from the files Keras
caches in `~/.keras/datasets`, without a network."""
from minikeras.datasets import imdb, mnist, reuters

__all__ = ["imdb", "mnist", "reuters"]
