"""Short CPU trainer for Delineate's bundled tumour model (installed into nnunetv2 by install_trainer.py).

Same as nnUNetTrainer (loss, deep supervision, augmentation, SGD + poly LR) except:
- 25 training iterations and 5 validation iterations per epoch (instead of 250 / 50),
- number of epochs (instead of 1000), first found of: file <control>/epochs_fold_<fold> (one integer),
  env DELINEATE_EPOCHS, 16. <control> is $DELINEATE_CONTROL_DIR, default the parent folder of $nnUNet_results.
  The file is re-read at the start of every epoch (and the poly learning-rate schedule follows), so a running fold
  can be fitted to the CPU time that is left.
- optional wall-clock deadline: file <control>/deadline or env DELINEATE_DEADLINE (Unix seconds, or ISO-8601 UTC
  like 2026-11-29T04:10:00Z). When an epoch ends after it, training stops there and nnU-Net's normal ending
  follows (checkpoint_final.pth, validation of the held-out cases), so a fold cut short is still evaluated.
  The learning rate then has not decayed fully (the poly schedule assumes the planned epoch count).
- foreground oversampling 0.5 (instead of 0.33): few iterations, small tumours,
- a checkpoint every epoch (checkpoint_latest.pth) so that `--c` loses at most one epoch,
- torch threads from $DELINEATE_TORCH_THREADS (default 1): nnUNetv2_train -device cpu would take every core.
"""
import datetime
import os
import time

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


def _control_dir():
    d = os.environ.get('DELINEATE_CONTROL_DIR')
    if d:
        return d
    r = os.environ.get('nnUNet_results')
    return os.path.dirname(os.path.abspath(r)) if r else None


def _read(name):
    d = _control_dir()
    if d and os.path.isfile(os.path.join(d, name)):
        with open(os.path.join(d, name)) as f:
            return f.read().strip() or None
    return None


def _deadline():
    v = _read('deadline') or os.environ.get('DELINEATE_DEADLINE')
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        return datetime.datetime.fromisoformat(v.replace('Z', '+00:00')).timestamp()


class nnUNetTrainerDelineateCPU(nnUNetTrainer):
    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device('cuda')):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_iterations_per_epoch = 25
        self.num_val_iterations_per_epoch = 5
        self.num_epochs = int(_read(f'epochs_fold_{fold}') or os.environ.get('DELINEATE_EPOCHS', '16'))
        self.oversample_foreground_percent = 0.5
        self.save_every = 1

    def on_train_start(self):
        torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
        super().on_train_start()
        self.print_to_log_file(f'Delineate CPU trainer: {self.num_epochs} epochs x {self.num_iterations_per_epoch} '
                               f'iterations, deadline {_deadline()}')

    def run_training(self):
        # nnUNetTrainer.run_training plus a wall-clock deadline checked after each epoch
        self.on_train_start()
        while self.current_epoch < self.num_epochs:
            self._reread_epochs()
            if self.current_epoch >= self.num_epochs:
                break
            self.on_epoch_start()
            self.on_train_epoch_start()
            train_outputs = []
            for batch_id in range(self.num_iterations_per_epoch):
                train_outputs.append(self.train_step(next(self.dataloader_train)))
            self.on_train_epoch_end(train_outputs)
            with torch.no_grad():
                self.on_validation_epoch_start()
                val_outputs = []
                for batch_id in range(self.num_val_iterations_per_epoch):
                    val_outputs.append(self.validation_step(next(self.dataloader_val)))
                self.on_validation_epoch_end(val_outputs)
            self.on_epoch_end()
            dl = _deadline()
            if dl is not None and time.time() > dl and self.current_epoch < self.num_epochs:
                self.print_to_log_file(f'Deadline reached after {self.current_epoch} of {self.num_epochs} epochs: '
                                       f'stopping early (learning rate not fully decayed).')
                break
        self.on_train_end()

    def _reread_epochs(self):
        # The epoch count can be changed while a fold trains (file <control>/epochs_fold_<k>), so that a run can be
        # fitted to the CPU time that is actually left; the poly learning-rate schedule follows the new length.
        v = _read(f'epochs_fold_{self.fold}')
        if v is None:
            return
        n = max(int(v), self.current_epoch + 1)
        if n != self.num_epochs:
            self.print_to_log_file(f'Epoch count changed at run time: {self.num_epochs} -> {n}')
            self.num_epochs = n
            self.lr_scheduler.max_steps = n

    def perform_actual_validation(self, save_probabilities: bool = False):
        torch.set_num_threads(int(os.environ.get('DELINEATE_TORCH_THREADS', '1')))
        return super().perform_actual_validation(save_probabilities)
