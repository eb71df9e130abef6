"""Preprocessing (`Tokenizer`, `pad_sequences`, ...) and `np_utils` (`to_categorical`, ...): every case that real
Keras 2 (tf_keras 2.21) ran in `tests/fixtures/keras2/preprocessing/cases.json` replayed through minikeras and
compared exactly (values, dtypes, shapes, vocabulary order, `to_json()`), then error messages (C8) and docstrings."""
from __future__ import annotations

import collections
import doctest
import json
import random
import sys
import warnings

import numpy as np
import pytest

from helpers import FIXTURES, load_json

sys.path.insert(0, str(FIXTURES))
import keras2_preprocessing_cases as fixture_cases  # noqa: E402  (numpy-only: encoders, analyzers, deviations)

import minikeras.preprocessing  # noqa: E402
from minikeras.preprocessing import sequence, text  # noqa: E402
from minikeras.preprocessing.sequence import (TimeseriesGenerator, make_sampling_table, pad_sequences,  # noqa: E402
                                              skipgrams)
from minikeras.preprocessing.text import (Tokenizer, hashing_trick, one_hot, text_to_word_sequence,  # noqa: E402
                                          tokenizer_from_json)
from minikeras.utils import np_utils  # noqa: E402
from minikeras.utils.np_utils import normalize, to_categorical, to_ordinal  # noqa: E402

decode = fixture_cases.decode
CASES_FILE = FIXTURES / "keras2" / "preprocessing" / "cases.json"
DOC = load_json(CASES_FILE)
CASES = DOC["cases"]
FUNCTIONS = {"text_to_word_sequence": text_to_word_sequence, "hashing_trick": hashing_trick,
             "pad_sequences": pad_sequences, "to_categorical": to_categorical, "to_ordinal": to_ordinal,
             "normalize": normalize, "make_sampling_table": make_sampling_table, "skipgrams": skipgrams}
# Keras errors whose message minikeras rewords instead of containing verbatim (the exception type is the same).
REWORDED = {
    "tokenizer_invalid_mode": "Keras's message is the tuple repr \"('Unknown vectorization mode:', 'bogus')\"",
    "tokenizer_unknown_kwarg": "minikeras names the class: 'Unrecognized keyword arguments passed to Tokenizer'",
    "to_categorical_empty_no_num_classes": "Keras's is numpy's 'zero-size array to reduction operation maximum'",
}


def by_kind(kind):
    cases = [c for c in CASES if c["kind"] == kind]
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


# ************* comparison helpers *************

def assert_same(mine, expected, where="result"):
    """`mine` (a live minikeras value) equals `expected` (Keras's value, JSON-encoded): dtype, shape, every element."""
    if isinstance(expected, dict) and "__ndarray__" in expected:
        want = decode(expected)
        assert isinstance(mine, np.ndarray), f"{where}: expected a numpy array, got {type(mine).__name__}"
        assert mine.dtype == want.dtype, f"{where}: dtype mismatch: minikeras={mine.dtype} | keras={want.dtype}"
        assert mine.shape == want.shape, f"{where}: shape mismatch: minikeras={mine.shape} | keras={want.shape}"
        if want.dtype.kind == "f":
            np.testing.assert_array_equal(mine, want, err_msg=where)  # exact; NaNs compare equal here
        else:
            assert mine.tolist() == want.tolist(), f"{where}: minikeras={mine.tolist()} | keras={want.tolist()}"
        return
    if isinstance(expected, dict) and "__tuple__" in expected:
        assert isinstance(mine, tuple), f"{where}: expected a tuple, got {type(mine).__name__}"
        assert_same(list(mine), expected["__tuple__"], where)
        return
    if isinstance(expected, list):
        assert isinstance(mine, list), f"{where}: expected a list, got {type(mine).__name__}"
        assert len(mine) == len(expected), f"{where}: length mismatch: minikeras={len(mine)} | keras={len(expected)}"
        for i, (m, e) in enumerate(zip(mine, expected)):
            assert_same(m, e, f"{where}[{i}]")
        return
    if isinstance(expected, dict):
        assert isinstance(mine, dict) and list(mine) == list(expected), f"{where}: keys differ"
        for k in expected:
            assert_same(mine[k], expected[k], f"{where}[{k!r}]")
        return
    encoded = fixture_cases.encode(mine)
    assert type(encoded) is type(expected) and encoded == expected, \
        f"{where}: minikeras={mine!r} ({type(mine).__name__}) | keras={expected!r}"


