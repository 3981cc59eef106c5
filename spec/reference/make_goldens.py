"""Write (or check) the PyTorch goldens for the I3D implementation. Dev tool: /usr/bin/python3.

    /usr/bin/python3 spec/reference/make_goldens.py            # --small: spec/fixtures/goldens/
    /usr/bin/python3 spec/reference/make_goldens.py --full     # spec/goldens-full/ (git-ignored)
    /usr/bin/python3 spec/reference/make_goldens.py --check    # reload checkpoints, re-verify
    (--check --full checks the full set; --only NAME restricts to one golden)

Each golden is one model (the zoo's structure; random but well-scaled, seeded weights) and one
input batch of views [V, 3, T, H, W]. Written per golden directory:
  checkpoint.pth        MMAction2/mmcv-style checkpoint {'meta', 'state_dict'[, 'optimizer']}
                        (zip or legacy format, see manifest.json; --full writes both)
  input.npy             float32 [V, 3, T, H, W], normalised-clip-like values ~N(0, 1)
  cls_score.npy         float64 [V, 400] per-view logits: model and input converted to double
  cls_score_fp32.npy    float32 [V, 400] the same in float32 (what MMAction2 itself computes)
  features.npy          float64 [V, C] globally average-pooled backbone features
  probs.npy             float64 [1, 400] average_clips='prob' (softmax per view, mean over views)
  scores.npy            float64 [1, 400] average_clips='score' (mean of logits over views)
  manifest.json         config, shapes, seeds, torch version, fp32-vs-fp64 errors, top-5 per view
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))

from i3d_reference import (BasicBlock3d, Bottleneck3d, ConvModule, NonLocal3d,  # noqa: E402
                           Recognizer3D, average_clip, build_recognizer, count_parameters,
                           zoo_model_cfg)
from legacy_checkpoint import check_against_torch, save_legacy, seeded_keys  # noqa: E402

REPO = HERE.parent.parent
SMALL_DIR = REPO / "spec" / "fixtures" / "goldens"
FULL_DIR = REPO / "spec" / "goldens-full"

# name -> (non-local mode, zoo config name, small checkpoint format, small checkpoint has optimizer)
# The small set covers each checkpoint flavour once: a user's training checkpoint (zip, with SGD
# state) and the zoo's published files (2020 legacy, newer zip; optimizer dropped).
CONFIGS = {
    "i3d_r50": (None, "i3d_r50_32x2x1_100e_kinetics400_rgb", "zip", True),
    "i3d_nl_embedded_gaussian_r50": ("embedded_gaussian",
                                     "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb",
                                     "legacy", False),
    "i3d_nl_gaussian_r50": ("gaussian", "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb",
                            "zip", False),
    "i3d_nl_dot_product_r50": ("dot_product", "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb",
                               "legacy", False),
}

SMALL_BASE = 8
# 16 frames keep T=2 after pool2, so layers 2-4 run their (3,1,1) convs over real temporal
# neighbours plus zero padding; 56x48 (H != W, to catch transposed axes) gives odd sizes (7x6
# after layer2 -> the non-local (1,2,2) pool floors 7 to 3) and non-local blocks with 84 queries /
# 18 keys (layer2) and 24 queries / 4 keys (layer3). All four goldens share this input, so git
# stores it once.
SMALL_INPUT = (2, 3, 16, 56, 48)
FULL_INPUTS = {"224": (1, 3, 32, 224, 224), "256": (1, 3, 32, 256, 256)}

INPUT_SEED = 20240601
CALIB_SEED = 7301
WEIGHT_SEED = 1000  # + config index * 100 + reseed attempt

MIN_LOGIT_GAP = 1e-2
TARGET_LOGIT_STD = 3.0
NL_PAIRWISE_STD = 1.5

FAKE_EPOCH = 100
FAKE_ITER = 117_200  # 100 epochs of Kinetics-400 at 8 GPUs x 8 clips


# --------------------------------------------------------------------------------------------
# Deterministic inputs


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Linear interpolation (align_corners) from n_in samples to n_out, as a matrix."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        pos = i * (n_in - 1) / max(n_out - 1, 1)
        lo = min(int(math.floor(pos)), n_in - 2)
        frac = pos - lo
        m[i, lo] += 1 - frac
        m[i, lo + 1] += frac
    return m


def make_clip(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """float32 [V, 3, T, H, W] ~N(0,1): per-view smooth random fields plus pixel noise, so the
    views of a batch really differ after global pooling (white noise alone would average out)."""
    v, c, t, h, w = shape
    rng = np.random.Generator(np.random.PCG64(seed))
    coarse = rng.standard_normal((v, c, max(t // 4, 2), max(h // 8, 2), max(w // 8, 2)))
    mt, mh, mw = (_interp_matrix(t, coarse.shape[2]), _interp_matrix(h, coarse.shape[3]),
                  _interp_matrix(w, coarse.shape[4]))
    smooth = np.einsum("ta,hb,wc,vkabc->vkthw", mt, mh, mw, coarse, optimize=True)
    gain = rng.uniform(0.5, 1.5, size=(v, c, 1, 1, 1))
    x = gain * smooth + 0.5 * rng.standard_normal(shape)
    x = (x - x.mean(axis=(0, 2, 3, 4), keepdims=True)) / x.std(axis=(0, 2, 3, 4), keepdims=True)
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Seeded, well-scaled weights


def _round_sig(t: torch.Tensor, digits: int = 4) -> torch.Tensor:
    """Round to `digits` significant decimal digits, so stats computed from activations are the
    same bytes on any machine (float noise of ~1e-15 almost never crosses a rounding boundary)."""
    out = t.detach().double().clone()
    nz = out != 0
    mag = torch.floor(torch.log10(out[nz].abs()))
    scale = torch.pow(10.0, digits - 1 - mag)
    out[nz] = torch.round(out[nz] * scale) / scale
    return out


def _uniform(gen: torch.Generator, shape, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


def randomize_weights(model: Recognizer3D, seed: int, calib: torch.Tensor) -> dict:
    """Kaiming-like convs, BN affine random in sane ranges, BN running stats calibrated on a
    separate seeded clip (then perturbed and rounded), non-zero non-local conv_out BN, fc scaled
    so logits have a std of ~3 units across classes. Returns a few statistics for the manifest."""
    gen = torch.Generator().manual_seed(seed)
    nl_blocks = {id(m) for m in model.modules() if isinstance(m, NonLocal3d)}
    residual_ends = {id(m.conv3) for m in model.modules() if isinstance(m, Bottleneck3d)}
    residual_ends |= {id(m.conv2) for m in model.modules() if isinstance(m, BasicBlock3d)}
    conv_out_ids = {id(m.conv_out) for m in model.modules() if id(m) in nl_blocks}

    with torch.no_grad():
        for name, m in model.named_modules():
            if not isinstance(m, ConvModule):
                continue
            conv = m.conv
            fan_in = conv.in_channels * math.prod(conv.kernel_size)
            gain = 2.0 if m.with_activation else 1.0
            std = math.sqrt(gain / fan_in)
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * std)
            if conv.bias is not None:
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)
            if m.with_norm:
                bn = m.bn
                c = bn.num_features
                if id(m) in conv_out_ids:
                    w = _uniform(gen, c, 0.3, 0.7)
                    b = torch.randn(c, generator=gen) * 0.05
                elif id(m) in residual_ends:
                    w = _uniform(gen, c, 0.25, 0.6)
                    b = torch.randn(c, generator=gen) * 0.05
                elif not m.with_activation:  # downsample
                    w = _uniform(gen, c, 0.6, 1.0)
                    b = torch.randn(c, generator=gen) * 0.05
                else:
                    w = _uniform(gen, c, 0.7, 1.3)
                    b = torch.randn(c, generator=gen) * 0.1 + 0.05
                bn.weight.copy_(w)
                bn.bias.copy_(b)

        # running statistics: measure each BN's input in float64 on the calibration clip, in
        # execution order (a pre-hook sets the stats before the BN uses them), then perturb
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
        perturb = {id(bn): (torch.randn(bn.num_features, generator=gen) * 0.05,
                            _uniform(gen, bn.num_features, 0.8, 1.25)) for bn in bns}
        dmodel = model.double()
        measured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def hook(bn, inputs):
            x = inputs[0]
            mean = x.mean(dim=(0, 2, 3, 4))
            var = x.var(dim=(0, 2, 3, 4), unbiased=False)
            dm, fv = perturb[id(bn)]
            # floor each channel's variance at a quarter of the layer's mean variance: a channel
            # that happens to be near-constant on the calibration clip must not be amplified
            # without bound on other inputs
            var = torch.maximum(var, 0.25 * var.mean()).clamp_min(1e-6)
            bn.running_mean.copy_(_round_sig(mean + dm.double() * var.sqrt()))
            bn.running_var.copy_(_round_sig(var * fv.double()))
            measured[id(bn)] = (mean, var)

        def nl_hook(m, inputs):
            # theta and phi scaled together so the pairwise logits theta.phi have a std of
            # NL_PAIRWISE_STD on the calibration clip: a softmax neither uniform nor one-hot
            if m.mode == "gaussian":
                return
            x = inputs[0]
            n = x.shape[0]
            theta = m.theta(x).view(n, m.inter_channels, -1).permute(0, 2, 1)
            phi = m.phi(x).view(n, m.inter_channels, -1)
            pw_std = torch.matmul(theta, phi).std()
            f = float(_round_sig(torch.sqrt(NL_PAIRWISE_STD / pw_std), 2))
            for conv in (m.theta.conv, m.phi[0].conv if isinstance(m.phi, nn.Sequential) else m.phi.conv):
                conv.weight.mul_(f)
                conv.bias.mul_(f)

        handles = [bn.register_forward_pre_hook(hook) for bn in bns]
        handles += [m.register_forward_pre_hook(nl_hook) for m in model.modules()
                    if isinstance(m, NonLocal3d)]
        feats = dmodel.features(calib.double())
        for h in handles:
            h.remove()
        assert len(measured) == len(bns)

        # fc: logits with a std of ~TARGET_LOGIT_STD across classes on the calibration clip
        fc = dmodel.cls_head.fc_cls
        w = torch.randn(fc.weight.shape, generator=gen).double()
        logit_std = (feats @ w.t()).std(dim=1).mean().item()
        scale = float(_round_sig(torch.tensor(TARGET_LOGIT_STD / logit_std), 2))
        fc.weight.copy_(w * scale)
        fc.bias.copy_(torch.randn(fc.bias.shape, generator=gen).double() * 0.3)
        model.float()
        for bn in bns:
            bn.num_batches_tracked.fill_(FAKE_ITER)
    return {"fc_weight_std": scale}


# --------------------------------------------------------------------------------------------
# MMAction2 / mmcv style checkpoint


def _py(v, indent: int = 0) -> str:
    """A Python-literal rendering like mmcv's Config.pretty_text (dict(...) style)."""
    pad = "    " * (indent + 1)
    if isinstance(v, dict):
        if not v:
            return "dict()"
        items = ",\n".join(f"{pad}{k}={_py(x, indent + 1)}" for k, x in v.items())
        return "dict(\n" + items + ")"
    if isinstance(v, tuple):
        return "(" + ", ".join(_py(x, indent) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_py(x, indent + 1) for x in v) + "]"
    return repr(v)


