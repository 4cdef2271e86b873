"""The training stack: configuration, data and the Fabric training loop.

Modules (imported on use, so ``import boundaryloss`` stays free of Lightning):

- :mod:`~boundaryloss.training.config` — the typed run configuration; :mod:`.checks`
  checks all of it before anything is written.
- :mod:`~boundaryloss.training.run_dir` — the layout of a run directory, its staging,
  swap and lock.
- :mod:`~boundaryloss.training.engine` — :class:`Trainer`, with its collaborators
  :mod:`.epoch_log` (console line, progress bar, TensorBoard, curves), :mod:`.history`
  (the metrics files), :mod:`.environment` (``environment.json``),
  :mod:`.checkpoint_policy` (which checkpoints to save), :mod:`.checkpoint_files` (their
  contents, saved and loaded), :mod:`.batching` (the epoch's loader) and
  :mod:`.validation` (whole-case metrics).
- :mod:`~boundaryloss.training.components`, :mod:`.data` — model, loss, optimiser and
  datasets from a configuration.

Using a trained model (evaluating a run, predicting, sliding-window inference) is
:mod:`boundaryloss.evaluation`.
"""