def assert_same_error(exc_info, expected, name):
    assert exc_info.type.__name__ == expected["type"], \
        f"{name}: minikeras raised {exc_info.type.__name__}, Keras raised {expected['type']}"
    if name not in REWORDED:
        assert expected["message"] in str(exc_info.value), \
            f"{name}: Keras's message {expected['message']!r} is not in minikeras's {str(exc_info.value)!r}"


def assert_same_config(mine: dict, keras: dict):
    """`Tokenizer.get_config()`: same keys in the same order, same values; `word_docs`/`index_docs` (JSON strings
    in the order of Keras's `set()` iteration, which follows the salted string hash) compared as dicts."""
    assert list(mine) == list(keras)
    for key, want in keras.items():
        if key in ("word_docs", "index_docs"):
            assert json.loads(mine[key]) == json.loads(want), key
        else:
            assert mine[key] == want, f"{key}: minikeras={mine[key]!r} | keras={want!r}"


def assert_same_json(mine: str, keras: str):
    mine_doc, keras_doc = json.loads(mine), json.loads(keras)
    assert list(mine_doc) == list(keras_doc) == ["class_name", "config"]
    assert mine_doc["class_name"] == keras_doc["class_name"] == "Tokenizer"
    assert_same_config(mine_doc["config"], keras_doc["config"])


def run_steps(tok, case):
    """Replays the steps; returns False when the case is a deliberate deviation (checked here instead)."""
    deviation = case.get("minikeras")
    for n, step in enumerate(case["steps"]):
        call = lambda: getattr(tok, step["method"])(*decode(step["args"]), **decode(step["kwargs"]))  # noqa: E731
        where = f"{case['name']} step {n} {step['method']}"
        if deviation and n == len(case["steps"]) - 1:
            if "error" in deviation:
                with pytest.raises(Exception) as info:
                    call()
                assert info.type.__name__ == deviation["error"], f"{where}: {info.type.__name__}: {info.value}"
                assert "Received" in str(info.value) or "Expected" in str(info.value) or "expected" in str(info.value)
            else:
                assert_same(call(), deviation["result"], where)
            return False
        if "error" in step:
            with pytest.raises(Exception) as info:
                call()
            assert_same_error(info, step["error"], case["name"])
        else:
            assert_same(call(), step["result"], where)
    return True


# ************* replay of the Keras cases *************

def test_fixture_file_is_complete():
    assert DOC["keras_version"] == "2.21.0" and len(CASES) >= 150
    kinds = collections.Counter(c["kind"] for c in CASES)
    assert kinds["Tokenizer"] >= 30 and kinds["function"] >= 100 and kinds["TimeseriesGenerator"] >= 5
    functions = collections.Counter(c["function"] for c in CASES if c["kind"] == "function")
    assert functions["pad_sequences"] >= 40 and functions["to_categorical"] >= 20
    assert {c["name"] for c in CASES if "deviation" in c} == set(fixture_cases.DEVIATIONS)


@by_kind("Tokenizer")
def test_tokenizer_matches_keras(case):
    init = decode(case["init"])
    if "init_error" in case:
        with pytest.raises(Exception) as info:
            Tokenizer(**init)
        assert_same_error(info, case["init_error"], case["name"])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy `nb_words` warning
        tok = Tokenizer(**init)
    if not run_steps(tok, case):
        return
    mine = fixture_cases.tokenizer_state(tok)
    for key, want in case["state"].items():
        assert_same(mine[key], want, f"{case['name']} {key}")
    assert isinstance(tok.word_counts, collections.OrderedDict)
    assert_same_config(tok.get_config(), case["get_config"])
    assert tok.to_json() == json.dumps({"class_name": "Tokenizer", "config": tok.get_config()})
    assert_same_json(tok.to_json(), case["to_json"])


@by_kind("tokenizer_from_json")
def test_tokenizer_from_keras_json(case):
    """A tokenizer Keras saved loads here and behaves as Keras's own reload does, and saves the same JSON back."""
    tok = tokenizer_from_json(case["json"])
    assert run_steps(tok, case)
    assert_same_config(tok.get_config(), case["get_config"])
    assert_same_json(tok.to_json(), case["to_json"])
    assert_same_json(tok.to_json(), case["json"])


