"""Suite-wide settings."""

import torch

# pytest-xdist runs one worker per core; a second torch thread per worker only
# oversubscribes the machine (measured: a test file went from 11 s to 70 s).
torch.set_num_threads(1)
