"""The Python zoo against the C++ zoo (names, registration order, committed checkpoints, structure
counts) and against torchvision 0.14 where the C++ mirrors it: check_zoo_names.py, run whole."""
import os
import subprocess
import sys


def test_zoo_matches_the_library_and_torchvision():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_zoo_names.py")
    result = subprocess.run([sys.executable, script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