@by_kind("function")
def test_function_matches_keras(case):
    fn = FUNCTIONS[case["function"]]
    args, kwargs = decode(case["args"]), decode(case["kwargs"])
    random.seed(case["random_seed"])  # skipgrams draws from Python's `random`, as Keras does
    deviation = case.get("minikeras")
    if deviation and "error" in deviation:
        with pytest.raises(Exception) as info:
            fn(*args, **kwargs)
        assert info.type.__name__ == deviation["error"], f"{info.type.__name__}: {info.value}"
        assert "Received" in str(info.value)
    elif deviation:
        assert_same(fn(*args, **kwargs), deviation["result"], case["name"])
    elif "error" in case:
        with pytest.raises(Exception) as info:
            fn(*args, **kwargs)
        assert_same_error(info, case["error"], case["name"])
    else:
        assert_same(fn(*args, **kwargs), case["result"], case["name"])


@by_kind("TimeseriesGenerator")
def test_timeseries_generator_matches_keras(case):
    data, targets, kwargs = decode(case["data"]), decode(case["targets"]), decode(case["kwargs"])
    if "error" in case:
        with pytest.raises(Exception) as info:
            TimeseriesGenerator(data, targets, **kwargs)
        assert_same_error(info, case["error"], case["name"])
        return
    gen = TimeseriesGenerator(data, targets, **kwargs)
    want = case["result"]
    assert len(gen) == want["len"]
    for i, batch in enumerate(want["batches"]):
        assert_same(gen[i], batch, f"{case['name']} batch {i}")
    assert_same(next(iter(gen)), want["batches"][0], "iter")
    assert gen.get_config() == want["config"]


# ************* behaviours the table does not show *************

def test_package_layout_and_keras_paths():
    assert minikeras.preprocessing.text is text and minikeras.preprocessing.sequence is sequence
    assert text.__all__ == ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]
    assert sequence.__all__ == ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]
    assert np_utils.__all__ == ["normalize", "to_categorical", "to_ordinal"]


@pytest.mark.parametrize("module", [text, sequence, np_utils], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
    public = [getattr(module, name) for name in module.__all__]
    assert all(">>>" in (obj.__doc__ or "") for obj in public), "every public function/class has an example"


def test_tokenizer_ranking_rules():
    tok = Tokenizer(oov_token="<OOV>", num_words=4)
    tok.fit_on_texts(["b a c", "c a d", "e"])
    # counts b=1 a=2 c=2 d=1 e=1: descending count, ties in order of first appearance, OOV first
    assert list(tok.word_index) == ["<OOV>", "a", "c", "b", "d", "e"]
    assert tok.texts_to_sequences(["a c b z"]) == [[2, 3, 1, 1]]  # b (index 4) is past num_words -> OOV
    assert tok.sequences_to_texts([[2, 4, 0, 99]]) == ["a <OOV> <OOV> <OOV>"]
    # word_docs / index_docs in order of first appearance, so to_json is reproducible across processes
    assert list(tok.word_docs) == ["b", "a", "c", "d", "e"]
    assert list(json.loads(tok.get_config()["index_docs"])) == ["4", "2", "3", "5", "6"]


def test_tokenizer_char_level_ignores_filters():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["a.b a"])
    assert set(tok.word_index) == {"a", ".", "b", " "}


def test_tokenizer_generator_input_and_lazy_sequences():
    tok = Tokenizer()
    tok.fit_on_texts(t for t in ["x y", "y"])
    assert tok.document_count == 2 and tok.word_index == {"y": 1, "x": 2}
    gen = tok.texts_to_sequences_generator(iter(["x", "y x"]))
    assert next(gen) == [2] and next(gen) == [1, 2]


def test_tokenizer_from_json_can_keep_fitting():
    tok = Tokenizer()
    tok.fit_on_texts(["a b"])
    restored = tokenizer_from_json(tok.to_json())
    restored.fit_on_texts(["c c b"])  # Keras's restored plain dicts raise KeyError here
    restored.fit_on_sequences([[9]])
    fresh = Tokenizer()
    fresh.fit_on_texts(["a b", "c c b"])
    assert restored.word_index == fresh.word_index
    assert dict(restored.word_docs) == dict(fresh.word_docs)
    assert restored.index_docs[9] == 1


