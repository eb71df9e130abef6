"""Character-level English-to-French translation with an LSTM encoder-decoder, in Keras 2's functional style.

This minikeras example is written the way Keras 2 code uses the functional API, and it imports only from
minikeras's Keras-named modules (`minikeras.models`, `minikeras.layers`): with `minikeras` replaced by `keras` the
same text runs on Keras 2. Run it from anywhere:

    python examples/lstm_seq2seq.py                    (100 epochs, 256 units; 4 min 0 s of CPU time)
    MINIKERAS_QUICK=1 python examples/lstm_seq2seq.py  (2 epochs, 16 units, 3 sentences decoded)

The CPU time is the `user` time `time python examples/lstm_seq2seq.py` printed. The script saves `s2s.h5` in the
current directory.

What it shows:

- `Input(shape=(None, n))` for variable-length sequences of one-hot characters;
- an encoder `LSTM(return_state=True)` whose final `[h, c]` start the decoder `LSTM` (`initial_state=`);
- a two-input training `Model([encoder_inputs, decoder_inputs], ...)` trained with teacher forcing: the decoder
  reads the target sentence and learns to output it shifted one character ahead;
- `model.save('s2s.h5')`, which writes a Keras 2 HDF5 file;
- inference models built from the same layers (so they share the trained weights): an encoder that returns the
  states, and a decoder that takes one character plus states and returns the next-character probabilities plus
  new states; decoding feeds each predicted character and the states back in until it emits the end marker.

Data: tab-separated English/French pairs, one per line, from `examples/data/fra-eng/fra.txt` (105 pairs ship with
minikeras; the full file, from the Tatoeba project via manythings.org/anki, can replace it, and its third
column, the attribution, is ignored). Each French sentence is wrapped in a start marker (tab) and an end marker
(newline). With 105 pairs (84 for training, 2 updates per epoch) the model does not learn to translate: the
example shows the mechanics, and the full file is what makes the translations meaningful.
"""
import os

import numpy as np

from minikeras.layers import Dense, Input, LSTM
from minikeras.models import Model

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'fra-eng', 'fra.txt')
START, END = '\t', '\n'  # markers around every French sentence

QUICK = os.environ.get('MINIKERAS_QUICK') == '1'

batch_size = 64
epochs = 100
latent_dim = 256     # units of both LSTMs, so the encoder's states fit the decoder
max_pairs = 10000    # read at most this many lines of the corpus
if QUICK:
    epochs, latent_dim = 2, 16


def read_pairs(path, limit):
    """(english, french) pairs from the first `limit` non-empty lines; extra tab-separated columns are ignored."""
    pairs = []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            fields = line.rstrip('\n').split('\t')
            if len(fields) >= 2:
                pairs.append((fields[0], START + fields[1] + END))
            if len(pairs) == limit:
                break
    return pairs


def one_hot(texts, vocab, length):
    """(len(texts), length, len(vocab)) float32 array; rows past a text's end stay zero."""
    index = {c: i for i, c in enumerate(vocab)}
    out = np.zeros((len(texts), length, len(vocab)), dtype='float32')
    for n, text in enumerate(texts):
        out[n, np.arange(len(text)), [index[c] for c in text]] = 1.0
    return out


pairs = read_pairs(CORPUS, max_pairs)
english = [e for e, _ in pairs]
french = [f for _, f in pairs]
english_chars = sorted(set(''.join(english)))
french_chars = sorted(set(''.join(french)))
english_len = max(len(s) for s in english)
french_len = max(len(s) for s in french)
print('Number of samples:', len(pairs))
print('Distinct English characters:', len(english_chars))
print('Distinct French characters:', len(french_chars))
print('Longest English sentence:', english_len)
print('Longest French sentence (with markers):', french_len)

encoder_input_data = one_hot(english, english_chars, english_len)
decoder_input_data = one_hot(french, french_chars, french_len)
# teacher forcing: at step t the decoder has read French characters 0..t and must predict character t+1
decoder_target_data = np.zeros_like(decoder_input_data)
decoder_target_data[:, :-1] = decoder_input_data[:, 1:]

# Training model.
encoder_inputs = Input(shape=(None, len(english_chars)))
_, enc_h, enc_c = LSTM(latent_dim, return_state=True)(encoder_inputs)
decoder_inputs = Input(shape=(None, len(french_chars)))
decoder_lstm = LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_softmax = Dense(len(french_chars), activation='softmax')
decoder_sequence, _, _ = decoder_lstm(decoder_inputs, initial_state=[enc_h, enc_c])
model = Model([encoder_inputs, decoder_inputs], decoder_softmax(decoder_sequence))
model.compile(optimizer='rmsprop', loss='categorical_crossentropy')
model.fit([encoder_input_data, decoder_input_data], decoder_target_data,
          batch_size=batch_size, epochs=epochs, validation_split=0.2)
model.save('s2s.h5')

# Inference models: the same layer objects, so the same weights.
encoder_model = Model(encoder_inputs, [enc_h, enc_c])
state_inputs = [Input(shape=(latent_dim,)), Input(shape=(latent_dim,))]
step_sequence, step_h, step_c = decoder_lstm(decoder_inputs, initial_state=state_inputs)
decoder_model = Model([decoder_inputs] + state_inputs, [decoder_softmax(step_sequence), step_h, step_c])


def translate(encoded_sentence):
    """Greedy decoding of one encoded English sentence (shape (1, steps, English characters))."""
    states = encoder_model.predict(encoded_sentence, verbose=0)
    char = START
    result = ''
    while True:
        step = one_hot([char], french_chars, 1)
        probabilities, h, c = decoder_model.predict([step] + states, verbose=0)
        char = french_chars[int(np.argmax(probabilities[0, -1]))]
        result += char
        if char == END or len(result) > french_len:
            return result
        states = [h, c]


for seq_index in range(100):
    if QUICK and seq_index == 3:
        break  # the short run decodes three sentences
    print('-')
    print('Input sentence:', english[seq_index])
    print('Decoded sentence:', translate(encoder_input_data[seq_index:seq_index + 1]))
