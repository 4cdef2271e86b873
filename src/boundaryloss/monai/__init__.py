"""MONAI integration: map transforms, a loss adapter and a batch preparer for MONAI pipelines.

Needs MONAI (``pip install boundaryloss[monai]``); the rest of ``boundaryloss`` does not.

- :class:`DistanceMapd` / :class:`DistanceMap`: dictionary / array transforms computing the
  signed, unsigned, RRW or AC map of a label after MONAI's (random) spatial transforms,
  with the spacing read from the label's ``MetaTensor`` affine.
- :class:`MapLoss` and :class:`PrepareBatchWithMaps`: feed the maps of a batch dict to a
  boundaryloss loss in a plain loop or MONAI's ``SupervisedTrainer``.
"""

from __future__ import annotations

try:
    import monai  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "boundaryloss.monai needs MONAI: pip install 'boundaryloss[monai]'"
    ) from error

from .engines import MapLoss, PrepareBatchWithMaps
from .transforms import DistanceMap, DistanceMapd

__all__ = ["DistanceMap", "DistanceMapd", "MapLoss", "PrepareBatchWithMaps"]