def config_text(model_cfg: dict, config_name: str) -> str:
    """The merged config as mmcv's Config.pretty_text would print it for the zoo's config."""
    norm = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
    tail = [dict(type="Normalize", **norm), dict(type="FormatShape", input_format="NCTHW"),
            dict(type="Collect", keys=["imgs", "label"], meta_keys=[])]
    train_pipeline = [
        dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=1),
        dict(type="RawFrameDecode"), dict(type="Resize", scale=(-1, 256)),
        dict(type="MultiScaleCrop", input_size=224, scales=(1, 0.8), random_crop=False,
             max_wh_scale_gap=0),
        dict(type="Resize", scale=(224, 224), keep_ratio=False), dict(type="Flip", flip_ratio=0.5),
        *tail, dict(type="ToTensor", keys=["imgs", "label"])]
    val_pipeline = [
        dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=1, test_mode=True),
        dict(type="RawFrameDecode"), dict(type="Resize", scale=(-1, 256)),
        dict(type="CenterCrop", crop_size=224), *tail, dict(type="ToTensor", keys=["imgs"])]
    test_pipeline = [
        dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=10, test_mode=True),
        dict(type="RawFrameDecode"), dict(type="Resize", scale=(-1, 256)),
        dict(type="ThreeCrop", crop_size=256), *tail, dict(type="ToTensor", keys=["imgs"])]
    root = "data/kinetics400/"
    ann_val = root + "kinetics400_val_list_rawframes.txt"
    top = collections.OrderedDict(
        model=model_cfg,
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001),
        optimizer_config=dict(grad_clip=dict(max_norm=40, norm_type=2)),
        lr_config=dict(policy="step", step=[40, 80]),
        total_epochs=FAKE_EPOCH,
        checkpoint_config=dict(interval=5),
        log_config=dict(interval=20, hooks=[dict(type="TextLoggerHook")]),
        dist_params=dict(backend="nccl"),
        log_level="INFO", load_from=None, resume_from=None, workflow=[("train", 1)],
        opencv_num_threads=0, mp_start_method="fork",
        dataset_type="RawframeDataset",
        data_root=root + "rawframes_train", data_root_val=root + "rawframes_val",
        ann_file_train=root + "kinetics400_train_list_rawframes.txt",
        ann_file_val=ann_val, ann_file_test=ann_val,
        img_norm_cfg=norm,
        train_pipeline=train_pipeline, val_pipeline=val_pipeline, test_pipeline=test_pipeline,
        data=dict(videos_per_gpu=8, workers_per_gpu=2, test_dataloader=dict(videos_per_gpu=1),
                  train=dict(type="RawframeDataset", ann_file=root + "kinetics400_train_list_rawframes.txt",
                             data_prefix=root + "rawframes_train", pipeline=train_pipeline),
                  val=dict(type="RawframeDataset", ann_file=ann_val, data_prefix=root + "rawframes_val",
                           pipeline=val_pipeline),
                  test=dict(type="RawframeDataset", ann_file=ann_val, data_prefix=root + "rawframes_val",
                            pipeline=test_pipeline)),
        evaluation=dict(interval=5, metrics=["top_k_accuracy", "mean_class_accuracy"]),
        work_dir=f"./work_dirs/{config_name}/",
        gpu_ids=range(0, 8),
        omnisource=False,
        module_hooks=[])
    return "".join(f"{k} = {_py(v)}\n" for k, v in top.items())


