# Keras 2's example `examples/imdb_bidirectional_lstm.py`, keras-team/keras at tag 2.2.4 (MIT license, copyright the Keras
# authors). Changed only on the lines marked `# minikeras:`: `import _keras_alias` makes `keras` import
# minikeras, and `quick(full, small)` shrinks sizes when KERAS2_SCRIPTS_QUICK is set. The data files are the
# small ones tests/keras2_scripts/_make_data.py writes, in Keras's formats.
'''Trains a Bidirectional LSTM on the IMDB sentiment classification task.

Output after 4 epochs on CPU: ~0.8146
Time per epoch on CPU (Core i7): ~150s.
'''

from __future__ import print_function
import _keras_alias  # noqa: F401  # minikeras: `keras` -> `minikeras`
from _keras_alias import quick  # minikeras: size hook
import numpy as np

from keras.preprocessing import sequence
from keras.models import Sequential
from keras.layers import Dense, Dropout, Embedding, LSTM, Bidirectional
from keras.datasets import imdb


max_features = quick(20000, 300)  # minikeras: quick
# cut texts after this number of words
# (among top max_features most common words)
maxlen = quick(100, 30)  # minikeras: quick
batch_size = 32

print('Loading data...')
(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')

print('Pad sequences (samples x time)')
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)
y_train = np.array(y_train)
y_test = np.array(y_test)

model = Sequential()
model.add(Embedding(max_features, 128, input_length=maxlen))
model.add(Bidirectional(LSTM(64)))
model.add(Dropout(0.5))
model.add(Dense(1, activation='sigmoid'))

# try using different optimizers and different optimizer configs
model.compile('adam', 'binary_crossentropy', metrics=['accuracy'])

print('Train...')
model.fit(x_train, y_train,
          batch_size=batch_size,
          epochs=quick(4, 2),  # minikeras: quick
          validation_data=[x_test, y_test])
