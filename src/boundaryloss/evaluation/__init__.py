"""Evaluation: scoring a run or a folder of predictions, predicting, inference.

Modules (imported on use, like :mod:`boundaryloss.training`):

- :mod:`~boundaryloss.evaluation.evaluate_run` — ``boundaryloss evaluate``: a trained
  run's checkpoint scored on its validation or test cases.
- :mod:`~boundaryloss.evaluation.evaluate_folder` — ``boundaryloss evaluate-folder``:
  label maps made by any tool scored against references; it needs nothing of a run.
- :mod:`~boundaryloss.evaluation.predict` — ``boundaryloss predict``: label maps (and
  probability maps, :mod:`.probability_maps`) of new images from a checkpoint.
- :mod:`~boundaryloss.evaluation.inference` — whole-case inference (slices, sliding
  windows, test-time mirroring), which the trainer's validation uses too.
- :mod:`~boundaryloss.evaluation.result_files` — the per-case CSV and summary JSON both
  evaluations write; :mod:`.pixel_level` (scores of counts pooled over every pixel) and
  :mod:`.lesion_file` (every lesion, ``lesions.csv``) fill them.

A run's configuration, checkpoints and datasets come from :mod:`boundaryloss.training`;
the trainer in turn validates with :mod:`.inference` and :mod:`.pixel_level`, which
import nothing of the training loop.
"""