def make_checkpoint(model: Recognizer3D, model_cfg: dict, config_name: str, with_optimizer: bool,
                    seed: int) -> dict:
    meta = {
        "mmaction_version": "0.24.1+5e7a2c9",
        "config": config_text(model_cfg, config_name),
        "env_info": ("sys.platform: linux\nPython: 3.7.7 (default, May  7 2020, 21:25:33) "
                     "[GCC 7.3.0]\nCUDA available: True\nGPU 0,1,2,3,4,5,6,7: Tesla V100-SXM2-32GB"
                     "\nPyTorch: 1.5.0\nTorchVision: 0.6.0a0+82fd1c8\nOpenCV: 4.2.0\n"
                     "MMCV: 1.3.18\nMMCV Compiler: GCC 7.3\nMMCV CUDA Compiler: 10.1\n"
                     "MMAction2: 0.24.1+5e7a2c9"),
        "seed": seed,
        "config_name": config_name + ".py",
        "work_dir": config_name,
        "hook_msgs": {"last_ckpt": f"./work_dirs/{config_name}/epoch_{FAKE_EPOCH}.pth",
                      "best_score": 0.7268, "best_ckpt": f"./work_dirs/{config_name}/best_top1_acc_epoch_95.pth"},
        "epoch": FAKE_EPOCH,
        "iter": FAKE_ITER,
        "mmcv_version": "1.3.18",
        "time": "Fri Aug 14 03:12:45 2020",
    }
    ckpt = {"meta": meta, "state_dict": model.state_dict()}
    if with_optimizer:
        gen = torch.Generator().manual_seed(seed + 17)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        for p in model.parameters():
            opt.state[p]["momentum_buffer"] = torch.randn(p.shape, generator=gen) * 1e-3
        for g in opt.param_groups:
            g["initial_lr"] = 0.01
            g["lr"] = 0.0001  # lr_config step [40, 80]: 0.01 * 0.1 ** 2 at epoch 100
        ckpt["optimizer"] = opt.state_dict()
    return ckpt


