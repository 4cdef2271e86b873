"""nnU-Net v2 trainers with a boundary or region-wise term (``-tr <name>``).

Each trainer is nnU-Net's ``nnUNetTrainer`` with a few small changes:

- ``get_training_transforms`` / ``get_validation_transforms`` append
  :class:`~boundaryloss.nnunet.transforms.DeepSupervisionMapsTransform`, so the map of
  every deep-supervision target is computed after all of nnU-Net's augmentation, with the
  plan's spacing (scaled per output), in the augmentation workers;
- ``_build_loss`` returns :class:`~boundaryloss.nnunet.loss.DeepSupervisionMapLoss` with
  nnU-Net's own deep-supervision weights (and nnU-Net's own Dice+CE as regional term where
  the trainer uses it);
- with a map margin (``BOUNDARYLOSS_MAP_MARGIN``), ``get_training_transforms`` augments
  a concentric patch larger by the margin and ``configure_rotation_dummyDA_mirroring_and_
  inital_patch_size`` has the data loader read a larger region; the map transform crops
  back to the patch after computing the maps;
- ``on_epoch_start`` puts the weight schedule at the current epoch. Every schedule of
  :mod:`boundaryloss.schedules` is a function of its step count, and nnU-Net checkpoints
  the epoch, so ``--c`` resumes with exactly the weights the run had; no state of ours is
  added to nnU-Net's checkpoint.

``train_step``, ``validation_step``, checkpointing and DDP are nnU-Net's: the maps are
per-sample (computed by each rank's own workers for its own samples), so DDP needs no
extra synchronisation. nnU-Net's Dice+CE keeps its DDP batch-Dice gathering; this
project's terms (GDL, boundary, region-wise) are per-rank means, averaged by DDP's
gradient all-reduce like nnU-Net's cross-entropy.

Settings: class attribute ``settings`` (a :class:`MapTermSettings`), overridden per run
by the ``BOUNDARYLOSS_SCHEDULE``, ``BOUNDARYLOSS_WEIGHT``, ``BOUNDARYLOSS_REBALANCE_STEP``
and ``BOUNDARYLOSS_MAP_MARGIN`` environment variables, or by a subclass::

    class nnUNetTrainerBoundaryW05(nnUNetTrainerDiceCEBoundaryConstant):
        settings = MapTermSettings(schedule="constant", weight=0.5)

Not supported (refused with a message when the loss is built): region-based training
(``regions`` in dataset.json), datasets with an ignore label, and deep supervision
switched off.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from torch import nn

from ._extra import missing_extra

try:
    from batchgeneratorsv2.transforms.utils.compose import ComposeTransforms
    from nnunetv2.training.loss.deep_supervision import DeepSupervisionWrapper
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
except ModuleNotFoundError as error:  # without the extra: say which one to install
    raise missing_extra(error) from None

from .._validation import check_one_of
from ..losses import required_maps
from ..maps import MapSpec
from ..registry import LOSSES
from ..schedules import Constant, Schedule
from .loss import DeepSupervisionMapLoss, ScheduledMapLoss
from .settings import MapTermSettings
from .transforms import DeepSupervisionMapsTransform

#: The options of a term built by name here; every other loss of
#: :data:`~boundaryloss.registry.LOSSES` is built with its defaults.
TERM_OPTIONS: dict[str, dict[str, Any]] = {
    "boundary": {"include_background": False},  # the boundary-loss paper: foreground only
}
#: The regional term that is nnU-Net's own Dice + CE (built by nnU-Net, not registered).
NNUNET_DICE_CE = "dice_ce"


def build_term(name: str, setting: str, takes_map: bool) -> nn.Module:
    """The loss registered as ``name`` (:data:`~boundaryloss.registry.LOSSES`), with the
    options of :data:`TERM_OPTIONS`.

    Args:
        name: the registered name.
        setting: the class attribute that names it (``"map_term"``, ``"regional"``), for
            messages.
        takes_map: whether the term must declare a map (the map term) or none (the
            regional term).

    Raises:
        ValueError: an unknown name, a loss that does not build with its defaults, or one
            that declares a map where none is taken (or the reverse).
    """
    check_one_of(name, sorted(LOSSES), setting)
    cls = LOSSES[name]
    try:
        term = cls(**TERM_OPTIONS.get(name, {}))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{setting} {name!r}: {cls.__name__}() does not build ({error})") from None
    if bool(required_maps(term)) != takes_map:
        needed = "the map term must take one" if takes_map else "the regional term takes none"
        declared = "takes a map" if not takes_map else "declares no map"
        raise ValueError(f"{setting} {name!r}: {cls.__name__} {declared}; {needed}")
    return term


class nnUNetTrainerMapLossBase(nnUNetTrainer):
    """Base of the trainers: a regional term (optional) plus a map term, scheduled.

    Class attributes (override in a subclass):
        regional: ``"dice_ce"`` (nnU-Net's own Dice + CE), ``"gdl"`` (generalized Dice,
            all classes), another loss of :data:`~boundaryloss.registry.LOSSES` that
            takes no map (built with its defaults), or None (the map term alone).
        map_term: ``"boundary"`` (boundary loss on the foreground classes, signed maps,
            paper convention, in the plans' spacing: mm for NIfTI datasets, pixels for 2D
            image datasets), ``"region_wise"`` (region-wise loss with RRW maps, all
            classes), ``"rrw_ce"`` (RRW-weighted cross-entropy, all classes), or another
            registered loss that declares a map (built with its defaults).
        settings: the schedule of ``(regional, map term)``; ignored without a regional
            term (the map term then has weight 1).
    """

    regional: ClassVar[str | None] = "dice_ce"
    map_term: ClassVar[str] = "boundary"
    settings: ClassVar[MapTermSettings] = MapTermSettings()

    loss_schedule: Schedule
    #: ``settings`` with the environment applied (set when the loss is built; until then
    #: :meth:`map_margin` reads the environment itself).
    map_settings: MapTermSettings | None = None

    # -- the maps -------------------------------------------------------------------
    def map_transform(self, margin: tuple[int, ...] | None = None) -> DeepSupervisionMapsTransform:
        """The transform appended to nnU-Net's training and validation pipelines."""
        patch_dims = len(self.configuration_manager.patch_size)
        spacing = list(self.configuration_manager.spacing)[-patch_dims:]
        return DeepSupervisionMapsTransform(
            self.map_spec(), self.label_manager.num_segmentation_heads, spacing, margin
        )

    def map_spec(self) -> MapSpec:
        """The map the loss reads: the built loss's (the union of the channels its terms
        read, so a subclass overriding ``_build_loss`` gets maps for its own terms), or
        before ``initialize`` builds it, the map term's declaration.

        A map holds only the channels it names (the others are zeros), so it must come
        from the loss that reads it.
        """
        loss = getattr(self, "loss", None)  # nnU-Net sets it in initialize()
        if isinstance(loss, DeepSupervisionMapLoss) and loss.per_scale.map_spec is not None:
            return loss.per_scale.map_spec
        return required_maps(build_term(self.map_term, "map_term", takes_map=True))[0]

    def map_margin(self) -> tuple[int, ...] | None:
        """Training maps' context per axis: ``map_margin`` rounded up to a multiple of the
        coarsest deep-supervision factor of each axis (so every output crops whole voxels),
        or None for none."""
        settings = self.map_settings or self.settings.with_environment()
        requested = settings.map_margin
        if requested == 0:
            return None
        coarsest = np.min(np.asarray(self._get_deep_supervision_scales(), dtype=float), axis=0)
        factors = [round(1 / s) for s in coarsest]
        return tuple(-(-requested // f) * f for f in factors)

    def configure_rotation_dummyDA_mirroring_and_inital_patch_size(self):
        rotation, dummy_2d, initial, mirror_axes = (
            super().configure_rotation_dummyDA_mirroring_and_inital_patch_size()
        )
        margin = self.map_margin()
        if margin is not None:
            # The data loader's region must hold the enlarged patch after rotation and
            # scaling too: grow nnU-Net's region by the enlarged patch's largest ratio.
            patch = self.configuration_manager.patch_size
            ratio = max((p + 2 * m) / p for p, m in zip(patch, margin, strict=True))
            initial = [math.ceil(i * ratio) for i in initial]
            if dummy_2d:  # axis 0 is cropped by the loader only
                initial[0] = patch[0] + 2 * margin[0]
            initial = np.asarray(initial)
        return rotation, dummy_2d, initial, mirror_axes

    def get_training_transforms(self, patch_size, *args, **kwargs):  # type: ignore[override]
        margin = self.map_margin()
        if margin is not None:
            patch_size = [p + 2 * m for p, m in zip(patch_size, margin, strict=True)]
        pipeline = super().get_training_transforms(patch_size, *args, **kwargs)
        return ComposeTransforms([pipeline, self.map_transform(margin)])

    def get_validation_transforms(self, *args, **kwargs):  # type: ignore[override]
        # validation batches are patch-sized crops without spatial augmentation: no margin
        pipeline = super().get_validation_transforms(*args, **kwargs)
        return ComposeTransforms([pipeline, self.map_transform()])

    # -- the loss -------------------------------------------------------------------
    def _check_supported(self) -> None:
        name = type(self).__name__
        if self.label_manager.has_regions:
            raise ValueError(f"{name} does not support region-based training (regions)")
        if self.label_manager.has_ignore_label:
            raise ValueError(
                f"{name} does not support an ignore label (the maps of partly labelled "
                "targets are undefined)"
            )
        if not self.enable_deep_supervision:
            raise ValueError(f"{name} needs deep supervision (enable_deep_supervision=True)")
        build_term(self.map_term, "map_term", takes_map=True)
        if self.regional not in (None, NNUNET_DICE_CE):
            build_term(self.regional, "regional", takes_map=False)

    def _build_loss(self):
        self._check_supported()
        # nnU-Net's own loss gives its Dice+CE (configured for batch Dice, DDP, compile)
        # and its deep-supervision weights, so both stay exactly nnU-Net's.
        nnunet_loss = super()._build_loss()
        if isinstance(nnunet_loss, DeepSupervisionWrapper):
            dice_ce, ds_weights = nnunet_loss.loss, nnunet_loss.weight_factors
        else:
            dice_ce, ds_weights = nnunet_loss, (1.0,)

        terms: list[nn.Module] = []
        if self.regional == NNUNET_DICE_CE:
            terms.append(dice_ce)
        elif self.regional is not None:
            terms.append(build_term(self.regional, "regional", takes_map=False))
        settings = self.map_settings = self.settings.with_environment()
        if terms:
            self.loss_schedule = settings.build_schedule()
            described = f"{settings}"
        else:
            self.loss_schedule = Constant([1.0])
            described = f"map term alone, weight 1, map_margin={settings.map_margin}"
        terms.append(build_term(self.map_term, "map_term", takes_map=True))
        self.print_to_log_file(
            f"boundaryloss: regional={self.regional}, map term={self.map_term}, {described}"
        )
        return DeepSupervisionMapLoss(ScheduledMapLoss(terms, self.loss_schedule), ds_weights)

    # -- the schedule ---------------------------------------------------------------
    def sync_schedule(self) -> None:
        """Put the schedule at the current epoch (and iteration 0 of it)."""
        steps_per_epoch = (
            self.num_iterations_per_epoch if self.loss_schedule.interval == "iteration" else 1
        )
        self.loss_schedule.num_steps = self.current_epoch * steps_per_epoch

    def on_epoch_start(self):
        self.sync_schedule()
        weights = ", ".join(f"{w:.4g}" for w in self.loss_schedule.weights)
        self.print_to_log_file(f"boundaryloss: loss weights ({weights})")
        super().on_epoch_start()

    def train_step(self, batch: dict) -> dict:
        result = super().train_step(batch)
        if self.loss_schedule.interval == "iteration":
            self.loss_schedule.step()
        return result

    def load_checkpoint(self, filename_or_checkpoint) -> None:
        super().load_checkpoint(filename_or_checkpoint)
        self.sync_schedule()


class nnUNetTrainerDiceCEBoundaryRebalance(nnUNetTrainerMapLossBase):
    """nnU-Net's Dice+CE with the boundary loss, the boundary-loss paper's Rebalance.

    ``alpha * (Dice + CE) + (1 - alpha) * boundary``, alpha from 1 down by 0.01 per epoch
    to 0.01 (Kervadec et al., MIDL 2019, with nnU-Net's regional loss).
    """

    settings = MapTermSettings(schedule="rebalance")


class nnUNetTrainerBoundaryLoss(nnUNetTrainerDiceCEBoundaryRebalance):
    """The recommended default: :class:`nnUNetTrainerDiceCEBoundaryRebalance`."""


class nnUNetTrainerDiceCEBoundaryConstant(nnUNetTrainerMapLossBase):
    """nnU-Net's Dice+CE plus a constant-weight boundary term, ``DC + CE + w * boundary``.

    ``w`` = 0.1 unless ``BOUNDARYLOSS_WEIGHT`` says otherwise.
    """

    settings = MapTermSettings(schedule="constant", weight=0.1)


class nnUNetTrainerGDLBoundary(nnUNetTrainerMapLossBase):
    """Generalized Dice + boundary loss under Rebalance: the boundary-loss paper's pair."""

    regional = "gdl"
    settings = MapTermSettings(schedule="rebalance")


class nnUNetTrainerRRW(nnUNetTrainerMapLossBase):
    """Region-wise loss with rectified region-wise maps alone (Valverde & Tohka)."""

    regional = None
    map_term = "region_wise"


class nnUNetTrainerRRWCE(nnUNetTrainerMapLossBase):
    """Cross-entropy weighted by the RRW maps' magnitude, alone (Valverde & Tohka)."""

    regional = None
    map_term = "rrw_ce"


TRAINERS: tuple[type[nnUNetTrainerMapLossBase], ...] = (
    nnUNetTrainerBoundaryLoss,
    nnUNetTrainerDiceCEBoundaryRebalance,
    nnUNetTrainerDiceCEBoundaryConstant,
    nnUNetTrainerGDLBoundary,
    nnUNetTrainerRRW,
    nnUNetTrainerRRWCE,
)
