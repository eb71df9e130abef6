"""Text preprocessing (Keras 2's `keras.preprocessing.text`): `Tokenizer`, `text_to_word_sequence`, `one_hot`,
`hashing_trick`, `tokenizer_from_json`.

Behaviour follows tf_keras 2.21 (`tf_keras/src/preprocessing/text.py`) line for line: word indices by descending
count with ties in order of first appearance, index 0 reserved, `oov_token` at index 1, `num_words` keeping the
indices `< num_words`, and the same `to_json()` format, so a tokenizer saved by Keras loads here and vice versa.
Where Keras crashes with an unrelated error (`AttributeError: 'int' object has no attribute 'lower'`) minikeras raises
a TypeError that says what was expected.
"""
from __future__ import annotations

import collections
import collections.abc
import hashlib
import json
import warnings
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Union

import numpy as np

__all__ = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence", "tokenizer_from_json"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_split(split: Any) -> None:
    if not isinstance(split, str) or not split:
        raise ValueError("Received an invalid value for argument `split`, expected a non-empty string separator. "
                         f"Received: split={split!r}")


def text_to_word_sequence(input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True,
                          split: str = " ") -> List[str]:
    """Converts a text to a sequence of words (or tokens).

    Every character of `filters` is replaced by `split`, the text is split on `split`, and empty strings are
    dropped. The `'` character is not filtered by default, so `"don't"` stays one word.

    Args:
        input_text: input text (string).
        filters: characters to filter out (default: basic punctuation, tabs and newlines, but not `'`).
        lower: whether to convert the input to lowercase (default True).
        split: separator for word splitting (default `" "`).

    Returns:
        A list of words (or tokens).

    >>> text_to_word_sequence('This is a sample sentence.')
    ['this', 'is', 'a', 'sample', 'sentence']
    """
    if not isinstance(input_text, str):
        raise TypeError("`text_to_word_sequence` expects the text as a string. "
                        f"Received: input_text={_short(input_text)} of type {type(input_text).__name__}")
    _check_split(split)
    if lower:
        input_text = input_text.lower()
    translate_map = str.maketrans({c: split for c in filters})
    seq = input_text.translate(translate_map).split(split)
    return [i for i in seq if i]


def _md5(word: str) -> int:
    return int(hashlib.md5(word.encode()).hexdigest(), 16)


