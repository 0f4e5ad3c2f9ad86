"""Shared set-up of the Python package's tests: the CLI to compare against (BNRECAL_CLI, set by
ctest), the repository (BNRECAL_SOURCE_DIR), one intra-op thread on both sides (the CLI runs with
--threads 1), and a helper that runs the CLI and reads its --json result."""
import json
import os
import subprocess

import pytest
import torch

SOURCE_DIR = os.environ.get("BNRECAL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CLI = os.environ.get("BNRECAL_CLI", os.path.join(SOURCE_DIR, "build", "bnrecal"))

torch.set_num_threads(1)


def reference_model(name, calibrated=True):
    suffix = ".calibrated.safetensors" if calibrated else ".safetensors"
    return os.path.join(SOURCE_DIR, "models", f"fashion-mnist-{name}{suffix}")


class Cli:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path

    def run(self, *args, failing=False):
        """Runs `bnrecal ARGS --threads 1 -q`; returns the CompletedProcess, asserting that it
        succeeded (or, with failing=True, that it failed)."""
        result = subprocess.run([CLI, *map(str, args), "--threads", "1", "-q"], capture_output=True, text=True)
        assert (result.returncode != 0) == failing, f"bnrecal {' '.join(map(str, args))}: exit {result.returncode}\n{result.stderr}"
        return result

    def json(self, *args):
        """Runs the command with --json and returns the parsed result."""
        path = self.tmp_path / f"result-{len(list(self.tmp_path.iterdir()))}.json"
        self.run(*args, "--json", path)
        return json.loads(path.read_text())

    def error(self, *args):
        """The message of a failing command: its last stderr line without the "bnrecal: error: "
        prefix (input errors) or the " (see --help)" suffix (usage errors)."""
        line = self.run(*args, failing=True).stderr.strip().splitlines()[-1]
        for prefix in ("bnrecal: ", "error: "):
            line = line[len(prefix):] if line.startswith(prefix) else line
        return line[:-len(" (see --help)")] if line.endswith(" (see --help)") else line


@pytest.fixture
def cli(tmp_path):
    if not os.path.exists(CLI):
        pytest.fail(f"the bnrecal CLI is not built ({CLI}); set BNRECAL_CLI")
    return Cli(tmp_path)
