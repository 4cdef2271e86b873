"""Suite-wide settings and fixtures."""

import pytest
import torch

from tests.tiny_runs import TINY

# pytest-xdist runs one worker per core; a second torch thread per worker only
# oversubscribes the machine (measured: a test file went from 11 s to 70 s).
torch.set_num_threads(1)


@pytest.fixture
def tiny_config(tmp_path):
    """``make(*overrides)`` -> a RunConfig of a tiny run (:data:`tests.tiny_runs.TINY`)
    writing under tmp_path."""
    from boundaryloss.training.config import load_config

    def make(*overrides: str, name: str = "run"):
        return load_config(None, [f"output_dir={tmp_path}", f"name={name}", *TINY, *overrides])

    return make
