"""Opening HDF5 files safely: the global heap check that keeps a corrupt file from hanging the HDF5 library.

Variable-length data (the string attributes `backend`, `keras_version`, `model_config`, ...) lives in HDF5 "global
heap collections" (signature `GCOL`). The HDF5 C library walks a collection object by object, stepping by each
object's size; an object of size 0 (a zeroed block inside a collection whose signature survived) makes that walk
spin forever in `H5HG__cache_heap_deserialize`, out of reach of Python signals (HDF5 1.14 and 2.0, h5py 3.13 to 3.16;
tf_keras hangs on such files too). Before h5py opens a file, `check_global_heaps` walks every collection the same
way in Python and refuses the file when an object is empty or runs past its collection. It reads the file once with
`mmap` and looks only at collection headers and object headers, so valid files cost little (see
docs/reliability.md for the measured cost).
"""
from __future__ import annotations

import io
import mmap
import os
from typing import Any, Union

import h5py

from minikeras.saving.errors import FileFormatError

#: A single weight larger than this is refused from its declared shape, before anything is read (a hostile file can
#: declare terabytes in a few bytes: HDF5 allocates storage lazily); configs are held to the same bound.
MAX_WEIGHT_BYTES = 1 << 30
_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_GCOL = b"GCOL"
_MIN_COLLECTION = 4096  # H5HG_MINSIZE: HDF5 never writes a smaller collection


def _sizeof_lengths(data: Any) -> int:
    """The superblock's "size of lengths" (8 in every file h5py writes); the superblock sits at 0, 512, 1024, ..."""
    offset = 0
    while offset + 16 <= len(data):
        if data[offset:offset + 8] == _SIGNATURE:
            version = data[offset + 8]
            size = data[offset + 14] if version in (0, 1) else data[offset + 10]
            return size if size in (2, 4, 8, 16) else 8
        offset = 512 if offset == 0 else offset * 2
    return 8


def _check_collection(data: Any, start: int, lengths: int, filepath: Any) -> None:
    """Walk one collection as `H5HG__cache_heap_deserialize` does; raise where it would spin or overrun."""
    size = int.from_bytes(data[start + 8:start + 8 + lengths], "little")
    header = 8 + lengths  # signature, version, 3 reserved bytes, collection size
    object_header = 8 + lengths  # index (2), reference count (2), reserved (4), object size
    if size < _MIN_COLLECTION or start + size > len(data):
        raise FileFormatError(f"Corrupt HDF5 global heap at byte {start}: collection size {size} does not fit the "
                              f"file ({len(data)} bytes)", filepath)
    end = start + size
    p = start + header
    while p < end:
        if p + object_header > end:
            return  # too small for an object header: HDF5 takes it as free space
        index = int.from_bytes(data[p:p + 2], "little")
        obj_size = int.from_bytes(data[p + 8:p + 8 + lengths], "little")
        need = obj_size if index == 0 else object_header + ((obj_size + 7) & ~7)
        if need <= 0 or p + need > end:
            raise FileFormatError(f"Corrupt HDF5 global heap at byte {start}: object {index} at byte {p} has size "
                                  f"{obj_size}, {'empty' if need <= 0 else 'past the end of its collection'} "
                                  "(reading it would hang the HDF5 library)", filepath)
        p += need


def check_global_heaps(data: Any, filepath: Any = None) -> None:
    """Raise `FileFormatError` if a global heap collection in `data` (bytes or mmap of an HDF5 file) would hang HDF5."""
    lengths = _sizeof_lengths(data)
    pos = data.find(_GCOL)
    while pos != -1:
        # NOTE: a collection starts "GCOL", version 1, three zero bytes; other matches are weight bytes, not heaps
        if data[pos + 4:pos + 8] == b"\x01\x00\x00\x00":
            _check_collection(data, pos, lengths, filepath)
        pos = data.find(_GCOL, pos + 4)


def open_h5(source: Union[str, os.PathLike, bytes, Any], filepath: Any = None) -> Any:
    """`h5py.File(source, "r")` after `check_global_heaps`; `source` is a path, a binary file object or the bytes of
    a file.

    h5py's own errors become `FileFormatError` naming `filepath` (default: `source`).
    """
    filepath = source if filepath is None and not isinstance(source, bytes) else filepath
    try:
        if isinstance(source, bytes):
            check_global_heaps(source, filepath)
            return h5py.File(io.BytesIO(source), "r")
        if hasattr(source, "read"):  # a file-like object: check its bytes, then hand it to h5py from the start
            start = source.tell()
            check_global_heaps(source.read(), filepath)
            source.seek(start)
            return h5py.File(source, "r")
        with open(source, "rb") as fh:
            if os.fstat(fh.fileno()).st_size:
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    check_global_heaps(data, filepath)
        return h5py.File(source, "r")
    except FileNotFoundError:
        raise FileFormatError("No such file", filepath) from None
    except FileFormatError:
        raise
    except (OSError, ValueError) as e:
        raise FileFormatError(f"Not a readable HDF5 file ({e.__class__.__name__}: {e})", filepath) from None