def test_hashing_trick_md5_is_stable_and_one_hot_uses_hash():
    words = text_to_word_sequence("The cat sat")
    assert hashing_trick("The cat sat", 11, hash_function="md5") == [
        int(__import__("hashlib").md5(w.encode()).hexdigest(), 16) % 10 + 1 for w in words]
    assert one_hot("The cat sat", 11) == [hash(w) % 10 + 1 for w in words]
    assert hashing_trick("a b", 5, hash_function=len) == [2, 2]


def test_pad_sequences_does_not_modify_input_and_accepts_arrays():
    seqs = [np.array([1, 2, 3]), [4]]
    out = pad_sequences(seqs, maxlen=2, truncating="post", padding="post")
    assert out.tolist() == [[1, 2], [4, 0]] and seqs[0].tolist() == [1, 2, 3]


def test_to_categorical_and_normalize_shapes():
    assert to_categorical(np.zeros((2, 3, 1), dtype=int), 4).shape == (2, 3, 4)
    assert to_categorical(np.zeros((2, 1, 3), dtype=int), 4).shape == (2, 1, 3, 4)
    assert to_categorical(3, 5).shape == (5,)
    assert to_ordinal([[2]], 3).tolist() == [[1.0, 1.0]]
    x = np.array([[0.0, 0.0], [6.0, 8.0]])
    np.testing.assert_allclose(normalize(x), [[0.0, 0.0], [0.6, 0.8]])
    assert x.tolist() == [[0.0, 0.0], [6.0, 8.0]]  # a copy


# ************* errors (C8): what is wrong, what was expected, Received: *************

@pytest.mark.parametrize("bad", [42, 3.5, None, b"bytes", ("a", "b"), np.array(["a", "b"]), {"a": 1}])
@pytest.mark.parametrize("method", ["fit_on_texts", "texts_to_sequences", "texts_to_matrix"])
def test_tokenizer_rejects_non_string_texts(bad, method):
    tok = Tokenizer()
    tok.fit_on_texts(["a b"])
    with pytest.raises(TypeError, match=r"expects each text to be a string, or a list of string tokens.*Received: "
                                        r"text=.* at position 1"):
        getattr(tok, method)(["ok", bad])


@pytest.mark.parametrize("token", [1, None, b"x", ["nested"]])
def test_tokenizer_rejects_non_string_tokens_when_lowering(token):
    with pytest.raises(TypeError, match=r"each token must be a string when lower=True.*Received: token="):
        Tokenizer().fit_on_texts([["a", token]])
    Tokenizer(lower=False).fit_on_texts([["a", 1]])  # as in Keras: any hashable token without lowering


@pytest.mark.parametrize("texts", ["hello world", b"hello", 42, None])
def test_tokenizer_rejects_texts_that_are_not_a_list(texts):
    with pytest.raises(TypeError, match=r"Received: texts="):
        Tokenizer().fit_on_texts(texts)


@pytest.mark.parametrize("num_words", [-1, 2.5, "10", True])
def test_tokenizer_rejects_bad_num_words(num_words):
    with pytest.raises(ValueError, match=r"non-negative integer or None. Received: num_words="):
        Tokenizer(num_words=num_words)


def test_tokenizer_other_errors():
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed to Tokenizer: \{'bogus': 1\}"):
        Tokenizer(bogus=1)
    with pytest.raises(TypeError, match="analyzer"):
        Tokenizer(analyzer="words")
    tok = Tokenizer(num_words=3)
    for mode in ["bogus", "BINARY", None]:
        with pytest.raises(ValueError, match=r"Unknown vectorization mode.*Received: mode="):
            tok.sequences_to_matrix([[1]], mode=mode)
    with pytest.raises(ValueError, match="Received: split=''"):
        Tokenizer(split="").fit_on_texts(["a b"])
    with pytest.raises(ValueError, match="Could not parse the tokenizer JSON.*Received: json_string="):
        tokenizer_from_json('{"class_name": "Tokenizer"}')
    with pytest.raises(TypeError, match="Received: sequence=5 at position 0"):
        tok.sequences_to_texts([5])


