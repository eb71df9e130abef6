"""`Progbar`, the progress bar of `fit`/`evaluate`/`predict` (Keras 2's `keras.utils.Progbar`)."""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np


def print_msg(message: str, line_break: bool = True) -> None:
    """Write `message` to the current `sys.stdout` (looked up at each call, so redirection works)."""
    sys.stdout.write(message + "\n" if line_break else message)
    sys.stdout.flush()


def _is_dynamic_display() -> bool:
    # NOTE: tf_keras also tests `"posix" in sys.modules`, which is true on every Linux/macOS process, so it redraws
    # the bar with backspaces even into a log file. minikeras redraws only on a terminal or in a notebook.
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        tty = False
    return tty or "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


class Progbar:
    """Displays a progress bar, in tf.keras 2's format.

    On a terminal (or in a notebook), `verbose=1` redraws one line per update:
    `2/2 [==============================] - 0s 41ms/step - loss: 0.6939 - accuracy: 0.5333`.
    When stdout is not a terminal (a log file, a pipe, pytest's capture), `verbose=1` writes only the final line of
    each bar, so a log gets one line per epoch instead of one per batch. `verbose=2` always writes one line when the
    bar completes: `2/2 - 0s - loss: 0.6939 - accuracy: 0.5333 - 41ms/epoch - 20ms/step`.

    Args:
        target: total number of steps expected, None if unknown.
        width: progress bar width on screen (default 30).
        verbose: verbosity mode, 0 (silent), 1 (bar), 2 (one line at the end).
        interval: minimum visual progress update interval, in seconds (default 0.05).
        stateful_metrics: names of metrics that should *not* be averaged over time; they are shown as given. All
            others are averaged, weighted by the number of steps since the previous update.
        unit_name: display name for step counts (default `"step"`; `fit` with `count_mode="samples"` uses `"sample"`).

    >>> bar = Progbar(target=2, verbose=2)
    >>> bar.update(1, [("loss", 0.5)])
    >>> bar.update(2, [("loss", 0.3)])  # doctest: +ELLIPSIS
    2/2 - 0s - loss: 0.4000 - ...s/epoch - ...s/step
    """

    def __init__(self, target: Optional[int], width: int = 30, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Optional[Iterable[str]] = None, unit_name: str = "step"):
        if target is not None and (not isinstance(target, (int, np.integer)) or isinstance(target, bool)
                                   or target < 0):
            raise ValueError(f"Expected `target` to be a non-negative integer or None. Received: target={target!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._dynamic_display = _is_dynamic_display()
        self._total_width = 0
        self._seen_so_far = 0
        self._values: Dict[str, List[Any]] = {}
        self._values_order: List[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_at_epoch_start = self._start
        self._time_at_epoch_end: Optional[float] = None
        self._time_after_first_step: Optional[float] = None

    def _update_stateful_metrics(self, stateful_metrics: Iterable[str]) -> None:
        self.stateful_metrics = self.stateful_metrics.union(stateful_metrics)

    def update(self, current: int, values: Optional[Sequence[Tuple[str, Any]]] = None,
               finalize: Optional[bool] = None) -> None:
        """Update the bar.

        Args:
            current: index of the current step (1-based count of steps done).
            values: list of `(name, value_for_last_step)`. Names in `stateful_metrics` are shown as given; others
                are averaged over the steps seen.
            finalize: whether this is the last update of the bar; `None` means `current >= target`.
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if k not in self.stateful_metrics:
                # NOTE: Keras forces the step count to at least 1, so a repeated `current` still counts once.
                value_base = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * value_base, value_base]
                else:
                    self._values[k][0] += v * value_base
                    self._values[k][1] += value_base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

        now = time.time()
        info = f" - {now - self._start:.0f}s"
        if current == self.target:
            self._time_at_epoch_end = now
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if not self._dynamic_display and not finalize:
                # Not a terminal: only the finished bar is written (one line per bar, no backspaces).
                self._estimate_step_duration(current, now)
                self._last_update = now
                return
            prev_total_width = self._total_width
            message = ("\b" * prev_total_width + "\r") if self._dynamic_display else ""
            if self.target is not None:
                numdigits = int(np.log10(self.target)) + 1 if self.target > 0 else 1
                bar = ("%" + str(numdigits) + "d/%d [") % (current, self.target)
                prog = float(current) / self.target if self.target else 1.0
                prog_width = int(self.width * prog)
                if prog_width > 0:
                    bar += "=" * (prog_width - 1)
                    bar += ">" if current < self.target else "="
                bar += "." * (self.width - prog_width)
                bar += "]"
            else:
                bar = "%7d/Unknown" % current
            self._total_width = len(bar)
            message += bar

            time_per_unit = self._estimate_step_duration(current, now)
            if self.target is None or finalize:
                info += self._format_time(time_per_unit, self.unit_name)
            else:
                eta = time_per_unit * (self.target - current)
                if eta > 3600:
                    eta_format = "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
                elif eta > 60:
                    eta_format = "%d:%02d" % (eta // 60, eta % 60)
                else:
                    eta_format = "%ds" % eta
                info = f" - ETA: {eta_format}"
            for k in self._values_order:
                info += f" - {k}:"
                avg = np.mean(self._values[k][0] / max(1, self._values[k][1]))
                info += f" {avg:.4f}" if abs(avg) > 1e-3 else f" {avg:.4e}"
            self._total_width += len(info)
            if prev_total_width > self._total_width:
                info += " " * (prev_total_width - self._total_width)
            if finalize:
                info += "\n"
            print_msg(message + info, line_break=False)
        elif self.verbose == 2:
            if finalize:
                target = self.target if self.target else max(current, 1)
                numdigits = int(np.log10(target)) + 1
                info = ("%" + str(numdigits) + "d/%d") % (current, target) + info
                for k in self._values_order:
                    info += f" - {k}:"
                    avg = np.mean(self._values[k][0] / max(1, self._values[k][1]))
                    # NOTE: tf_keras tests `avg > 1e-3` here (not `abs(avg)`), so negative values print as `.4e`.
                    info += f" {avg:.4f}" if avg > 1e-3 else f" {avg:.4e}"
                if self._time_at_epoch_end:
                    time_per_epoch = self._time_at_epoch_end - self._time_at_epoch_start
                    avg_time_per_step = time_per_epoch / target
                    self._time_at_epoch_start = now
                    self._time_at_epoch_end = None
                    info += " -" + self._format_time(time_per_epoch, "epoch")
                    info += " -" + self._format_time(avg_time_per_step, self.unit_name)
                    info += "\n"
                else:
                    info += "\n"
                print_msg(info, line_break=False)
        self._last_update = now

    def add(self, n: int, values: Optional[Sequence[Tuple[str, Any]]] = None) -> None:
        """Advance the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    @staticmethod
    def _format_time(time_per_unit: float, unit_name: str) -> str:
        """` 41ms/step`, ` 2s/epoch` or ` 350us/step`, as tf.keras formats durations."""
        if time_per_unit >= 1 or time_per_unit == 0:
            return f" {time_per_unit:.0f}s/{unit_name}"
        if time_per_unit >= 1e-3:
            return f" {time_per_unit * 1000.0:.0f}ms/{unit_name}"
        return f" {time_per_unit * 1000000.0:.0f}us/{unit_name}"

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step; the first step (often slower) is left out once more steps are done."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