def save_checkpoint(ckpt: dict, path: Path, fmt: str, key_seed: int) -> None:
    if fmt == "zip":
        torch.save(ckpt, str(path))
    else:
        with open(path, "wb") as f:
            save_legacy(ckpt, f, seeded_keys(key_seed))


# --------------------------------------------------------------------------------------------
# Running the model


def run_outputs(model: Recognizer3D, x32: torch.Tensor) -> dict:
    """fp64 oracle and fp32 outputs for a batch of views (one backbone pass per dtype; the fp64
    pass also records the activation report)."""
    out = {}
    v = x32.shape[0]
    with torch.no_grad():
        m32 = model.float()
        fmap = m32.backbone(x32)
        out["cls_score_fp32"] = m32.cls_head(fmap).numpy()
        out["features_fp32"] = m32.cls_head.pool(fmap).numpy()
        m64 = model.double()
        rep, handles = install_activation_hooks(m64)
        fmap = m64.backbone(x32.double())
        for h in handles:
            h.remove()
        logits = m64.cls_head(fmap)
        out["activations"] = rep
        out["features"] = m64.cls_head.pool(fmap).numpy()
        out["cls_score"] = logits.numpy()
        out["probs"] = average_clip(logits, v, "prob").numpy()
        out["scores"] = average_clip(logits, v, "score").numpy()
        out["probs_fp32"] = average_clip(torch.from_numpy(out["cls_score_fp32"]), v, "prob").numpy()
        out["scores_fp32"] = average_clip(torch.from_numpy(out["cls_score_fp32"]), v, "score").numpy()
        model.float()
    return out


