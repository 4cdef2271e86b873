"""The ``nnUNet_extTrainer`` folder; nnU-Net imports its modules as top-level modules."""
