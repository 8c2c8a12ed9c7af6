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
Step 3 (optional, --patch 24 64 64): a smaller patch. The first session trained fold 0 for epochs 0-9 with
  24x128x128, epochs 10-11 with 24x96x96 and from epoch 12 on with 24x64x64 (same network; the patch only changes
  the crops seen in training and the sliding window at inference), because the shared 2-core machine (load 20-30
  from other builds) gave this niced process ~0.35 core, epochs took 300+ s, and after 300 iterations the model
  had not left the all-background solution: the tumour is 0.1-0.3 % of the voxels, and a smaller patch around it
  both raises the foreground fraction per crop and gives more iterations per CPU-second.
2D plans (session 2, the bundled model from 0.2.0 on): the slices are 5 mm thick with 6.5 mm spacing, so there is
  little through-plane context to learn from, and a 2D network sees a whole slice (160x160 at 1.375 mm covers the
  220 mm field of view) per sample, many more samples per CPU-second and batch statistics over 8 slices:
  nnUNetv2_plan_experiment -d 501 -overwrite_target_spacing 6.5 1.375 1.375 -gpu_memory_target 4 \
      -overwrite_plans_name nnUNetPlans2DCPU
  python make_cpu_plans.py --plans nnUNetPlans2DCPU --config 2d
  -> 2d at 1.375 mm, patch 160x160, features (16,32,64,128,256,256) (5.2 M parameters), batch 8:
     0.70 s per training iteration (fwd+bwd, 1 CPU thread) against 1.42 s for the planner's (32..512, batch 5).
  nnUNetv2_preprocess -d 501 -plans_name nnUNetPlans2DCPU -c 2d -np 1
Then (3d): nnUNetv2_preprocess -d 501 -plans_name nnUNetPlansCPU -c 3d_fullres -np 1 (the patch does not change the
  preprocessed data)
"""
import argparse, json, os, sys
ap = argparse.ArgumentParser()
ap.add_argument("--patch", nargs=3, type=int, default=None,
                help="patch size override (tensor order), e.g. 24 64 64; must be divisible by 4, 32, 32")
ap.add_argument("--plans", default="nnUNetPlansCPU", help="plans name (file <plans>.json)")
ap.add_argument("--config", default="3d_fullres", choices=["3d_fullres", "2d"])
a = ap.parse_args()
pre = os.environ.get("nnUNet_preprocessed", "/work/nnunet_work/preprocessed")
f = os.path.join(pre, "Dataset501_BrainTumourT1c", a.plans + ".json")
p = json.load(open(f))
c = p["configurations"][a.config]
ak = c["architecture"]["arch_kwargs"]
assert ak["n_stages"] == 6, ak
if a.config == "2d":
    assert c["patch_size"] == [160, 160], c["patch_size"]
    ak["features_per_stage"] = [16, 32, 64, 128, 256, 256]
    c["batch_size"] = 8
else:
    ak["features_per_stage"] = [16, 32, 64, 96, 96, 96]
    assert c["batch_size"] == 2, c["batch_size"]
if a.patch:
    assert a.patch[0] % 4 == 0 and a.patch[1] % 32 == 0 and a.patch[2] % 32 == 0, a.patch
    c["patch_size"] = a.patch
json.dump(p, open(f, "w"), indent=4)
print("wrote", f, ak["features_per_stage"], c["patch_size"])
