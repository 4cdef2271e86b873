"""Boundary and region-wise losses inside nnU-Net v2 (optional extra ``boundaryloss[nnunet]``).

Usage::

    export nnUNet_extTrainer=$(boundaryloss nnunet-trainers-path)
    nnUNetv2_train 4 3d_fullres 0 -tr nnUNetTrainerBoundaryLoss

Submodules: :mod:`.trainers` (the trainer classes; importing it imports nnunetv2),
:mod:`.transforms` (maps of every deep-supervision target), :mod:`.loss` (the scheduled
per-scale loss), :mod:`.settings` (schedule settings and environment variables),
:mod:`.paths` (the folder for ``nnUNet_extTrainer``). This package imports nothing from
nnunetv2 itself, so ``boundaryloss.nnunet.paths`` works without it.
"""