def fp32_variant_errors(model: Recognizer3D, x32: torch.Tensor, oracle: np.ndarray) -> dict:
    """max |logits - fp64 oracle| for other float32 computations than torch's default, to size
    tolerances: oneDNN off (im2col + sgemm convs), and float32 storage with float64 arithmetic
    (every layer's output rounded to float32, as the TypeScript reference interpreter does)."""
    out = {}
    with torch.no_grad():
        m32 = model.float()
        with torch.backends.mkldnn.flags(enabled=False):
            out["torch_fp32_onednn_off"] = float(np.abs(m32.cls_score(x32).numpy() - oracle).max())
        m64 = model.double()
        leaves = [m for m in m64.modules() if not list(m.children())]
        handles = [m.register_forward_hook(lambda _m, _i, o: o.float().double()) for m in leaves]
        out["fp32_storage_fp64_math"] = float(np.abs(m64.cls_score(x32.double()).numpy() - oracle).max())
        for h in handles:
            h.remove()
        model.float()
    return out


def install_activation_hooks(model: Recognizer3D) -> tuple[dict, list]:
    """Hooks recording the shape and std of every stage output, and what each non-local block
    attends over; returns the report dict (filled by the next forward) and the hook handles."""
    rep: dict = {"stages": {}, "non_local": []}
    handles = []

    def stage_hook(name):
        def h(_m, _i, o):
            rep["stages"][name] = {"shape": list(o.shape), "std": round(float(o.std()), 4)}
        return h

    def nl_hook(name):
        def h(m, i, o):
            x_in = i[0]
            n = x_in.shape[0]
            if m.mode == "gaussian":
                theta = x_in.view(n, m.in_channels, -1).permute(0, 2, 1)
                phi = (m.phi(x_in) if m.sub_sample else x_in).view(n, m.in_channels, -1)
            else:
                theta = m.theta(x_in).view(n, m.inter_channels, -1).permute(0, 2, 1)
                phi = m.phi(x_in).view(n, m.inter_channels, -1)
            pw = torch.matmul(theta, phi)
            if m.mode == "embedded_gaussian" and m.use_scale:
                pw = pw / theta.shape[-1] ** 0.5
            sm = pw.softmax(-1)
            rep["non_local"].append({
                "block": name, "queries": int(pw.shape[1]), "keys": int(pw.shape[2]),
                "pairwise_abs_max": float(f"{float(pw.abs().max()):.4g}"),
                "pairwise_row_range_mean": float(f"{float((pw.max(-1).values - pw.min(-1).values).mean()):.4g}"),
                "softmax_row_max_mean": float(f"{float(sm.max(-1).values.mean()):.4g}"),
                "residual_std_ratio": float(f"{float((o - x_in).std() / x_in.std()):.4g}"),
            })
        return h

    bb = model.backbone
    handles.append(bb.conv1.register_forward_hook(stage_hook("conv1")))
    handles.append(bb.maxpool.register_forward_hook(stage_hook("maxpool")))
    for name in bb.res_layers:
        handles.append(getattr(bb, name).register_forward_hook(stage_hook(name)))
    for name, m in bb.named_modules():
        if isinstance(m, NonLocal3d):
            handles.append(m.register_forward_hook(nl_hook(name.replace(".non_local_block", ""))))
    return rep, handles