@pytest.mark.parametrize("n", [0, 1, 2.5, None])
def test_hashing_trick_rejects_bad_n(n):
    with pytest.raises(ValueError, match=r"integer >= 2.*Received: n="):
        hashing_trick("a b", n)


@pytest.mark.parametrize("arg", ["padding", "truncating"])
@pytest.mark.parametrize("bad", ["middle", "PRE", None, 0])
def test_pad_sequences_rejects_bad_padding_truncating(arg, bad):
    with pytest.raises(ValueError, match=rf"not understood: expected \"pre\" or \"post\". Received: {arg}="):
        pad_sequences([[1, 2], []], maxlen=1, **{arg: bad})


@pytest.mark.parametrize("maxlen", [-1, 2.5, "3", True])
def test_pad_sequences_rejects_bad_maxlen(maxlen):
    with pytest.raises(ValueError, match=r"non-negative integer or None. Received: maxlen="):
        pad_sequences([[1]], maxlen=maxlen)


@pytest.mark.parametrize("sequences", [5, None, (s for s in [[1]]), iter([[1]])])
def test_pad_sequences_rejects_unsized_input(sequences):
    with pytest.raises(ValueError, match=r"must be iterable and sized.*Received: sequences="):
        pad_sequences(sequences)


@pytest.mark.parametrize("item", [2, None, 3.5])
def test_pad_sequences_rejects_non_iterable_items(item):
    with pytest.raises(ValueError, match=r"must be a list of iterables.*at position 1. Received: sequences\[1\]="):
        pad_sequences([[1], item])


def test_pad_sequences_conversion_errors_name_the_sequence():
    with pytest.raises(ValueError, match=r"sequence at position 1 to dtype int32.*dtype=object.*Received: "
                                         r"sequences\[1\]=\['a'\]"):
        pad_sequences([[1], ["a"]])
    with pytest.raises(TypeError, match=r"position 0 to dtype int32"):
        pad_sequences([[None]])
    with pytest.raises(ValueError, match=r"have different shapes.*Received: sequences\[0\]"):
        pad_sequences([[[1, 2], [3]]])
    with pytest.raises(ValueError, match=r"You should set `dtype=object`.*Received: dtype='float32', value='x'"):
        pad_sequences([["a"]], dtype="float32", value="x")


@pytest.mark.parametrize("y, num_classes, fragment", [
    ([0, 3], 3, r"\[0, 3\), but found the label 3.*Received: num_classes=3"),
    ([0, 10, 2], 5, r"found the label 10"),
    ([[1], [-1]], None, r"found the negative label -1"),
    ([-2], 4, r"negative label -2"),
    ([np.nan], 3, r"could not convert `y` to integers.*Received: y=\[nan\]"),
    (np.array([1.0, np.inf]), 3, r"NaN or infinite labels"),
    ([], None, r"cannot infer `num_classes` from an empty `y`"),
])
def test_to_categorical_rejects_labels_out_of_range(y, num_classes, fragment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's nan -> int cast warning
        with pytest.raises(ValueError, match=fragment):
            to_categorical(y, num_classes)
        with pytest.raises(ValueError, match=fragment.replace("to_categorical", "to_ordinal")):
            to_ordinal(y, num_classes)


@pytest.mark.parametrize("num_classes", [-1, 2.5, "3", True])
def test_to_categorical_rejects_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match=r"positive integer or None. Received: num_classes="):
        to_categorical([0, 1], num_classes)


def test_to_categorical_rejects_non_numeric_labels():
    with pytest.raises(ValueError, match=r"expects integer class labels.*Received: y=\['cat', 'dog'\]"):
        to_categorical(["cat", "dog"])
    with pytest.raises(TypeError, match=r"expects integer class labels.*Received: y=\[None\]"):
        to_categorical([None])


def test_sampling_table_and_timeseries_errors():
    for size in [0, -3, 2.5]:
        with pytest.raises(ValueError, match=r"positive integer. Received: size="):
            make_sampling_table(size)
    with pytest.raises(ValueError, match=r"positive integer. Received: length=0"):
        TimeseriesGenerator([1, 2, 3], [1, 2, 3], length=0)
    with pytest.raises(TypeError, match="Data not JSON Serializable.*Received: data="):
        TimeseriesGenerator([object(), 1], [1, 2], length=1).get_config()
