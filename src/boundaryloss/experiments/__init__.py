"""Loss comparisons: train several loss configurations on the same data and report.

``boundaryloss compare --config experiments/NAME.yaml`` and ``boundaryloss demo`` use
:func:`load_experiment` and :func:`run_compare` (``--train-only``: :func:`train_runs`).
Training-stack code: not imported by the library core.
"""

from .compare import CompareOutput, run_compare, train_runs
from .config import Experiment, ExperimentConfig, load_experiment

__all__ = [
    "CompareOutput",
    "Experiment",
    "ExperimentConfig",
    "load_experiment",
    "run_compare",
    "train_runs",
]