def top5(logits: np.ndarray) -> list:
    return [[{"class": int(c), "logit": float(row[c])} for c in np.argsort(-row, kind="stable")[:5]]
            for row in logits]


def min_gap(row: np.ndarray, k: int = 5) -> float:
    s = np.sort(row)[::-1][: k + 1]
    return float(np.min(s[:-1] - s[1:]))


def gaps_ok(out: dict) -> tuple[bool, dict]:
    """Top-5 (and the 6th) must be separated by more than MIN_LOGIT_GAP in every view's logits,
    in the mean logits ('score') and in log of the mean probabilities ('prob'), so a 1e-3
    tolerance cannot reorder them; and float32 must give the same per-view top-5."""
    g = {"per_view_logit": min(min_gap(r) for r in out["cls_score"]),
         "scores": min(min_gap(r) for r in out["scores"]),
         "log_probs": min(min_gap(np.log(r)) for r in out["probs"])}
    same_top5 = all(
        list(np.argsort(-a, kind="stable")[:5]) == list(np.argsort(-b, kind="stable")[:5])
        for a, b in zip(out["cls_score"], out["cls_score_fp32"]))
    ok = (g["per_view_logit"] > MIN_LOGIT_GAP and g["scores"] > MIN_LOGIT_GAP
          and g["log_probs"] > MIN_LOGIT_GAP and same_top5)
    return ok, g


# --------------------------------------------------------------------------------------------
# One golden


