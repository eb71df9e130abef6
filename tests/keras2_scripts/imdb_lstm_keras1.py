# Keras 1's example `examples/imdb_lstm.py`, keras-team/keras at commit 023331ec2a7b0086abfc81eca16c84a1692ee653
# (Keras 1.x; MIT license, copyright the Keras authors): the Keras 1 spellings that Keras 2.0 still ran with
# warnings (`nb_words`, `Embedding(dropout=)`, `dropout_W`, `dropout_U`, `nb_epoch`). Changed only on the lines
# marked `# minikeras:`: `import _keras_alias` makes `keras` import minikeras, and `quick(full, small)` shrinks
# sizes when KERAS2_SCRIPTS_QUICK is set. The data files are the small ones tests/keras2_scripts/_make_data.py
# writes, in Keras's formats.
'''Trains a LSTM on the IMDB sentiment classification task.
The dataset is actually too small for LSTM to be of any advantage
compared to simpler, much faster methods such as TF-IDF + LogReg.
Notes:

- RNNs are tricky. Choice of batch size is important,
choice of loss and optimizer is critical, etc.
Some configurations won't converge.

- LSTM loss decrease patterns during training can be quite different
from what you see with CNNs/MLPs/etc.
'''
from __future__ import print_function
import _keras_alias  # noqa: F401  # minikeras: `keras` -> `minikeras`
from _keras_alias import quick  # minikeras: size hook
import numpy as np
np.random.seed(1337)  # for reproducibility

from keras.preprocessing import sequence
from keras.models import Sequential
from keras.layers import Dense, Activation, Embedding
from keras.layers import LSTM
from keras.datasets import imdb

max_features = quick(20000, 300)  # minikeras: quick
maxlen = quick(80, 30)  # cut texts after this number of words (among top max_features most common words)  # minikeras: quick
batch_size = 32

print('Loading data...')
(x_train, y_train), (x_test, y_test) = imdb.load_data(nb_words=max_features)
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')

print('Pad sequences (samples x time)')
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('Build model...')
model = Sequential()
model.add(Embedding(max_features, 128, dropout=0.2))
model.add(LSTM(128, dropout_W=0.2, dropout_U=0.2))  # try using a GRU instead, for fun
model.add(Dense(1))
model.add(Activation('sigmoid'))

# try using different optimizers and different optimizer configs
model.compile(loss='binary_crossentropy',
              optimizer='adam',
              metrics=['accuracy'])

print('Train...')
model.fit(x_train, y_train, batch_size=batch_size, nb_epoch=quick(15, 3),  # minikeras: quick
          validation_data=(x_test, y_test))
score, acc = model.evaluate(x_test, y_test,
                            batch_size=batch_size)
print('Test score:', score)
print('Test accuracy:', acc)
