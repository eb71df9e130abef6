"""glibc's malloc thresholds set once at import (minikeras.autograd.allocator), and the ways to keep them as they are."""
import os
import platform
import subprocess
import sys

import pytest

from minikeras.autograd import allocator

PROBE = "import minikeras.autograd.allocator as a; print(a.tuned)"


def _tuned_in_fresh_process(**env):
    full = {k: v for k, v in os.environ.items() if k not in ("MINIKERAS_TUNE_MALLOC", "MALLOC_MMAP_THRESHOLD_",
                                                                "MALLOC_TRIM_THRESHOLD_")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", "import minikeras.autograd; " + PROBE], capture_output=True,
                         text=True, env=full, check=True)
    return out.stdout.strip()


GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_import_tunes_malloc_on_glibc_only():
    assert _tuned_in_fresh_process() == str(GLIBC)


def test_environment_turns_it_off():
    assert _tuned_in_fresh_process(MINIKERAS_TUNE_MALLOC="0") == "False"


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_the_users_own_malloc_settings_stand(variable):
    assert _tuned_in_fresh_process(**{variable: "1048576"}) == "False"


def test_thresholds_are_glibcs_own_ceilings():
    assert allocator.MMAP_THRESHOLD == 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit glibc
    assert allocator.TRIM_THRESHOLD == 2 * allocator.MMAP_THRESHOLD
