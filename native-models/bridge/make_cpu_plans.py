#!/usr/bin/env python3
"""Derive the CPU-affordable plans 'nnUNetPlansCPU' for Dataset501.

Step 1 (nnU-Net's own planner; run before this script):
  nnUNetv2_plan_experiment -d 501 -overwrite_target_spacing 6.5 1.375 1.375 -gpu_memory_target 2 \
      -overwrite_plans_name nnUNetPlansCPU
  -> 3d_fullres at 6.5 x 1.375 x 1.375 mm (in-plane 2x coarser than the median 0.6875 mm), patch 24x128x128,
     batch 2, 6 stages, kernels (1,3,3)x2 then (3,3,3), features 32..320.
Step 2 (this script): feature counts (16,32,64,96,96,96): 3.6 M instead of 30.3 M parameters (14.5 MB of ONNX
  per fold, so three folds stay well under 100 MB); (16,32,64,128,160,160) = 7.6 M params was
  measured at 4.4 s instead of 15.3 s per training iteration (batch 2, fwd+bwd, 1 CPU thread).
Then: nnUNetv2_preprocess -d 501 -plans_name nnUNetPlansCPU -c 3d_fullres -np 1
"""
import json, os, sys
pre = os.environ.get("nnUNet_preprocessed", "/work/nnunet_work/preprocessed")
f = os.path.join(pre, "Dataset501_BrainTumourT1c", "nnUNetPlansCPU.json")
p = json.load(open(f))
c = p["configurations"]["3d_fullres"]
ak = c["architecture"]["arch_kwargs"]
assert ak["n_stages"] == 6, ak
ak["features_per_stage"] = [16, 32, 64, 96, 96, 96]
assert c["patch_size"] == [24, 128, 128] and c["batch_size"] == 2, (c["patch_size"], c["batch_size"])
json.dump(p, open(f, "w"), indent=4)
print("wrote", f, ak["features_per_stage"])
