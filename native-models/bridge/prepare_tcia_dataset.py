#!/usr/bin/env python3
"""Build the nnU-Net v2 raw dataset Dataset501_BrainTumourT1c from the TCIA Brain-Tumor-Progression NIfTI
conversion in ../shared/data, and (optionally) the patient-wise cross-validation split.

Usage:
  prepare_tcia_dataset.py --data-root /work/shared/data --work /work/nnunet_work [--splits]

- Input channel 0000: T1 post-contrast (<study>_T1post.nii.gz), single channel.
- Label: <study>_MaskTumor.nii.gz (0 background, 1 enhancing tumour), rewritten as uint8 with the image's geometry.
- PGBM-006_02-11-1997 is EXCLUDED: it has no T1 post-contrast series (only T1prereg, a pre-contrast image), and the
  enhancing-tumour mask is defined by contrast enhancement, which a pre-contrast image does not show.
- Images are symlinked (never copied); labels are re-written (uint16 -> uint8) into the raw folder.
- --splits writes splits_final.json into the preprocessed dataset folder: one fold per patient (all studies of that
  patient held out together). Run it after nnUNetv2_plan_and_preprocess has created that folder (or before; it
  creates the folder).
"""
import argparse, json, os, sys
from pathlib import Path

DATASET_ID = 501
DATASET_NAME = f"Dataset{DATASET_ID:03d}_BrainTumourT1c"
EXCLUDED = {"PGBM-006_02-11-1997": "no T1 post-contrast series (only T1prereg)"}


def studies(nifti_root: Path):
    for d in sorted(p for p in nifti_root.iterdir() if p.is_dir()):
        yield d.name, d


def case_id(study: str) -> str:
    # PGBM-001_04-02-1992 -> PGBM001_19920402 (sortable, no dashes needed by nnU-Net but keep it simple)
    pat, date = study.split("_")
    m, d, y = date.split("-")
    return f"{pat.replace('-', '')}_{y}{m}{d}"


def patient_of(case: str) -> str:
    return case.split("_")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="/work/shared/data")
    ap.add_argument("--work", default="/work/nnunet_work")
    ap.add_argument("--splits", action="store_true", help="also write splits_final.json (patient-wise)")
    a = ap.parse_args()
    import SimpleITK as sitk
    import numpy as np

    nifti = Path(a.data_root) / "tcia-brain-tumor-progression" / "nifti"
    if not nifti.is_dir():
        sys.exit(f"not found: {nifti}")
    out = Path(a.work) / "raw" / DATASET_NAME
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    cases = []
    for study, d in studies(nifti):
        if study in EXCLUDED:
            print(f"exclude {study}: {EXCLUDED[study]}")
            continue
        img = d / f"{study}_T1post.nii.gz"
        msk = d / f"{study}_MaskTumor.nii.gz"
        if not img.exists() or not msk.exists():
            sys.exit(f"missing T1post or MaskTumor in {d}")
        cid = case_id(study)
        link = out / "imagesTr" / f"{cid}_0000.nii.gz"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(img.resolve())
        m = sitk.ReadImage(str(msk))
        i = sitk.ReadImage(str(img))
        arr = sitk.GetArrayFromImage(m)
        u = set(np.unique(arr).tolist())
        if not u <= {0, 1}:
            sys.exit(f"{msk}: unexpected label values {u}")
        if m.GetSize() != i.GetSize():
            sys.exit(f"{study}: image/mask size differ")
        lab = sitk.GetImageFromArray(arr.astype(np.uint8))
        lab.CopyInformation(i)  # geometry identical per PROVENANCE (checked by dcm2niix affines)
        sitk.WriteImage(lab, str(out / "labelsTr" / f"{cid}.nii.gz"), True)
        cases.append(cid)
        print(f"{study} -> {cid}  size={i.GetSize()} spacing={tuple(round(s, 4) for s in i.GetSpacing())} "
              f"tumour voxels={int(arr.sum())}")
    ds = {
        "channel_names": {"0": "T1c"},  # not "CT": per-image z-score normalisation
        "labels": {"background": 0, "enhancing_tumour": 1},
        "numTraining": len(cases),
        "file_ending": ".nii.gz",
        "name": DATASET_NAME,
        "description": "TCIA Brain-Tumor-Progression (PGBM-001/-003/-006), T1 post-contrast, enhancing tumour "
                       "masks. PGBM-006_02-11-1997 excluded (no T1 post-contrast).",
        "licence": "TCIA Brain-Tumor-Progression, CC BY 3.0 (doi:10.7937/K9/TCIA.2018.15quzvnb)",
    }
    (out / "dataset.json").write_text(json.dumps(ds, indent=2))
    print(f"wrote {out} with {len(cases)} cases")
    if a.splits:
        pats = sorted({patient_of(c) for c in cases})
        splits = [{"train": [c for c in cases if patient_of(c) != p], "val": [c for c in cases if patient_of(c) == p]}
                  for p in pats]
        pre = Path(a.work) / "preprocessed" / DATASET_NAME
        pre.mkdir(parents=True, exist_ok=True)
        (pre / "splits_final.json").write_text(json.dumps(splits, indent=2))
        for k, s in enumerate(splits):
            print(f"fold {k}: val={s['val']}")


if __name__ == "__main__":
    main()
