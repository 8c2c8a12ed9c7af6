#!/usr/bin/env python3
"""Assemble native-models/brain-tumour-t1c from the nnU-Net training in $nnUNet_results:
ONNX per fold + manifest.json (via export_nnunet.py), learning curves (progress.png per fold and a CSV of
epoch, train loss, val loss, pseudo-Dice taken from the checkpoint's training log), cross-validation Dice
(nnU-Net's own validation of each fold on its held-out patient: fold_k/validation/summary.json) and MODEL_CARD.md.

  make_tumour_release.py [--results $nnUNet_results] [--out native-models/brain-tumour-t1c] [--folds 0 1 2]

For each fold the first existing checkpoint of --prefer is used (default: checkpoint_final.pth, else
checkpoint_latest.pth; anything but the final one is marked as partial in the card). Folds with none are skipped.
"""
import argparse, csv, json, os, shutil, subprocess, sys, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = 'nnUNetTrainerDelineateCPU'
DATASET = 'Dataset501_BrainTumourT1c'
HELD_OUT = {0: 'PGBM-001 (2 studies)', 1: 'PGBM-003 (2 studies)', 2: 'PGBM-006 (1 study; its other study has no T1c)'}


def curve_rows(ckpt):
    import torch
    c = torch.load(ckpt, map_location='cpu', weights_only=False)
    lg = c.get('logging', {})
    n = len(lg.get('train_losses', []))
    rows = []
    for e in range(n):
        def g(k):
            v = lg.get(k, [])
            x = v[e] if e < len(v) else None
            try:
                return None if x is None else float(x)
            except (TypeError, ValueError):
                return None
        st, en = g('epoch_start_timestamps'), g('epoch_end_timestamps')
        rows.append({'epoch': e, 'train_loss': g('train_losses'), 'val_loss': g('val_losses'),
                     'pseudo_dice': g('mean_fg_dice'), 'ema_pseudo_dice': g('ema_fg_dice'), 'lr': g('lrs'),
                     'epoch_seconds': (en - st) if (st is not None and en is not None) else None})
    return rows, c


