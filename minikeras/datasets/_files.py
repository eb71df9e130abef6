"""Finding a dataset file in Keras's cache and reading `.npz` files without running code from them."""
from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile
from typing import Dict, Optional, Sequence

import numpy as np

from minikeras.utils.data_utils import validate_file

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def dataset_path(path: str, default_name: str, file_hash: str, cache_dir: Optional[str] = None,
                 loader: str = "") -> str:
    """Where `load_data(path=...)` reads: an absolute path as given, else `<cache_dir or ~/.keras>/datasets/<path>`.

    minikeras never downloads, so a missing file raises `FileNotFoundError` naming the path and what to put there.
    A file whose hash differs from Keras's copy (Keras would download it again) is read anyway, with a warning.
    """
    base = os.path.expanduser(cache_dir) if cache_dir else os.path.join(os.path.expanduser("~"), ".keras")
    fpath = os.path.join(base, "datasets", os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(fpath):
        raise FileNotFoundError(
            f"{loader}: no dataset file at {fpath}. minikeras does not download; put Keras's file there "
            f"({ORIGIN_FOLDER}{default_name}, the file `keras.datasets` downloads to ~/.keras/datasets), or pass "
            "`path=` the file's location.")
    if not validate_file(fpath, file_hash):
        warnings.warn(f"{loader}: {fpath} is not byte-identical to Keras's {default_name} (its hash differs from "
                      f"{file_hash}); reading it anyway.", stacklevel=3)
    return fpath


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds numpy object arrays of lists of numbers and nothing else: no other class or function in the file is
    ever looked up, so a file cannot run code (np.load(allow_pickle=True) would run any)."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load `{module}.{name}` from a dataset file: only numpy arrays "
                                         "of numbers and lists are read")
        return super().find_class(module, name)


def load_npz(fpath: str, keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """The arrays `keys` of an `.npz` file; object arrays (lists of word indices) go through `_ArrayUnpickler`."""
    out = {}
    try:
        with zipfile.ZipFile(fpath) as z:
            for key in keys:
                with z.open(key + ".npy") as member:
                    data = io.BytesIO(member.read())
                version = np.lib.format.read_magic(data)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)  # 3.0 differs only in the text encoding
                shape, fortran, dtype = read_header(data)
                if dtype.hasobject:
                    arr = _ArrayUnpickler(data, encoding="ASCII").load()
                else:
                    data.seek(0)
                    arr = np.lib.format.read_array(data, allow_pickle=False)
                out[key] = np.asarray(arr)
    except KeyError as e:
        raise ValueError(f"{fpath} is not the expected dataset file: it has no array {e}. Expected arrays: "
                         f"{list(keys)}") from None
    except (zipfile.BadZipFile, pickle.UnpicklingError, ValueError, EOFError) as e:
        raise ValueError(f"Could not read the dataset file {fpath} ({type(e).__name__}: {e}). Expected Keras's "
                         f".npz file with arrays {list(keys)}") from None
    return out


def remove_long_seq(maxlen: int, seq, label):
    """Keep the sequences strictly shorter than `maxlen` (Keras's `_remove_long_seq`)."""
    new_seq, new_label = [], []
    for x, y in zip(seq, label):
        if len(x) < maxlen:
            new_seq.append(x)
            new_label.append(y)
    return new_seq, new_label
