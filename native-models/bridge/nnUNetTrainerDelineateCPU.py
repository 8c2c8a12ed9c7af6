"""Short CPU trainer for Delineate's bundled tumour model (installed into nnunetv2 by install_trainer.py).

Same as nnUNetTrainer (loss, deep supervision, augmentation, SGD + poly LR) except:
- 25 training iterations and 5 validation iterations per epoch (instead of 250 / 50),
- num_epochs from $DELINEATE_EPOCHS (default 16) instead of 1000,
- foreground oversampling 0.5 (instead of 0.33): few iterations, small tumours,
- a checkpoint every epoch (checkpoint_latest.pth) so that `--c` loses at most one epoch,
- torch threads from $DELINEATE_TORCH_THREADS (default 1): nnUNetv2_train -device cpu would take every core.
"""
import os
import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainerDelineateCPU(nnUNetTrainer):
    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device('cuda')):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_iterations_per_epoch = 25
        self.num_val_iterations_per_epoch = 5
        self.num_epochs = int(os.environ.get('DELINEATE_EPOCHS', '16'))
        self.oversample_foreground_percent = 0.5
        self.save_every = 1

    def on_train_start(self):
        torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
        super().on_train_start()

    def perform_actual_validation(self, save_probabilities: bool = False):
        torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
        return super().perform_actual_validation(save_probabilities)
