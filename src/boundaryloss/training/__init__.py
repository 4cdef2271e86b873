"""The training stack: configuration, data, the Fabric training loop, evaluation, prediction.

Modules (imported on use, so ``import boundaryloss`` stays free of Lightning):

- :mod:`~boundaryloss.training.config` — the typed run configuration; :mod:`.checks`
  checks all of it before anything is written.
- :mod:`~boundaryloss.training.run_dir` — the layout of a run directory, its staging,
  swap and lock.
- :mod:`~boundaryloss.training.engine` — :class:`Trainer`, with its collaborators
  :mod:`.epoch_log` (console line, progress bar, metrics files, TensorBoard, curves),
  :mod:`.checkpointing` (which checkpoints to save), :mod:`.checkpoint` (their files),
  :mod:`.batching` (the epoch's loader) and :mod:`.validation` (whole-case metrics).
- :mod:`~boundaryloss.training.components`, :mod:`.data` — model, loss, optimiser and
  datasets from a configuration.
- :mod:`~boundaryloss.training.evaluate`, :mod:`.predict`, :mod:`.inference` — using a
  trained model.
"""
