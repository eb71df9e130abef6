# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/lstm_seq2seq.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Character-level sequence-to-sequence translation with Keras 2's functional API.

An encoder LSTM reads the English sentence and hands its final `[h, c]` to a decoder LSTM (`return_state=True`,
`initial_state=`), which is trained with teacher forcing on the French sentence framed by a tab (start) and a
newline (end). The two-input model is saved with `model.save('s2s.h5')`; then an encoder model and a one-step
decoder model, built from the same layers, translate greedily one character at a time.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import numpy as np
from keras.layers import LSTM, Dense, Input
from keras.models import Model

UNITS = 256
SENTENCE_PAIRS = 10000
EPOCHS = quick(100, 3)
TO_DECODE = quick(100, 3)


def load_pairs(path='fra-eng/fra.txt'):
    sources, targets = [], []
    with open(path, encoding='utf-8') as f:
        for line in f.read().split('\n'):
            if '\t' not in line or len(sources) == SENTENCE_PAIRS:
                continue
            english, french = line.split('\t')[:2]
            sources.append(english)
            targets.append('\t' + french + '\n')
    return sources, targets


def vectorize(texts, alphabet, steps):
    where = {c: i for i, c in enumerate(alphabet)}
    data = np.zeros((len(texts), steps, len(alphabet)), dtype='float32')
    for row, text in enumerate(texts):
        for t, c in enumerate(text):
            data[row, t, where[c]] = 1.
    return data


sources, targets = load_pairs()
src_alphabet = sorted(set(''.join(sources)))
tgt_alphabet = sorted(set(''.join(targets)))
src_steps = max(map(len, sources))
tgt_steps = max(map(len, targets))
print('Number of samples:', len(sources))
print('Number of unique input tokens:', len(src_alphabet))
print('Number of unique output tokens:', len(tgt_alphabet))
print('Max sequence length for inputs:', src_steps)
print('Max sequence length for outputs:', tgt_steps)

enc_data = vectorize(sources, src_alphabet, src_steps)
dec_data = vectorize(targets, tgt_alphabet, tgt_steps)
dec_target = np.concatenate([dec_data[:, 1:], np.zeros_like(dec_data[:, :1])], axis=1)  # one step ahead

src_in = Input(shape=(None, len(src_alphabet)))
_, h, c = LSTM(UNITS, return_state=True)(src_in)
tgt_in = Input(shape=(None, len(tgt_alphabet)))
dec_lstm = LSTM(UNITS, return_sequences=True, return_state=True)
dec_out = Dense(len(tgt_alphabet), activation='softmax')
seq, _, _ = dec_lstm(tgt_in, initial_state=[h, c])
trainer = Model([src_in, tgt_in], dec_out(seq))
trainer.compile(optimizer='rmsprop', loss='categorical_crossentropy')
trainer.fit([enc_data, dec_data], dec_target, batch_size=64, epochs=EPOCHS, validation_split=0.2)
trainer.save('s2s.h5')

encoder = Model(src_in, [h, c])
h_in, c_in = Input(shape=(UNITS,)), Input(shape=(UNITS,))
step_seq, step_h, step_c = dec_lstm(tgt_in, initial_state=[h_in, c_in])
step_decoder = Model([tgt_in, h_in, c_in], [dec_out(step_seq), step_h, step_c])


def greedy_translation(one_sentence):
    state = encoder.predict(one_sentence)
    previous = np.zeros((1, 1, len(tgt_alphabet)))
    previous[0, 0, tgt_alphabet.index('\t')] = 1.
    decoded = ''
    while not decoded.endswith('\n') and len(decoded) <= tgt_steps:
        probs, h_now, c_now = step_decoder.predict([previous] + state)
        best = int(np.argmax(probs[0, -1]))
        decoded += tgt_alphabet[best]
        previous = np.zeros_like(previous)
        previous[0, 0, best] = 1.
        state = [h_now, c_now]
    return decoded


for k in range(TO_DECODE):
    translation = greedy_translation(enc_data[k:k + 1])
    print('-')
    print('Input sentence:', sources[k])
    print('Decoded sentence:', translation)