def fmt(x, d=4):
    return '' if x is None else (f'{float(x):.{d}f}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default=os.environ.get('nnUNet_results', '/work/nnunet_work/results'))
    ap.add_argument('--out', default=os.path.join(os.path.dirname(HERE), 'brain-tumour-t1c'))
    ap.add_argument('--folds', nargs='+', type=int, default=[0, 1, 2])
    ap.add_argument('--version', default='0.1.0')
    ap.add_argument('--bundle', nargs='+', type=int, default=None,
                    help='folds to export into the model (default: every trained fold); the others are still '
                         'reported in the card')
    ap.add_argument('--prefer', nargs='+', default=['checkpoint_final.pth', 'checkpoint_latest.pth'],
                    help='checkpoint names tried in order per fold (use a copy of checkpoint_latest.pth taken '
                         'between epochs while training runs, e.g. checkpoint_snapshot.pth)')
    ap.add_argument('--plans', default='nnUNetPlans2DCPU')
    ap.add_argument('--config', default='2d', choices=['2d', '3d_fullres'])
    a = ap.parse_args()
    PLANS, CONF = a.plans, a.config
    folder = os.path.join(a.results, DATASET, f'{TRAINER}__{PLANS}__{CONF}')
    plans = json.load(open(os.path.join(folder, 'plans.json')))
    pc = plans['configurations'][CONF]
    batch = pc['batch_size']
    patch_txt = 'x'.join(str(x) for x in pc['patch_size'])
    feats_txt = '-'.join(str(x) for x in pc['architecture']['arch_kwargs']['features_per_stage'])
    spacing_txt = ' x '.join(f'{x:g}' for x in pc['spacing'])
    if not os.path.isdir(folder):
        sys.exit(f'no training folder {folder}')
    os.makedirs(a.out, exist_ok=True)
    spec, info, untrained = [], {}, []
    for f in a.folds:
        fd = os.path.join(folder, f'fold_{f}')
        final = os.path.join(fd, 'checkpoint_final.pth')
        ck = next((os.path.join(fd, n) for n in a.prefer if os.path.isfile(os.path.join(fd, n))), None)
        if ck is None:
            print(f'fold {f}: no checkpoint, skipped')
            untrained.append(f)
            continue
        spec.append(f'{f}:{os.path.basename(ck)}')
        rows, c = curve_rows(ck)
        with open(os.path.join(a.out, f'learning_curve_fold_{f}.csv'), 'w', newline='') as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()) if rows else ['epoch'])
            w.writeheader()
            for r in rows:
                w.writerow(r)
        if os.path.isfile(os.path.join(fd, 'progress.png')):
            shutil.copy(os.path.join(fd, 'progress.png'), os.path.join(a.out, f'learning_curve_fold_{f}.png'))
        summ = os.path.join(fd, 'validation', 'summary.json')
        dice = None
        if os.path.isfile(final) and os.path.isfile(summ):
            s = json.load(open(summ))
            dice = {'mean': s['foreground_mean']['Dice'],
                    'cases': {os.path.basename(x['prediction_file']).replace('.nii.gz', ''): x['metrics']['1']['Dice']
                              for x in s['metric_per_case']},
                    'cases_fp_fn': {os.path.basename(x['prediction_file']).replace('.nii.gz', ''):
                                    (x['metrics']['1']['TP'], x['metrics']['1']['FP'], x['metrics']['1']['FN'])
                                    for x in s['metric_per_case']}}
        secs = [r['epoch_seconds'] for r in rows if r['epoch_seconds']]
        info[f] = {'checkpoint': os.path.basename(ck), 'final': ck == final, 'epochs': len(rows),
                   'iterations': len(rows) * 25, 's_per_epoch': (sum(secs) / len(secs)) if secs else None,
                   'last': rows[-1] if rows else None, 'dice': dice}
    if a.bundle is not None:
        spec = [x for x in spec if int(x.split(':')[0]) in a.bundle]
    if not spec:
        sys.exit('nothing to export')
    bundled = [int(x.split(':')[0]) for x in spec]
    not_bundled = [f for f in info if f not in bundled]

    # card notes (appended to the generic card written by export_nnunet.py)
    eps = sorted({d['epochs'] for d in info.values()})
    ep_txt = '/'.join(str(e) for e in eps)
    it_txt = '/'.join(str(e * 25) for e in eps)
    L = []
    L += ['## Intended use', '',
          'Research and demonstration: a first, automatic outline of **contrast-enhancing glioblastoma tissue** on a',
          'T1-weighted post-contrast brain MR series, to be reviewed and corrected by a person in Delineate.',
          '**Not for clinical decisions** (diagnosis, treatment planning, response assessment). Each fold was',
          'trained on the 3-4 studies of two patients from one public collection, at a CPU-affordable size and',
          'length; expect failures on other scanners, protocols, resolutions and pathologies. It only sees the',
          'T1 post-contrast image, so it cannot tell enhancing tumour from other enhancing structures (vessels,',
          'dura, choroid plexus) except by shape and context.', '']
    L += ['## Data and licence', '',
          '- TCIA collection **Brain-Tumor-Progression** (Schmainda KM, Prah M. Data from Brain-Tumor-Progression.',
          '  The Cancer Imaging Archive, 2018. doi:10.7937/K9/TCIA.2018.15quzvnb), patients PGBM-001, PGBM-003,',
          '  PGBM-006, two time points each, as redistributed in the Udacity course repository',
          '  udacity/nd320-c3-3d-med-imaging (commit cdf9ad8, no licence file of its own) and converted to NIfTI with',
          '  dcm2niix (see `../shared/data/tcia-brain-tumor-progression/PROVENANCE.txt`).',
          '- Licence: TCIA lists the collection under **Creative Commons Attribution 3.0** (CC BY 3.0; not',
          '  re-verifiable offline). Cite the DOI above and Clark K et al., *The Cancer Imaging Archive (TCIA):',
          '  maintaining and operating a public information repository*, J Digit Imaging 2013;26(6):1045-57.',
          '- Input: `T1post` (T1-weighted, post-contrast), single channel. FLAIR exists only for some studies, so it',
          '  is not used. Labels: the collection\'s `MaskTumor` series (0/1 enhancing tumour ROI, Imaging',
          '  Biometrics software, released by TCIA as reference masks).',
          '- Images: axial-oblique 2D acquisitions, 22-25 slices of 5 mm with 6.5 mm spacing, in-plane 0.43 or',
          '  0.6875 mm (Siemens 3T 320x260/280 and GE 512x512).',
          '- **Excluded:** PGBM-006 study of 1997-02-11: it has no T1 post-contrast series (only `T1prereg`, a',
          '  pre-contrast image), and an enhancing-tumour mask cannot be learnt from an image without contrast.',
          '  5 studies were used: PGBM-001 x2, PGBM-003 x2, PGBM-006 x1.', '']
    L += ['## Training', '']
    if CONF == '2d':
        L += [f'- nnU-Net v2 (2.8.1) from PyPI, **2d configuration**, plans `{PLANS}`',
              '  (`native-models/bridge/make_cpu_plans.py`): nnU-Net\'s planner with target spacing 6.5 x 1.375 x 1.375 mm',
              f'  (in-plane 2x coarser than the median 0.6875 mm) -> 2d at {spacing_txt} mm, patch {patch_txt} (the whole',
              f'  220 mm field of view of a slice), 6-stage PlainConvUNet with features {feats_txt} (reduced from',
              f'  32..512 for the CPU), batch {batch}. Why 2d: the slices are 5 mm thick with 6.5 mm spacing, so there',
              '  is little through-plane context to learn, and a 2d network sees a whole slice per sample, many more',
              '  samples per CPU-second and instance statistics of whole slices. A first 3d_fullres attempt (session 1,',
              '  patch 24x64x64, 1750 iterations on a machine shared with other builds) reached Dice 0.00 on its',
              '  held-out patient.',
              '  Per-image z-score normalisation, nnU-Net\'s default 2d augmentation, Dice + cross-entropy loss with deep',
              '  supervision, SGD (Nesterov, momentum 0.99), poly LR from 0.01.',
              '- Trainer `nnUNetTrainerDelineateCPU` (`native-models/bridge/nnUNetTrainerDelineateCPU.py`): 25 training',
              f'  and 5 validation iterations per epoch, {ep_txt} epochs per fold ({it_txt} iterations of batch {batch}; nnU-Net\'s',
              '  default is 1000 x 250 = 250 000), foreground oversampling 0.5, one CPU thread per fold (`-device cpu`),',
              '  the three folds trained side by side on a 2-core machine. The epoch count was set from the',
              '  measured epoch time so that the poly schedule ends when the CPU time did (the trainer re-reads it',
              '  each epoch; any change is in the training log).',
              ]
    else:
        L += [f'- nnU-Net v2 (2.8.1) from PyPI, 3d_fullres, plans `{PLANS}` at {spacing_txt} mm, patch {patch_txt},',
              f'  batch {batch}, features {feats_txt} (see `native-models/bridge/make_cpu_plans.py`).',
              f'- Trainer `nnUNetTrainerDelineateCPU`: 25 training and 5 validation iterations per epoch, {ep_txt} epochs',
              f'  ({it_txt} iterations of batch {batch}), foreground oversampling 0.5, one CPU thread.',
              ]
    L += ['- Cross-validation **by patient**: 3 folds, each holding out all studies of one patient',
          '  (`splits_final.json` written by `prepare_tcia_dataset.py --splits`).',
          ]
    if len(bundled) > 1:
        L += ['- Ensemble: the exported folds are averaged at inference. Each fold saw 2 of the 3 patients; together',
              '  they saw all 5 studies, so the ensemble has **no held-out estimate of its own**; the per-fold',
              '  numbers below are the honest estimate for a new patient.', '']
    else:
        f0 = bundled[0]
        L += [f'- **Only fold {f0} is bundled**: it was trained on the studies of the two other patients and never saw',
              f'  {HELD_OUT.get(f0, "?")}; its cross-validation Dice below is a held-out estimate for this very',
              '  network.', '']
    if not_bundled:
        L += [f'- Trained but **not bundled: fold(s) {", ".join(str(u) for u in not_bundled)}** (too short a training to',
              '  add to the ensemble; reported below for the cross-validation estimate only).', '']
    if untrained:
        L += [f'- **Not trained: fold(s) {", ".join(str(u) for u in untrained)}** (CPU time ran out in the first session;',
              '  see `native-models/bridge/TRAINING.md` to train them). So there is no cross-validation estimate for',
              '  ' + ', '.join(HELD_OUT.get(u, '?') for u in untrained) + '.', '']
    L += ['## Cross-validation (nnU-Net\'s validation of each fold on its held-out patient)', '',
          '| fold | held-out patient | checkpoint | epochs | s/epoch | Dice per held-out study | mean Dice |',
          '|---|---|---|---|---|---|---|']
    for f, d in info.items():
        if d['dice']:
            per = '; '.join(f'{k}: {v:.3f}' for k, v in d['dice']['cases'].items())
            mean = f"**{d['dice']['mean']:.3f}**"
        else:
            per, mean = 'not validated yet (training unfinished)', '-'
        L.append(f"| {f} | {HELD_OUT.get(f, '?')} | `{d['checkpoint']}`{'' if d['final'] else ' (partial)'} | "
                 f"{d['epochs']} | {fmt(d['s_per_epoch'], 0)} | {per} | {mean} |")
    for u in untrained:
        L.append(f"| {u} | {HELD_OUT.get(u, '?')} | - | 0 | - | not trained | - |")
    done = [d['dice']['mean'] for d in info.values() if d['dice']]
    if done:
        L += ['', f'Mean over validated folds: **{sum(done) / len(done):.3f}** '
                  f'({len(done)} fold(s)). Goal was Dice >= 0.7 on an unseen patient; '
                  + ('reached.' if min(done) >= 0.7 else 'not reached on any fold.' if max(done) < 0.7
                     else 'not reached on every fold (see above).')]
    L += ['', 'Dice is nnU-Net\'s `summary.json` (foreground label 1) on the original image grid, computed by',
          '`nnUNetv2_train`\'s final validation (sliding window, tile step 0.5, Gaussian, mirroring on the manifest\'s axes).',
          '']
    L += ['## Learning curves', '']
    for f, d in info.items():
        L.append(f"- fold {f}: `learning_curve_fold_{f}.png` (nnU-Net's progress.png) and "
                 f"`learning_curve_fold_{f}.csv` (epoch, train_loss, val_loss, pseudo_dice, ema_pseudo_dice, lr, "
                 f"epoch_seconds; from the checkpoint's training log)" +
                 (f"; last epoch: train {fmt(d['last']['train_loss'])}, val {fmt(d['last']['val_loss'])}, "
                  f"pseudo-Dice {fmt(d['last']['pseudo_dice'], 3)}" if d['last'] else ''))
    L += ['', 'Pseudo-Dice is nnU-Net\'s per-epoch estimate on 5 random validation patches (foreground-oversampled),',
          'not the full-volume Dice.', '', '## Reproduce', '',
          'See `native-models/bridge/TRAINING.md`.', '']
    findings = os.path.join(HERE, 'tumour_card_findings.md')  # hand-written observations, kept with the card
    if os.path.isfile(findings):
        L += ['', open(findings).read()]
    notes = os.path.join(a.out, '.card_notes.md')
    open(notes, 'w').write('\n'.join(L))
    prov = os.path.join(a.out, '.prov.json')
    json.dump({'trainingData': 'TCIA Brain-Tumor-Progression PGBM-001/-003/-006 (5 studies), CC BY 3.0, '
                               'doi:10.7937/K9/TCIA.2018.15quzvnb',
               'heldOutPatientPerFold': {str(k): v for k, v in HELD_OUT.items()},
               'crossValidationDice': {str(f): (d['dice']['mean'] if d['dice'] else None) for f, d in info.items()},
               'notForClinicalUse': True}, open(prov, 'w'))
    cmd = [sys.executable, os.path.join(HERE, 'export_nnunet.py'), folder, '--out', a.out, '--folds', *spec,
           '--id', 'brain-tumour-t1c', '--name', 'Enhancing brain tumour (T1 post-contrast MR)',
           '--version', a.version, '--card-notes', notes, '--provenance', prov,
           '--description', 'Segments contrast-enhancing glioblastoma tissue on T1-weighted post-contrast brain MR. '
                            f'nnU-Net v2 {CONF}, trained on the CPU on 5 studies of 3 patients (TCIA '
                            'Brain-Tumor-Progression). Research use only; not for clinical decisions.']
    r = subprocess.run(cmd)
    os.remove(notes)
    os.remove(prov)
    # drop ONNX files of folds that are no longer exported
    keep = {f'fold_{s.split(":")[0]}.onnx' for s in spec}
    for fn in os.listdir(a.out):
        if fn.endswith('.onnx') and fn not in keep:
            os.remove(os.path.join(a.out, fn))
    json.dump({str(k): v for k, v in info.items()}, open(os.path.join(a.out, 'training_summary.json'), 'w'),
              indent=2, default=str)
    return r.returncode


if __name__ == '__main__':
    sys.exit(main())
