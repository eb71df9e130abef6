# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/addition_rnn.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Learning to add numbers written as text, with an LSTM encoder-decoder in a `Sequential` model (Keras 2 API).

A question such as "12+345" is padded with spaces to 7 characters and reversed (reading the digits in reverse
shortens the dependencies the encoder must learn); the answer "357" is padded to 4 characters. An LSTM encodes the
question, `RepeatVector` hands its summary to each of the 4 answer steps, a second LSTM decodes, and a
`TimeDistributed` softmax picks each answer character. After every training round the script prints 10
validation questions with the expected and the predicted answers (`predict_classes`).
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import numpy as np
from keras import layers
from keras.models import Sequential

N_QUESTIONS = quick(50000, 500)
MAX_DIGITS = 3
QUESTION_LEN = 2 * MAX_DIGITS + 1   # "ddd+ddd"
ANSWER_LEN = MAX_DIGITS + 1         # the sum has at most one more digit
ALPHABET = '0123456789+ '
UNITS = 128
GREEN, RED, PLAIN = '\033[92m', '\033[91m', '\033[0m'


def encode(text, length):
    """One-hot rows for `text` padded with spaces to `length` characters."""
    codes = np.zeros((length, len(ALPHABET)), dtype=bool)
    for pos, char in enumerate(text.ljust(length)):
        codes[pos, ALPHABET.index(char)] = True
    return codes


def decode(rows, already_indices=False):
    indices = rows if already_indices else rows.argmax(axis=-1)
    return ''.join(ALPHABET[i] for i in indices)


def random_number():
    digits = np.random.randint(1, MAX_DIGITS + 1)
    return int(''.join(np.random.choice(list('0123456789'), digits)))


def make_questions(count):
    """`count` distinct unordered pairs, as (reversed padded question, padded answer) strings."""
    pairs, out = set(), []
    while len(out) < count:
        a, b = random_number(), random_number()
        if (min(a, b), max(a, b)) in pairs:
            continue
        pairs.add((min(a, b), max(a, b)))
        question = ('%d+%d' % (a, b)).ljust(QUESTION_LEN)[::-1]
        out.append((question, str(a + b).ljust(ANSWER_LEN)))
    return out


print('Generating data...')
questions = make_questions(N_QUESTIONS)
print('Total addition questions:', len(questions))

print('Vectorization...')
x = np.stack([encode(q, QUESTION_LEN) for q, _ in questions])
y = np.stack([encode(a, ANSWER_LEN) for _, a in questions])
order = np.random.permutation(len(x))
x, y = x[order], y[order]
n_val = len(x) // 10
x_train, y_train, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
print('Training Data:')
print(x_train.shape)
print(y_train.shape)
print('Validation Data:')
print(x_val.shape)
print(y_val.shape)

print('Build model...')
model = Sequential()
model.add(layers.LSTM(UNITS, input_shape=(QUESTION_LEN, len(ALPHABET))))
model.add(layers.RepeatVector(ANSWER_LEN))
model.add(layers.LSTM(UNITS, return_sequences=True))
model.add(layers.TimeDistributed(layers.Dense(len(ALPHABET))))
model.add(layers.Activation('softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
model.summary()

for round_no in range(1, quick(200, 3)):
    print()
    print('-' * 50)
    print('Iteration', round_no)
    model.fit(x_train, y_train, batch_size=128, epochs=1, validation_data=(x_val, y_val))
    for pick in np.random.randint(0, len(x_val), 10):
        question_rows, answer_rows = x_val[pick:pick + 1], y_val[pick:pick + 1]
        guess = decode(model.predict_classes(question_rows, verbose=0)[0], already_indices=True)
        answer = decode(answer_rows[0])
        mark = GREEN + 'ok' + PLAIN if guess == answer else RED + 'no' + PLAIN
        print('Q', decode(question_rows[0])[::-1], 'T', answer, mark, guess)
