"""Data utilities (Keras 2's `keras.utils.data_utils`): `Sequence`, `get_file`."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from typing import Any, Iterator, Optional


class Sequence:
    """Base object for fitting to a sequence of data, such as a dataset (Keras 2's `keras.utils.Sequence`).

    Every `Sequence` must implement `__getitem__` (one complete batch, as `(x, y)` or `(x, y, sample_weight)`) and
    `__len__` (the number of batches). `on_epoch_end` is called after each epoch of `fit`, so a Sequence can
    reshuffle its data there. Because batches are addressed by index, `fit(shuffle=True)` shuffles the order in
    which batches are requested, and every batch is seen exactly once per epoch.

    Example:

    >>> import numpy as np
    >>> class Batches(Sequence):
    ...     def __init__(self, x, y, batch_size):
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return int(np.ceil(len(self.x) / self.batch_size))
    ...     def __getitem__(self, idx):
    ...         s = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
    ...         return self.x[s], self.y[s]
    >>> seq = Batches(np.zeros((10, 3)), np.zeros((10, 1)), batch_size=4)
    >>> len(seq), seq[2][0].shape
    (3, (2, 3))
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""

    def __iter__(self) -> Iterator[Any]:
        """Yields every batch of the Sequence, in order."""
        for i in range(len(self)):
            yield self[i]


# ************************************************************ get_file (no network: local paths, file:// and the cache)


def _resolve_hasher(algorithm: str, file_hash: Optional[str] = None) -> Any:
    """sha256 for `'sha256'`, or `'auto'` with a 64-character hash; md5 otherwise (Keras's rule)."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def _hash_file(fpath: str, hasher: Any, chunk_size: int = 65535) -> str:
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto", chunk_size: int = 65535) -> bool:
    """Whether the file's sha256 or md5 hash (`algorithm`: `'sha256'`, `'md5'` or `'auto'`) is `file_hash`."""
    return str(_hash_file(fpath, _resolve_hasher(algorithm, file_hash), chunk_size)) == str(file_hash)


def _local_source(origin: str) -> Optional[str]:
    """The local file an origin names (a path or a `file://` URL), or None for a network URL."""
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme == "file":
        return urllib.request.url2pathname(parts.path)
    if not parts.scheme or (len(parts.scheme) == 1 and os.name == "nt"):  # a path (or a Windows drive letter)
        return os.path.expanduser(origin)
    return None


def get_file(fname: Optional[str] = None, origin: Optional[str] = None, untar: bool = False,
             md5_hash: Optional[str] = None, file_hash: Optional[str] = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: str = "auto",
             cache_dir: Optional[str] = None) -> str:
    """Returns the path of a file in Keras's cache, copying it there from a local origin if needed.

    Keras 2's `keras.utils.get_file` without the network: the file is looked up at
    `<cache_dir>/<cache_subdir>/<fname>` (default `~/.keras/datasets/<fname>`, the folder Keras downloads to, so
    files Keras already downloaded are found). When it is absent, or its hash differs from `file_hash`, and `origin`
    is a local path or a `file://` URL, the file is copied from there (atomically) and checked, as Keras re-downloads.
    A network origin is never fetched: minikeras raises `FileNotFoundError` naming the path to put the file at.

    Args:
        fname: name of the file; an absolute path is used as it is. Default: the last part of `origin`.
        origin: where the file comes from: a local path, a `file://` URL, or the URL Keras would download.
        untar, extract, archive_format: archive extraction; not supported (raise `NotImplementedError`).
        md5_hash: deprecated, `file_hash` with `hash_algorithm='md5'`.
        file_hash: expected sha256 or md5 hex digest of the file (optional).
        cache_subdir: subfolder of `cache_dir` (default `'datasets'`).
        hash_algorithm: `'sha256'`, `'md5'` or `'auto'` (sha256 for a 64-character hash).
        cache_dir: cache root (default `~/.keras`; `/tmp/.keras` when that is not writable, as Keras).

    Returns:
        The path of the file.

    >>> import os, tempfile
    >>> src = os.path.join(tempfile.mkdtemp(), "data.txt")
    >>> with open(src, "w") as f:
    ...     _ = f.write("hello")
    >>> path = get_file("data.txt", origin="file://" + src, cache_dir=tempfile.mkdtemp())
    >>> open(path).read(), path.endswith(os.path.join("datasets", "data.txt"))
    ('hello', True)
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if untar or extract:
        raise NotImplementedError("minikeras's `get_file` does not extract archives. Extract the file yourself and "
                                  f"pass the extracted path. Received: untar={untar!r}, extract={extract!r}")
    if cache_dir is None:
        cache_dir = os.path.join(os.path.expanduser("~"), ".keras")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError("Invalid `hash_algorithm`, expected 'auto', 'sha256' or 'md5'. "
                         f"Received: hash_algorithm={hash_algorithm!r}")
    datadir_base = os.path.expanduser(cache_dir)
    if not os.access(datadir_base, os.W_OK) and os.path.exists(datadir_base):
        datadir_base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(datadir_base, cache_subdir)
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. Please specify the "
                             "`fname` as the input param.")
    fpath = os.path.join(datadir, os.path.expanduser(fname))

    if os.path.exists(fpath) and (file_hash is None or validate_file(fpath, file_hash, hash_algorithm)):
        return fpath
    source = _local_source(origin)
    if source is None:
        if os.path.exists(fpath):
            raise ValueError(f"The file at {fpath} does not match the expected {hash_algorithm} hash {file_hash} "
                             f"(incomplete or outdated). minikeras does not download: replace it with the file from "
                             f"{origin}.")
        raise FileNotFoundError(f"No file at {fpath}, and minikeras does not download. Download {origin} and put it "
                                "at that path (or pass a local path or a file:// URL as the origin).")
    if not os.path.isfile(source):
        raise FileNotFoundError(f"No file at {fpath}, and the origin {origin!r} names no local file ({source}).")
    os.makedirs(os.path.dirname(fpath) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(fpath) or ".", prefix=".get_file-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        if file_hash is not None and not validate_file(tmp, file_hash, hash_algorithm):
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not match "
                             f"the provided value of {file_hash}. Received: origin={origin!r}")
        os.replace(tmp, fpath)  # atomic: a reader never sees half a file
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return fpath