def jsonable(v):
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_golden(out_dir: Path, name: str, index: int, base: int, input_shapes: dict,
                 calib_views: int, formats: list[tuple[str, str, bool]], log) -> list[Path]:
    """formats: [(file name, 'zip'|'legacy', with optimizer)]. input_shapes: {suffix: shape};
    one golden directory per input shape (suffix '' -> out_dir/name, else name-suffix)."""
    mode, config_name, _, _ = CONFIGS[name]
    cfg = zoo_model_cfg(mode, base)
    calib_shape = (calib_views,) + tuple(next(iter(input_shapes.values())))[1:]
    inputs = {s: torch.from_numpy(make_clip(shape, INPUT_SEED)) for s, shape in input_shapes.items()}
    # BN statistics come from separate seeded views plus the golden's own first input, so the
    # golden's activations are well scaled by construction
    calib = torch.cat([torch.from_numpy(make_clip(calib_shape, CALIB_SEED)), next(iter(inputs.values()))])
    written = []
    for attempt in range(20):
        seed = WEIGHT_SEED + 100 * index + attempt
        t0 = time.time()
        model = build_recognizer(cfg)
        stats = randomize_weights(model, seed, calib)
        results = {}
        ok_all = True
        for s, x in inputs.items():
            out = run_outputs(model, x)
            ok, g = gaps_ok(out)
            results[s] = (out, g)
            log(f"  {name}{'-' + s if s else ''}: seed {seed}: gaps {g} ({time.time() - t0:.1f}s)")
            ok_all = ok_all and ok
            if not ok:
                break
        if ok_all:
            break
        log(f"  {name}: top-5 not clearly separated, reseeding")
    else:
        raise RuntimeError(f"{name}: no seed gave separated top-5 logits")

    ckpts = {}
    for fname, fmt, with_opt in formats:
        ckpts[fname] = (make_checkpoint(model, cfg, config_name, with_opt, seed), fmt, with_opt)
    first_dir = None
    for s, x in inputs.items():
        d = out_dir / (name if not s else f"{name}-{s}")
        d.mkdir(parents=True, exist_ok=True)
        out, g = results[s]
        ck_info = []
        for fname, (ckpt, fmt, with_opt) in ckpts.items():
            p = d / fname
            if p.exists():
                p.unlink()
            if first_dir is None:
                save_checkpoint(ckpt, p, fmt, key_seed=seed)
            else:
                os.link(first_dir / fname, p)  # full goldens: both input sizes share one file
            ck_info.append({"file": fname, "format": fmt, "optimizer": with_opt,
                            "bytes": p.stat().st_size, "sha256": sha256(p)})
            written.append(p)
        np.save(d / "input.npy", x.numpy())
        np.save(d / "cls_score.npy", out["cls_score"])
        np.save(d / "cls_score_fp32.npy", out["cls_score_fp32"])
        np.save(d / "features.npy", out["features"])
        np.save(d / "probs.npy", out["probs"])
        np.save(d / "scores.npy", out["scores"])
        written += [d / f for f in ("input.npy", "cls_score.npy", "cls_score_fp32.npy",
                                     "features.npy", "probs.npy", "scores.npy")]
        err = {
            "cls_score": float(np.abs(out["cls_score_fp32"] - out["cls_score"]).max()),
            "features": float(np.abs(out["features_fp32"] - out["features"]).max()),
            "probs": float(np.abs(out["probs_fp32"] - out["probs"]).max()),
            "scores": float(np.abs(out["scores_fp32"] - out["scores"]).max()),
            "cls_score_other_fp32_paths": fp32_variant_errors(model, x, out["cls_score"]),
        }
        manifest = {
            "name": d.name,
            "zoo_config": config_name,
            "description": (f"I3D {'' if mode is None else 'non-local ' + mode + ' '}with the zoo's "
                            f"structure, base_channels {base}, seeded random weights"),
            "model": jsonable(cfg),
            "num_parameters": count_parameters(model),
            "num_state_dict_entries": len(model.state_dict()),
            "checkpoints": ck_info,
            "input": {"file": "input.npy", "shape": list(x.shape), "dtype": "float32",
                      "seed": INPUT_SEED, "generator": "make_clip (numpy PCG64)"},
            "outputs": {
                "cls_score": {"file": "cls_score.npy", "shape": list(out["cls_score"].shape),
                              "dtype": "float64", "what": "per-view logits, float64 oracle"},
                "cls_score_fp32": {"file": "cls_score_fp32.npy", "dtype": "float32",
                                   "shape": list(out["cls_score_fp32"].shape),
                                   "what": "per-view logits, float32 torch (MMAction2's own numerics)"},
                "features": {"file": "features.npy", "shape": list(out["features"].shape),
                             "dtype": "float64", "what": "global-average-pooled backbone output"},
                "probs": {"file": "probs.npy", "shape": list(out["probs"].shape), "dtype": "float64",
                          "what": "average_clips='prob': softmax per view, mean over views"},
                "scores": {"file": "scores.npy", "shape": list(out["scores"].shape), "dtype": "float64",
                           "what": "average_clips='score': mean of logits over views"},
            },
            "seeds": {"weights": seed, "input": INPUT_SEED,
                      "calibration_input": f"{list(calib_shape)} from seed {CALIB_SEED} + the first input"},
            "weights": stats,
            "torch_version": torch.__version__,
            "max_abs_fp32_minus_fp64": err,
            "top5": top5(out["cls_score"]),
            "top5_probs": top5(out["probs"])[0],
            "min_top5_gaps": g,
            "activations": out["activations"],
        }
        with open(d / "manifest.json", "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        written.append(d / "manifest.json")
        first_dir = first_dir or d
        log(f"  {d.name}: max|fp32-fp64| logits {err['cls_score']:.3g}, features "
            f"{err['features']:.3g}, probs {err['probs']:.3g}")
    return written


# --------------------------------------------------------------------------------------------
# --check


def check_dir(d: Path, log) -> bool:
    man = json.loads((d / "manifest.json").read_text())
    model = build_recognizer(man["model"])
    x = torch.from_numpy(np.load(d / "input.npy"))
    want = {k: np.load(d / v["file"]) for k, v in man["outputs"].items()}
    ok = True
    for ck in man["checkpoints"]:
        p = d / ck["file"]
        if sha256(p) != ck["sha256"]:
            log(f"  {d.name}/{ck['file']}: sha256 differs from the manifest")
            ok = False
        obj = torch.load(str(p), map_location="cpu")
        if set(obj) != ({"meta", "state_dict", "optimizer"} if ck["optimizer"] else {"meta", "state_dict"}):
            log(f"  {d.name}/{ck['file']}: unexpected top-level keys {sorted(obj)}")
            ok = False
        if ck["format"] == "legacy":
            check_against_torch(obj)  # our legacy writer == torch's, given torch's storage keys
        sd = obj["state_dict"]
        if list(sd.keys()) != list(model.state_dict().keys()):
            log(f"  {d.name}/{ck['file']}: state_dict keys differ from the reference model's")
            ok = False
        model.load_state_dict(sd, strict=True)
        got = run_outputs(model, x)
        checks = [("cls_score", got["cls_score"], want["cls_score"], 1e-9),
                  ("features", got["features"], want["features"], 1e-9),
                  ("probs", got["probs"], want["probs"], 1e-12),
                  ("scores", got["scores"], want["scores"], 1e-9),
                  ("cls_score_fp32", got["cls_score_fp32"], want["cls_score_fp32"], 2e-3)]
        for label, a, b, tol in checks:
            diff = float(np.abs(a - b).max())
            good = diff <= tol and a.shape == b.shape and a.dtype == b.dtype
            ok = ok and good
            log(f"  {d.name}/{ck['file']} ({ck['format']}): {label} max diff {diff:.3g} "
                f"{'ok' if good else f'FAIL (tol {tol})'}")
    return ok


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="committed goldens (default)")
    size.add_argument("--full", action="store_true", help="full-size goldens (git-ignored)")
    ap.add_argument("--check", action="store_true", help="verify saved goldens instead of writing")
    ap.add_argument("--only", action="append", choices=sorted(CONFIGS), help="restrict to a config")
    ap.add_argument("--out", type=Path, help="output directory (default by size)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: reproducible)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out_dir = args.out or (FULL_DIR if args.full else SMALL_DIR)
    names = args.only or list(CONFIGS)
    log = lambda s: print(s, flush=True)  # noqa: E731

    if args.check:
        dirs = sorted(d for d in out_dir.iterdir() if (d / "manifest.json").exists()
                      and any(d.name == n or d.name.startswith(n + "-") for n in names))
        if not dirs:
            log(f"no goldens under {out_dir}")
            return 1
        results = [check_dir(d, log) for d in dirs]
        log("check: " + ("all ok" if all(results) else "FAILED"))
        return 0 if all(results) else 1

    t_all = time.time()
    for name in names:
        index = list(CONFIGS).index(name)
        t0 = time.time()
        if args.full:
            formats = [("checkpoint.pth", "zip", True), ("checkpoint_legacy.pth", "legacy", False)]
            write_golden(out_dir, name, index, 64, FULL_INPUTS, 1, formats, log)
        else:
            _, _, fmt, with_opt = CONFIGS[name]
            write_golden(out_dir, name, index, SMALL_BASE, {"": SMALL_INPUT}, 2,
                         [("checkpoint.pth", fmt, with_opt)], log)
        log(f"{name}: {time.time() - t0:.1f}s")
    log(f"total {time.time() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
