"""Datasets without a network: imdb/reuters/mnist `load_data` on small files in Keras's format give exactly what
tf_keras 2.21 returned on the same files (tests/fixtures/keras2/datasets), errors name the path, `get_file` serves
local paths, file:// URLs and the cache with hash checks, and nothing in a file runs code."""
from __future__ import annotations

import hashlib
import json
import pathlib
import pickle
import shutil

import numpy as np
import pytest

import minikeras as keras
from minikeras.datasets import imdb, mnist, reuters
from minikeras.utils import get_file

DATA = pathlib.Path(__file__).parent / "fixtures" / "keras2" / "datasets"
EXPECTED = json.loads((DATA / "expected.json").read_text())


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_load_data_matches_tf_keras(key, tmp_path):
    name = key.split("_")[0]
    (tmp_path / "datasets").mkdir()
    shutil.copy(DATA / f"{name}.npz", tmp_path / "datasets" / f"{name}.npz")  # Keras's cache layout
    module = {"imdb": imdb, "reuters": reuters}[name]
    want = EXPECTED[key]
    with pytest.warns(UserWarning, match="not byte-identical to Keras's"):
        (xt, yt), (xs, ys) = module.load_data(cache_dir=str(tmp_path), **want["kwargs"])
    assert [list(x) for x in xt] == want["x_train"] and yt.tolist() == want["y_train"]
    assert [list(x) for x in xs] == want["x_test"] and ys.tolist() == want["y_test"]
    with pytest.warns(UserWarning):  # an absolute path is read where it is
        again = module.load_data(path=str(DATA / f"{name}.npz"), **want["kwargs"])
    assert [list(x) for x in again[0][0]] == want["x_train"]


def test_keras_names_and_errors(tmp_path):
    assert keras.datasets.imdb is imdb
    with pytest.raises(FileNotFoundError, match=r"no dataset file at .*datasets/imdb\.npz.*tf-keras-datasets/imdb"):
        imdb.load_data(cache_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        mnist.load_data(path=str(tmp_path / "mnist.npz"))
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        reuters.load_data(path=str(DATA / "reuters.npz"), nb_word=3)
    with pytest.warns(UserWarning, match="renamed `num_words`"), pytest.warns(UserWarning, match="byte-identical"):
        (xt, _), _ = imdb.load_data(path=str(DATA / "imdb.npz"), nb_words=10)
    assert max(max(x) for x in xt) < 10
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no sequence was kept. Increase maxlen"):
        imdb.load_data(path=str(DATA / "imdb.npz"), maxlen=2)
    assert len(reuters.get_label_names()) == 46


def test_mnist_and_word_index(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28)).astype(np.uint8), "y_train": np.arange(5, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28)).astype(np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.warns(UserWarning):
        (xt, yt), (xs, ys) = mnist.load_data(path=str(tmp_path / "mnist.npz"))
    assert xt.dtype == np.uint8 and xt.shape == (5, 28, 28)
    for got, key in ((xt, "x_train"), (yt, "y_train"), (xs, "x_test"), (ys, "y_test")):
        np.testing.assert_array_equal(got, arrays[key])
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "imdb_word_index.json").write_text(json.dumps({"the": 1, "and": 2}))
    with pytest.warns(UserWarning):
        assert imdb.get_word_index(cache_dir=str(tmp_path)) == {"the": 1, "and": 2}


class _Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_file_cannot_run_code(tmp_path, capsys):
    evil = np.empty(2, dtype=object)
    evil[:] = [[1, 2], _Boom()]
    np.savez(tmp_path / "imdb.npz", x_train=evil, y_train=np.zeros(2), x_test=evil, y_test=np.zeros(2))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="refusing to load `builtins.print`"):
        imdb.load_data(path=str(tmp_path / "imdb.npz"))
    assert "pwned" not in capsys.readouterr().out
    assert pickle.dumps(_Boom())  # the payload itself is a valid pickle


def test_get_file_local_path_file_url_cache_and_hashes(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"minikeras")
    sha = hashlib.sha256(b"minikeras").hexdigest()
    md5 = hashlib.md5(b"minikeras").hexdigest()
    cache = tmp_path / "cache"
    path = get_file("a.bin", origin=str(src), file_hash=sha, cache_dir=str(cache))
    assert pathlib.Path(path) == cache / "datasets" / "a.bin" and pathlib.Path(path).read_bytes() == b"minikeras"
    path = get_file(origin=src.as_uri(), md5_hash=md5, cache_dir=str(cache), cache_subdir="models")
    assert pathlib.Path(path) == cache / "models" / "src.bin"
    # the cache is served without looking at the origin, which here could not be fetched
    assert get_file("a.bin", origin="https://example.invalid/a.bin", file_hash=sha, cache_dir=str(cache)) == \
        str(cache / "datasets" / "a.bin")
    # an outdated cached file is replaced from a local origin, as Keras re-downloads it
    (cache / "datasets" / "a.bin").write_bytes(b"old")
    assert pathlib.Path(get_file("a.bin", origin=str(src), file_hash=sha, cache_dir=str(cache))).read_bytes() == \
        b"minikeras"
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected. The auto file hash does not match"):
        get_file("b.bin", origin=str(src), file_hash="0" * 64, cache_dir=str(cache))
    assert not (cache / "datasets" / "b.bin").exists()
    with pytest.raises(FileNotFoundError, match=r"No file at .*c\.bin.*minikeras does not download. Download "
                                                r"https://example.invalid/c\.bin"):
        get_file("c.bin", origin="https://example.invalid/c.bin", cache_dir=str(cache))
    (cache / "datasets" / "d.bin").write_bytes(b"bad")
    with pytest.raises(ValueError, match="does not match the expected"):
        get_file("d.bin", origin="https://example.invalid/d.bin", file_hash=sha, cache_dir=str(cache))
    with pytest.raises(NotImplementedError, match="does not extract archives"):
        get_file("e.tar.gz", origin=str(src), untar=True, cache_dir=str(cache))
    with pytest.raises(ValueError, match='specify the "origin" argument'):
        get_file("x")
