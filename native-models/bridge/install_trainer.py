#!/usr/bin/env python3
"""Copy nnUNetTrainerDelineateCPU.py into the installed nnunetv2 package (variants/) so that
`nnUNetv2_train ... -tr nnUNetTrainerDelineateCPU` finds it. Idempotent."""
import os, shutil
import nnunetv2
here = os.path.dirname(os.path.abspath(__file__))
dst = os.path.join(os.path.dirname(nnunetv2.__file__), 'training', 'nnUNetTrainer', 'variants', 'delineate')
os.makedirs(dst, exist_ok=True)
open(os.path.join(dst, '__init__.py'), 'a').close()
shutil.copy(os.path.join(here, 'nnUNetTrainerDelineateCPU.py'), dst)
print('installed into', dst)