def hashing_trick(text: str, n: int, hash_function: Union[None, str, Callable[[str], int]] = None,
                  filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
                  analyzer: Optional[Callable[[str], List[str]]] = None) -> List[int]:
    """Converts a text to a sequence of indexes in a fixed-size hashing space.

    Each word `w` becomes `hash_function(w) % (n - 1) + 1`, an integer in `[1, n - 1]`; 0 is never used. Two
    words may share an index (hash collisions).

    Args:
        text: input text (string).
        n: dimension of the hashing space (an integer >= 2).
        hash_function: `None` (Python's `hash`, default), `'md5'`, or a function from a string to an integer.
            Python salts `hash` of strings per process (`PYTHONHASHSEED`), so `None` gives different indices in
            different runs; `'md5'` (through `hashlib`) is stable.
        filters: characters to filter out (default: basic punctuation, tabs and newlines).
        lower: whether to convert the text to lowercase (default True).
        split: separator for word splitting (default `" "`).
        analyzer: optional function that splits the text into tokens; it replaces `text_to_word_sequence`.

    Returns:
        A list of integer word indices (unicity not guaranteed).

    >>> hashing_trick('The cat sat on the mat.', 10, hash_function='md5')
    [6, 3, 1, 1, 6, 8]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError("Received an invalid value for argument `n`, expected an integer >= 2 (indices are "
                         f"drawn from [1, n - 1]). Received: n={n!r}")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = _md5
    elif not callable(hash_function):
        raise ValueError("Received an invalid value for argument `hash_function`, expected None, 'md5' or a "
                         f"function from a string to an integer. Received: hash_function={hash_function!r}")
    if analyzer is None:
        seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        seq = analyzer(text)
    return [(hash_function(w) % (n - 1) + 1) for w in seq]


def one_hot(input_text: str, n: int, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
            analyzer: Optional[Callable[[str], List[str]]] = None) -> List[int]:
    """One-hot encodes a text into a list of word indexes in `[1, n - 1]`.

    This is `hashing_trick` with Python's `hash`: unicity is not guaranteed, and since Python salts string
    hashes per process, the indices change from one run to the next (use `hashing_trick(..., hash_function='md5')`
    for stable ones).

    Args:
        input_text: input text (string).
        n: size of the vocabulary (hashing space).
        filters: characters to filter out (default: basic punctuation, tabs and newlines).
        lower: whether to convert the text to lowercase (default True).
        split: separator for word splitting (default `" "`).
        analyzer: optional function that splits the text into tokens.

    Returns:
        A list of integers in `[1, n - 1]`, one per word.

    >>> codes = one_hot('the cat and the hat', 50)
    >>> len(codes), codes[0] == codes[3], all(1 <= c < 50 for c in codes)
    (5, True, True)
    """
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower, split=split,
                         analyzer=analyzer)


class Tokenizer:
    """Text tokenization utility class (Keras 2's `keras.preprocessing.text.Tokenizer`).

    Turns each text into a sequence of integers (each integer being the index of a token in a dictionary) or into
    a vector whose coefficient for each token is binary, a count, a frequency or tf-idf.

    By default all punctuation is removed, turning the texts into space-separated sequences of words (words may
    include the `'` character); these are split into tokens and indexed. Index 0 is reserved and never assigned to
    a word. `word_index` ranks words by descending count over everything fitted so far, ties in order of first
    appearance; `oov_token`, when given, always gets index 1.

    Args:
        num_words: maximum number of words to keep, by frequency: only indices `< num_words` are used, i.e. the
            `num_words - 1` most common words (including `oov_token`, which takes index 1). `word_index` still holds
            every word. Default None (keep all).
        filters: string of characters removed from the texts (default: all punctuation except `'`, plus tabs and
            line breaks). Not applied with `char_level=True`.
        lower: whether to convert the texts to lowercase (default True).
        split: separator for word splitting (default `" "`).
        char_level: if True, every character is a token (spaces and punctuation included; `filters` is ignored).
        oov_token: if given, added to `word_index` at index 1 and used to replace out-of-vocabulary words in
            `texts_to_sequences` (and words past `num_words`).
        analyzer: optional function that splits a text into tokens, used instead of `text_to_word_sequence`.
            Not saved by `get_config`/`to_json` (as in Keras).
        **kwargs: `document_count` (used by `tokenizer_from_json`) and the legacy `nb_words` (= `num_words`).

    Attributes:
        word_counts: `OrderedDict` word -> number of occurrences, in order of first appearance.
        word_docs: dict word -> number of texts containing it.
        word_index: dict word -> index (1-based, most frequent first).
        index_word: dict index -> word.
        index_docs: dict index -> number of texts containing it.
        document_count: number of texts (and sequences) fitted.

    >>> tokenizer = Tokenizer(num_words=4, oov_token='<OOV>')
    >>> tokenizer.fit_on_texts(['The cat sat on the mat.', 'The dog ate my homework!'])
    >>> list(tokenizer.word_index.items())[:4]
    [('<OOV>', 1), ('the', 2), ('cat', 3), ('sat', 4)]
    >>> tokenizer.texts_to_sequences(['The cat ate the fish'])
    [[2, 3, 1, 2, 1]]
    >>> tokenizer.sequences_to_texts([[2, 3, 1]])
    ['the cat <OOV>']
    >>> tokenizer.texts_to_matrix(['the cat the'], mode='count')
    array([[0., 0., 2., 1.]])
    """

    def __init__(self, num_words: Optional[int] = None, filters: str = DEFAULT_FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: Optional[Any] = None,
                 analyzer: Optional[Callable[[str], List[str]]] = None, **kwargs: Any):
        if "nb_words" in kwargs:
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed `num_words`.")
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to Tokenizer: {kwargs}")
        if num_words is not None and (not isinstance(num_words, (int, np.integer)) or isinstance(num_words, bool)
                                      or num_words < 0):
            raise ValueError("Received an invalid value for argument `num_words`, expected a non-negative "
                             f"integer or None. Received: num_words={num_words!r}")
        if analyzer is not None and not callable(analyzer):
            raise TypeError("Expected `analyzer` to be a function from a text to a list of tokens, or None. "
                            f"Received: analyzer={analyzer!r}")
        self.word_counts: Dict[Any, int] = collections.OrderedDict()
        self.word_docs: Dict[Any, int] = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs: Dict[int, int] = collections.defaultdict(int)
        self.word_index: Dict[Any, int] = {}
        self.index_word: Dict[int, Any] = {}
        self.analyzer = analyzer

    # ************* texts -> tokens *************

    def _tokens(self, text: Any, position: int, method: str) -> Iterable[Any]:
        """The tokens of one text, exactly as Keras splits it (lists are taken as already tokenized)."""
        if isinstance(text, list):
            if self.lower:
                for token in text:
                    if not isinstance(token, str):
                        raise TypeError(f"`Tokenizer.{method}` got a list of tokens (texts that are lists are taken "
                                        "as already tokenized), so each token must be a string when lower=True. "
                                        f"Received: token={_short(token)} of type {type(token).__name__} in the "
                                        f"text at position {position}")
                return [token.lower() for token in text]
            return text
        if not isinstance(text, str):
            hint = ("integer sequences go to `fit_on_sequences` / `sequences_to_matrix`"
                    if isinstance(text, (int, np.integer, float, np.floating)) else
                    "convert tuples and arrays of tokens with `list(...)`, other values with `str(...)`")
            raise TypeError(f"`Tokenizer.{method}` expects each text to be a string, or a list of string tokens "
                            f"({hint}). Received: text={_short(text)} of type {type(text).__name__} at position "
                            f"{position}")
        if self.char_level:
            return text.lower() if self.lower else text
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    @staticmethod
    def _check_texts(texts: Any, method: str) -> None:
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"`Tokenizer.{method}` expects a list of texts, not a single string (iterating over a "
                            "string gives one-character texts). Wrap it in a list: "
                            f"`tokenizer.{method}([text])`. Received: texts={_short(texts)}")
        if not isinstance(texts, collections.abc.Iterable):
            raise TypeError(f"`Tokenizer.{method}` expects an iterable of texts (a list of strings, a generator of "
                            f"strings or a list of lists of string tokens). Received: texts={_short(texts)} of type "
                            f"{type(texts).__name__}")

    def fit_on_texts(self, texts: Iterable[Union[str, List[str]]]) -> None:
        """Updates the vocabulary from a list of texts.

        Each text is a string, or a list of tokens (taken as already tokenized). Required before
        `texts_to_sequences` or `texts_to_matrix`. Fitting again adds to the counts and re-ranks every word.

        Args:
            texts: a list of strings, a generator of strings, or a list of lists of string tokens.

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['b a', 'a c'])
        >>> tokenizer.word_index, dict(tokenizer.word_counts)
        ({'a': 1, 'b': 2, 'c': 3}, {'b': 1, 'a': 2, 'c': 1})
        """
        self._check_texts(texts, "fit_on_texts")
        for position, text in enumerate(texts):
            seq = self._tokens(text, position, "fit_on_texts")
            self.document_count += 1
            for w in seq:
                if w in self.word_counts:
                    self.word_counts[w] += 1
                else:
                    self.word_counts[w] = 1
            # NOTE: Keras iterates `set(seq)`, whose order follows the salted string hash; the counts are the same,
            # first-appearance order just makes `word_docs`/`index_docs` (and `to_json()`) reproducible.
            for w in dict.fromkeys(seq):
                self.word_docs[w] += 1

        wcounts = list(self.word_counts.items())
        wcounts.sort(key=lambda x: x[1], reverse=True)  # stable: ties keep their order of first appearance
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(wc[0] for wc in wcounts)
        # NOTE: as in Keras, an oov_token that also occurs in the texts takes that word's (later) index.
        self.word_index = dict(zip(sorted_voc, range(1, len(sorted_voc) + 1)))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: List[Iterable[int]]) -> None:
        """Updates `document_count` and `index_docs` from a list of integer sequences.

        Required before `sequences_to_matrix(..., mode='tfidf')` if `fit_on_texts` was never called.

        Args:
            sequences: a list of sequences (a sequence is a list of integer word indices).

        >>> tokenizer = Tokenizer(num_words=4)
        >>> tokenizer.fit_on_sequences([[1, 2, 2], [2, 3]])
        >>> tokenizer.document_count, dict(tokenizer.index_docs)
        (2, {1: 1, 2: 2, 3: 1})
        """
        if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
            raise TypeError("`Tokenizer.fit_on_sequences` expects a list of sequences of integer word indices. "
                            f"Received: sequences={_short(sequences)}")
        self.document_count += len(sequences)
        for seq in sequences:
            for i in dict.fromkeys(seq):
                self.index_docs[i] += 1

    # ************* texts <-> sequences *************

    def texts_to_sequences(self, texts: Iterable[Union[str, List[str]]]) -> List[List[int]]:
        """Transforms each text into a sequence of integers.

        Only words known to the tokenizer are kept, and only indices `< num_words`; with `oov_token`, the other
        words become its index instead of being dropped.

        Args:
            texts: a list of texts (strings, or lists of string tokens).

        Returns:
            A list of sequences (lists of integers).

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['the cat', 'the hat'])
        >>> tokenizer.texts_to_sequences(['the bat', 'hat cat'])
        [[1], [3, 2]]
        """
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[Union[str, List[str]]]) -> Iterator[List[int]]:
        """Yields the sequence of integers of each text in `texts`, one at a time (see `texts_to_sequences`).

        Args:
            texts: an iterable of texts (strings, or lists of string tokens).

        Yields:
            One sequence (list of integers) per text.

        >>> tokenizer = Tokenizer(oov_token='?')
        >>> tokenizer.fit_on_texts(['a b'])
        >>> next(tokenizer.texts_to_sequences_generator(['b c']))
        [3, 1]
        """
        self._check_texts(texts, "texts_to_sequences")
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for position, text in enumerate(texts):
            vect = []
            for w in self._tokens(text, position, "texts_to_sequences"):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_token_index is not None:
                            vect.append(oov_token_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    # NOTE: before any fit, Keras appends None here (the oov_token has no index yet); kept as is.
                    vect.append(oov_token_index)
            yield vect

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> List[str]:
        """Transforms each sequence of integers back into a text (words joined by spaces).

        Indices that are unknown or `>= num_words` are dropped, or become `oov_token` when it is set.

        Args:
            sequences: a list of sequences (lists of integers).

        Returns:
            A list of texts (strings).

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['the cat', 'the hat'])
        >>> tokenizer.sequences_to_texts([[1, 3], [2, 7]])
        ['the hat', 'cat']
        """
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """Yields the text of each sequence in `sequences`, one at a time (see `sequences_to_texts`).

        Args:
            sequences: an iterable of sequences (lists of integers).

        Yields:
            One text (string) per sequence.

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['a b b'])
        >>> next(tokenizer.sequences_to_texts_generator([[1, 2, 1]]))
        'b a b'
        """
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for position, seq in enumerate(sequences):
            if not isinstance(seq, collections.abc.Iterable) or isinstance(seq, (str, bytes)):
                raise TypeError("`Tokenizer.sequences_to_texts` expects each sequence to be a list of integer word "
                                f"indices. Received: sequence={_short(seq)} at position {position}")
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_token_index is not None:
                            vect.append(self.index_word[oov_token_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_token_index])
            yield " ".join(vect)

    # ************* matrices *************

    def texts_to_matrix(self, texts: Iterable[Union[str, List[str]]], mode: str = "binary") -> np.ndarray:
        """Converts a list of texts to a float64 matrix of shape `(len(texts), num_words)`.

        Args:
            texts: a list of texts (strings, or lists of string tokens).
            mode: one of `"binary"` (default), `"count"`, `"tfidf"`, `"freq"` (see `sequences_to_matrix`).

        Returns:
            A numpy array of shape `(len(texts), num_words)` (`len(word_index) + 1` columns without `num_words`).

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['a a b'])
        >>> tokenizer.texts_to_matrix(['a b', 'b b'], mode='freq')
        array([[0. , 0.5, 0.5],
               [0. , 0. , 1. ]])
        """
        sequences = self.texts_to_sequences(texts)
        return self.sequences_to_matrix(sequences, mode=mode)

    def sequences_to_matrix(self, sequences: List[Iterable[int]], mode: str = "binary") -> np.ndarray:
        """Converts a list of sequences of word indices to a float64 matrix of shape `(len(sequences), num_words)`.

        Column `j` of row `i` holds, for the word of index `j` in sequence `i`: `1` (`"binary"`), its count `c`
        (`"count"`), `c / len(sequence)` (`"freq"`), or `(1 + log c) * log(1 + document_count / (1 + docs_j))`
        (`"tfidf"`, with `docs_j = index_docs[j]`). Indices `>= num_words` are ignored. Column 0 is the reserved
        index.

        Args:
            sequences: a list of sequences (lists of integer word indices).
            mode: one of `"binary"` (default), `"count"`, `"tfidf"`, `"freq"`.

        Returns:
            A numpy array of shape `(len(sequences), num_words)` (`len(word_index) + 1` columns without `num_words`).

        Raises:
            ValueError: for an invalid `mode`, if the tokenizer has neither `num_words` nor a fitted vocabulary, or
                for `"tfidf"` before anything was fitted.

        >>> Tokenizer(num_words=4).sequences_to_matrix([[1, 1, 3], []], mode='count')
        array([[0., 2., 0., 1.],
               [0., 0., 0., 0.]])
        """
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError("Specify a dimension (`num_words` argument), or fit on some text data first. "
                                 f"Received: num_words={self.num_words!r} and an empty word_index")
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode. "
                             f"Received: mode={mode!r} with document_count={self.document_count!r}")
        # NOTE: Keras checks `mode` only when it meets a non-empty sequence; checking up front fails the same way
        # whatever the data.
        if mode not in _MODES:
            raise ValueError(f"Unknown vectorization mode: expected one of {', '.join(map(repr, _MODES))}. "
                             f"Received: mode={mode!r}")
        if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
            raise TypeError("`Tokenizer.sequences_to_matrix` expects a list of sequences of integer word indices. "
                            f"Received: sequences={_short(sequences)}")

        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            # NOTE: `len(seq) == 0` rather than Keras's `not seq`, which fails on numpy rows.
            if len(seq) == 0:
                continue
            counts: Dict[int, int] = collections.defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[j] += 1
            for j, c in list(counts.items()):
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:  # tfidf: weighting scheme 2 of https://en.wikipedia.org/wiki/Tf%E2%80%93idf
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    # ************* serialization *************

    def get_config(self) -> Dict[str, Any]:
        """Returns the tokenizer configuration: constructor arguments plus the vocabulary as JSON strings.

        Same keys and values as Keras's `Tokenizer.get_config()` (`analyzer` is not saved).

        >>> tokenizer = Tokenizer(oov_token='?')
        >>> tokenizer.fit_on_texts(['a b a'])
        >>> config = tokenizer.get_config()
        >>> config['word_index'], config['document_count']
        ('{"?": 1, "a": 2, "b": 3}', 1)
        """
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs: Any) -> str:
        """Returns a JSON string `{"class_name": "Tokenizer", "config": get_config()}`.

        Load it with `tokenizer_from_json` (minikeras's or Keras's).

        Args:
            **kwargs: passed to `json.dumps()`.

        >>> tokenizer = Tokenizer()
        >>> tokenizer.fit_on_texts(['a b a'])
        >>> tokenizer_from_json(tokenizer.to_json()).texts_to_sequences(['b a'])
        [[2, 1]]
        """
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """Parses a JSON tokenizer configuration (from `Tokenizer.to_json()`) and returns a tokenizer.

    Reads the files Keras's `Tokenizer.to_json()` writes. Unlike Keras, the restored `word_docs` and `index_docs`
    are default dicts, so fitting the restored tokenizer on more texts works.

    Args:
        json_string: JSON string encoding a tokenizer configuration.

    Returns:
        A `Tokenizer`.

    >>> tokenizer = Tokenizer(num_words=10)
    >>> tokenizer.fit_on_texts(['hello world', 'hello'])
    >>> restored = tokenizer_from_json(tokenizer.to_json())
    >>> restored.num_words, restored.word_index, restored.index_word
    (10, {'hello': 1, 'world': 2}, {1: 'hello', 2: 'world'})
    """
    try:
        tokenizer_config = json.loads(json_string)
        config = dict(tokenizer_config["config"])
        word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=collections.OrderedDict)
        word_docs = json.loads(config.pop("word_docs"))
        index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
        index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
        word_index = json.loads(config.pop("word_index"))
    except (TypeError, KeyError, ValueError) as e:
        raise ValueError("Could not parse the tokenizer JSON: expected the string written by `Tokenizer.to_json()`, "
                         '{"class_name": "Tokenizer", "config": {..., "word_counts": "...", "word_docs": "...", '
                         '"index_docs": "...", "index_word": "...", "word_index": "..."}}. '
                         f"Received: json_string={_short(json_string)} ({type(e).__name__}: {e})") from e
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = collections.defaultdict(int, word_docs)
    tokenizer.index_docs = collections.defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
