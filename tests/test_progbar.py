"""Progbar output, byte for byte against tf_keras 2.21's `Progbar` driven with the same clock and values.

The expected strings were produced by running `tf_keras.src.utils.generic_utils.Progbar` (tf-keras 2.21.0) with its
`time` module replaced by the fake clock below and stdout replaced by a terminal-like StringIO.
"""
import io
import sys

import pytest

from minikeras.utils import progbar as progbar_module
from minikeras.utils.progbar import Progbar

VALUES = [[("loss", 0.9), ("acc", 0.5)], [("loss", 0.7), ("acc", 0.75)], [("loss", 0.5), ("acc", 0.0001)]]
BS = "\x08" * 75


class FakeTime:
    def __init__(self):
        self.t = 1000.0

    def time(self):
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


def drive(clock, monkeypatch, verbose, stream, values=VALUES, target=3, stateful=None):
    monkeypatch.setattr(sys, "stdout", stream)
    bar = Progbar(target, verbose=verbose, stateful_metrics=stateful)
    for i, v in enumerate(values):
        clock.t += 0.041 if i else 0.5
        bar.update(i + 1, v, finalize=None if target else i == len(values) - 1)
    return stream.getvalue()


def test_terminal_bar_matches_tf_keras(clock, monkeypatch):
    out = drive(clock, monkeypatch, 1, Terminal())
    # step 2 comes 41 ms after step 1, inside the 50 ms redraw interval, so it is not drawn (as in Keras)
    assert out == ("\r1/3 [=========>....................] - ETA: 1s - loss: 0.9000 - acc: 0.5000" + BS +
                   "\r3/3 [==============================] - 1s 41ms/step - loss: 0.7000 - acc: 0.4167\n")


def test_stateful_metrics_are_shown_as_given(clock, monkeypatch):
    out = drive(clock, monkeypatch, 1, Terminal(), stateful=["acc"])
    assert out.endswith("\r3/3 [==============================] - 1s 41ms/step - loss: 0.7000 - acc: 1.0000e-04\n")


def test_unknown_target(clock, monkeypatch):
    out = drive(clock, monkeypatch, 1, Terminal(), target=None)
    assert out == ("\r      1/Unknown - 0s 500ms/step - loss: 0.9000 - acc: 0.5000" + "\x08" * 60 +
                   "\r      3/Unknown - 1s 41ms/step - loss: 0.7000 - acc: 0.4167 \n")


def test_verbose_2_one_line(clock, monkeypatch):
    out = drive(clock, monkeypatch, 2, Terminal())
    assert out == "3/3 - 1s - loss: 0.7000 - acc: 0.4167 - 582ms/epoch - 194ms/step\n"


def test_verbose_2_small_and_negative_values(clock, monkeypatch):
    out = drive(clock, monkeypatch, 2, Terminal(), values=[[("loss", -0.5), ("acc", 0.0)]] * 3, stateful=["acc"])
    assert out == "3/3 - 1s - loss: -5.0000e-01 - acc: 0.0000e+00 - 582ms/epoch - 194ms/step\n"


def test_not_a_terminal_writes_only_the_final_line(clock, monkeypatch):
    out = drive(clock, monkeypatch, 1, io.StringIO())
    assert out == "3/3 [==============================] - 1s 41ms/step - loss: 0.7000 - acc: 0.4167\n"


def test_capsys_is_not_a_terminal(clock, capsys):
    bar = Progbar(2, verbose=1)
    clock.t += 0.2
    bar.update(1, [("loss", 1.0)])
    clock.t += 0.2
    bar.update(2, [("loss", 0.5)])
    assert capsys.readouterr().out == "2/2 [==============================] - 0s 200ms/step - loss: 0.7500\n"


def test_verbose_0_is_silent(clock, capsys):
    bar = Progbar(2, verbose=0)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_add_and_time_formats(clock, capsys):
    bar = Progbar(4, verbose=2)
    clock.t += 8.0
    bar.add(2)
    bar.add(2)
    assert capsys.readouterr().out == "4/4 - 8s - 8s/epoch - 2s/step\n"
    assert Progbar._format_time(0.0004, "step") == " 400us/step"


@pytest.mark.parametrize("target", [-1, 2.5, "3", True])
def test_bad_target(target):
    with pytest.raises(ValueError, match="non-negative integer"):
        Progbar(target)
