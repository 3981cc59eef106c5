"""Writes spec/e2e/fixtures/: what `i3d infer` must print for the committed test media, computed
by MMAction2 0.x's own test pipeline (its classes, loaded from the git mirror by
spec/pipeline/reference/mmaction_code.py) and the PyTorch reference model
(spec/reference/i3d_reference.py) in float64 on the small golden checkpoints.

Dev tool only (/usr/bin/python3: Debian's torch 1.13, numpy, cv2). Nothing in the package or
its tests runs it; spec/e2e/*.test.ts read the committed fixtures.

    /usr/bin/python3 spec/e2e/reference/make_infer_reference.py            # everything, here (~1 h)
    /usr/bin/python3 spec/e2e/reference/make_infer_reference.py --stage pipeline
    /usr/bin/python3 spec/e2e/reference/make_infer_reference.py --export-sources DIR
    python3 spec/e2e/reference/make_infer_reference.py --stage model --device cuda --chunk 10 \
        --threads 16 --fp32-devices cuda,cpu --sources DIR --out OUT      # on a GPU machine

Written (see spec/e2e/fixtures/README.md):
  configs/*.json           the MMAction2 config dicts `i3d infer --config` is given: a golden's
                           model dict + the zoo's data.test (VideoDataset or RawframeDataset)
  reference/inputs.json    per case: total_frames, frame indices, the input tensor's shape and
                           sha256 (--stage pipeline)
  reference/<case>.json    per case: the above + float64 per-view logits, pooled features (some
                           cases), averaged 'prob' and 'score' scores with their top-5 and the gap
                           below each top-5 entry, and torch's own float32 error on the same input
                           (--stage model; --fp32-devices)

Decoding stands in for what this Python lacks (no decord, no PyAV), as in
make_pipeline_fixtures.py: total_frames = the stream's packet count (ffprobe; what decord's len()
gives), frames from cv2.VideoCapture read sequentially, BGR -> RGB. Rawframes go through
MMAction2's RawFrameDecode (mmcv.imfrombytes -> cv2.imdecode).

Float64 on the 2-core dev machine's reference BLAS takes 15-18 s per 3x32x256x256 view (even
for the base-8 model), ~1 h for all cases. The committed fixtures were made in two stages:
`--stage pipeline` on the dev machine (Debian's cv2 4.6, the git mirrors), then `--stage model
--device cuda` on an H200 machine (torch 2.11, cv2 5.0) with `--sources` (the upstream files
written by `--export-sources`; that machine has no git mirror). The model stage reruns the
pipeline with its own cv2 and writes nothing for a case unless the input tensor's sha256 equals
the one recorded in inputs.json, so the model saw exactly the tensor MMAction2 computes on the
dev machine (all cases matched).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(REPO / "spec" / "pipeline" / "reference"))
sys.path.insert(0, str(REPO / "spec" / "reference"))

import mmaction_code  # noqa: E402

MEDIA = REPO / "spec" / "fixtures" / "media"
GOLDENS = REPO / "spec" / "fixtures" / "goldens"
FIXTURES = REPO / "spec" / "e2e" / "fixtures"

MODELS = ["i3d_r50", "i3d_nl_embedded_gaussian_r50", "i3d_nl_gaussian_r50", "i3d_nl_dot_product_r50"]

# The upstream files mmaction_code.py reads (for --export-sources / --sources).
SOURCES = [
    ("MMACTION", "0.x:mmaction/datasets/pipelines/loading.py"),
    ("MMACTION", "0.x:mmaction/datasets/pipelines/augmentations.py"),
    ("MMACTION", "0.x:mmaction/datasets/pipelines/formatting.py"),
    ("MMCV", "1.x:mmcv/image/geometric.py"),
    ("MMCV", "1.x:mmcv/image/photometric.py"),
    ("MMCV", "1.x:mmcv/image/io.py"),
    ("MMCV", "1.x:mmcv/utils/misc.py"),
]

NORM = dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
            to_bgr=False)
TAIL = [dict(type="FormatShape", input_format="NCTHW"),
        dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
        dict(type="ToTensor", keys=["imgs"])]


def video_test_data() -> dict:
    """data.test of i3d_r50_video_32x2x1_100e_kinetics400_rgb (the zoo's VideoDataset config)."""
    return dict(
        type="VideoDataset", ann_file="data/kinetics400/kinetics400_val_list_videos.txt",
        data_prefix="data/kinetics400/videos_val",
        pipeline=[dict(type="DecordInit"),
                  dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=10,
                       test_mode=True),
                  dict(type="DecordDecode"),
                  dict(type="Resize", scale=[-1, 256]),
                  dict(type="ThreeCrop", crop_size=256),
                  NORM] + TAIL)


def rawframes_test_data() -> dict:
    """data.test of i3d_r50_32x2x1_100e_kinetics400_rgb (the zoo's RawframeDataset config)."""
    return dict(
        type="RawframeDataset", ann_file="data/kinetics400/kinetics400_val_list_rawframes.txt",
        data_prefix="data/kinetics400/rawframes_val",
        pipeline=[dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=10,
                       test_mode=True),
                  dict(type="RawFrameDecode"),
                  dict(type="Resize", scale=[-1, 256]),
                  dict(type="ThreeCrop", crop_size=256),
                  NORM] + TAIL)


def config_dict(model: str, kind: str) -> dict:
    manifest = json.loads((GOLDENS / model / "manifest.json").read_text())
    data = video_test_data() if kind == "video" else rawframes_test_data()
    return dict(model=manifest["model"], data=dict(test=data))


def config_name(model: str, kind: str) -> str:
    return f"{model}_{kind}"


# A case: one `i3d infer` call's expected output. clips/crops are the CLI's --clips/--crops
# overrides (None: the config's); window = (first frame, frame count) of a --window slice.
def case(cid, media, model, kind, clips=None, crops=None, features=False, window=None):
    return dict(id=cid, media=media, model=model, config=config_name(model, kind), kind=kind,
                clips=clips, crops=crops, with_features=features, window=window)


def window_frames(total: int, fps: float, window_s: float, stride_s: float) -> list:
    """`--window W --stride S` in frames, the product's definition (runtime/window-source.ts):
    windows of round(W*fps) frames every round(S*fps) frames, the last one cut at the end."""
    size = max(1, math.floor(window_s * fps + 0.5))
    step = max(1, math.floor(stride_s * fps + 0.5))
    out, first = [], 0
    while True:
        count = min(size, total - first)
        if count <= 0:
            break
        out.append((first, count))
        if first + size >= total:
            break
        first += step
    return out


WINDOW = dict(media="test.mp4", fps=30, window=3.5, stride=2.5)

CASES = (
    # the zoo's full test: 10 clips x ThreeCrop(256) = 30 views
    [case(f"demo-{m}", "demo.mp4", m, "video", features=(m == "i3d_r50")) for m in MODELS]
    + [case("test_mp4-i3d_r50", "test.mp4", "i3d_r50", "video", features=True),
       case("test_mp4-i3d_nl_embedded_gaussian_r50", "test.mp4", "i3d_nl_embedded_gaussian_r50",
            "video"),
       case("test_avi-i3d_r50", "test.avi", "i3d_r50", "video", features=True),
       case("test_avi-i3d_nl_dot_product_r50", "test.avi", "i3d_nl_dot_product_r50", "video")]
    # rawframes (10 frames, so every clip loops): --clips 1 -> ThreeCrop = 3 views
    + [case(f"rawframes-clips1-{m}", "rawframes/img", m, "rawframes", clips=1,
            features=(m == "i3d_r50")) for m in MODELS]
    # --clips 1 --crops 1: one view (CenterCrop 256), for the slow WebGPU-on-lavapipe runs
    + [case(f"demo-clips1-crops1-{m}", "demo.mp4", m, "video", clips=1, crops=1) for m in MODELS]
    + [case("test_mp4-clips2-crops1-i3d_r50", "test.mp4", "i3d_r50", "video", clips=2, crops=1),
       case("test_avi-clips2-i3d_r50", "test.avi", "i3d_r50", "video", clips=2, features=True)]
    # --window 3.5 --stride 2.5 --clips 1 --crops 1 on test.mp4 (30 fps, 300 frames)
    + [case(f"test_mp4-window{i}-clips1-crops1-i3d_r50", WINDOW["media"], "i3d_r50", "video",
            clips=1, crops=1, window=w)
       for i, w in enumerate(window_frames(300, WINDOW["fps"], WINDOW["window"], WINDOW["stride"]))]
)


# --------------------------------------------------------------------------------------------
# Upstream code


def use_sources(folder: Path) -> None:
    """Make mmaction_code read the exported upstream files instead of the git mirrors."""
    def git_show(repo, ref_path):
        which = "MMACTION" if repo == mmaction_code.MMACTION else "MMCV"
        return (folder / which / ref_path.replace(":", "/")).read_text()
    mmaction_code.git_show = git_show


def export_sources(folder: Path) -> None:
    for which, ref_path in SOURCES:
        repo = mmaction_code.MMACTION if which == "MMACTION" else mmaction_code.MMCV
        dest = folder / which / ref_path.replace(":", "/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(mmaction_code.git_show(repo, ref_path))
    print(f"upstream sources -> {folder}")


# --------------------------------------------------------------------------------------------
# Pipeline


def packet_count(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                          "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


class VideoFrames:
    """All frames of a video, read once (cv2, sequential, RGB), as DecordDecode returns them."""

    def __init__(self, path: Path):
        import cv2
        cap = cv2.VideoCapture(str(path))
        self.frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            self.frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def pipeline_steps(c: dict) -> list:
    steps = config_dict(c["model"], c["kind"])["data"]["test"]["pipeline"]
    out = []
    for s in steps:
        # the JSON config has lists where the .py config (and mmcv's Config) has tuples
        s = {k: tuple(v) if k == "scale" else v for k, v in s.items()}
        if s["type"] == "SampleFrames" and c["clips"] is not None:
            s["num_clips"] = c["clips"]
        if s["type"] == "ThreeCrop" and c["crops"] == 1:
            s = dict(type="CenterCrop", crop_size=s["crop_size"])  # what --crops 1 means
        out.append(s)
    return out


def run_pipeline(mm, c: dict, videos: dict, totals: dict) -> dict:
    """MMAction2's test pipeline for one case: frame indices and the [V, 3, T, H, W] tensor."""
    steps = pipeline_steps(c)
    media = MEDIA / c["media"]
    sampler = mmaction_code.build(mm, next(s for s in steps if s["type"] == "SampleFrames"))
    if c["kind"] == "rawframes":
        total = len([f for f in os.listdir(media) if f.startswith("img_") and f.endswith(".jpg")])
        results = dict(frame_dir=str(media), total_frames=total, filename_tmpl="img_{:05}.jpg",
                       start_index=1, modality="RGB")
        results = sampler(results)
        results = mm.RawFrameDecode()(results)
        first = 0
    else:
        total = totals[c["media"]]
        first, count = c["window"] if c["window"] else (0, total)
        # a window is a video of `count` frames starting at `first` (runtime/window-source.ts)
        results = dict(filename=str(media), total_frames=count, start_index=0, modality="RGB")
        results = sampler(results)
        frames = videos[c["media"]].frames
        inds = [int(i) + first for i in results["frame_inds"]]
        missing = [i for i in inds if i >= len(frames)]
        assert not missing, f"cv2 cannot read frames {missing} of {media}"
        results["imgs"] = [frames[i].copy() for i in inds]
        results["original_shape"] = results["imgs"][0].shape[:2]
        results["img_shape"] = results["imgs"][0].shape[:2]
    frame_inds = (np.asarray(results["frame_inds"]) + first).reshape(-1, results["clip_len"])
    for step in steps:
        if step["type"] in ("DecordInit", "DecordDecode", "RawFrameDecode", "SampleFrames",
                            "Collect", "ToTensor"):
            continue
        results = mmaction_code.build(mm, step)(results)
    imgs = np.ascontiguousarray(results["imgs"], dtype=np.float32)
    return dict(total_frames=total, frame_indices=frame_inds.tolist(), imgs=imgs,
                sha256=hashlib.sha256(imgs.tobytes()).hexdigest())


def media_totals(recorded: dict | None) -> dict:
    totals = {}
    for name in sorted({c["media"] for c in CASES if c["kind"] == "video"}):
        if shutil.which("ffprobe"):
            totals[name] = packet_count(MEDIA / name)
            if recorded and recorded.get(name) not in (None, totals[name]):
                raise SystemExit(f"{name}: {totals[name]} packets here, {recorded[name]} recorded")
        elif recorded and name in recorded:
            totals[name] = recorded[name]
        else:
            raise SystemExit("ffprobe is needed (or run --stage pipeline first to record counts)")
    return totals


# --------------------------------------------------------------------------------------------
# Model


def load_models(device: str, dtype_name: str = "float64") -> dict:
    import torch
    from i3d_reference import build_recognizer
    models = {}
    for name in MODELS:
        manifest = json.loads((GOLDENS / name / "manifest.json").read_text())
        model = build_recognizer(manifest["model"])
        ckpt = GOLDENS / name / manifest["checkpoints"][0]["file"]
        obj = torch.load(str(ckpt), map_location="cpu", weights_only=False)
        model.load_state_dict(obj["state_dict"], strict=True)
        models[name] = model.to(device, getattr(__import__("torch"), dtype_name)).eval()
    return models


def run_model(model, imgs: np.ndarray, device: str, chunk: int) -> tuple:
    """(logits, features) as float64 numpy arrays, computed in the model's own dtype."""
    import torch
    import torch.nn.functional as F
    dtype = next(model.parameters()).dtype
    logits, feats = [], []
    with torch.no_grad():
        for v in range(0, imgs.shape[0], chunk):
            x = torch.from_numpy(imgs[v:v + chunk]).to(device, dtype)
            fmap = model.backbone(x)
            feats.append(F.adaptive_avg_pool3d(fmap, 1).flatten(1).double().cpu())
            logits.append(model.cls_head(fmap).double().cpu())
    return torch.cat(logits).numpy(), torch.cat(feats).numpy()


def float32_error(models32: dict, c: dict, imgs: np.ndarray, chunk: int, logits: np.ndarray,
                  feats: np.ndarray, avg: dict) -> dict:
    """How far torch's own float32 is from the float64 oracle on this very input, per device:
    the yardstick for what an independent float32 implementation may differ by."""
    out = {}
    for device, models in models32.items():
        l32, f32 = run_model(models[c["model"]], imgs, device, chunk)
        a32 = averaged(l32)
        d = np.abs(l32 - logits)
        out[device] = dict(
            logits=float(d.max()),
            logits_rel=float((d / np.abs(logits).max(axis=1, keepdims=True)).max()),
            features=float(np.abs(f32 - feats).max()),
            prob=float(np.abs(a32["prob"] - avg["prob"]).max()),
            score=float(np.abs(a32["score"] - avg["score"]).max()))
    return out


def averaged(logits: np.ndarray) -> dict:
    """BaseRecognizer.average_clip over all views, float64: 'prob' and 'score'."""
    import torch
    from i3d_reference import average_clip
    t = torch.from_numpy(logits)
    n = logits.shape[0]
    return {mode: average_clip(t, n, mode)[0].numpy() for mode in ("prob", "score")}


def top_with_gaps(row: np.ndarray, k: int = 5) -> dict:
    order = np.argsort(-row, kind="stable")[:k + 1]
    return dict(top5=[int(i) for i in order[:k]],
                gaps=[float(row[order[i]] - row[order[i + 1]]) for i in range(k)])


def f32_b64(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a, dtype="<f4")
    return dict(shape=list(a.shape), dtype="float32",
                base64=base64.b64encode(a.tobytes()).decode())


# --------------------------------------------------------------------------------------------


def write_configs() -> None:
    folder = FIXTURES / "configs"
    folder.mkdir(parents=True, exist_ok=True)
    for model in MODELS:
        for kind in ("video", "rawframes"):
            path = folder / f"{config_name(model, kind)}.json"
            path.write_text(json.dumps(config_dict(model, kind), indent=1) + "\n")
    print(f"configs -> {folder}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", choices=["pipeline", "model", "all"], default="all")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=3, help="views per model call")
    ap.add_argument("--fp32-devices", default="",
                    help="comma-separated devices to measure torch's float32 error on")
    ap.add_argument("--only", help="case ids containing this text")
    ap.add_argument("--sources", type=Path, help="read upstream files from here, not the mirrors")
    ap.add_argument("--export-sources", type=Path, help="write the upstream files here and stop")
    ap.add_argument("--out", type=Path, default=FIXTURES / "reference")
    args = ap.parse_args()

    if args.export_sources:
        export_sources(args.export_sources)
        return 0
    if args.sources:
        use_sources(args.sources)

    import cv2
    inputs_path = FIXTURES / "reference" / "inputs.json"
    recorded = json.loads(inputs_path.read_text()) if inputs_path.exists() else None
    cases = [c for c in CASES if not args.only or args.only in c["id"]]
    if args.stage in ("pipeline", "all"):
        write_configs()
    totals = media_totals(recorded and recorded["total_frames"])

    models, device = None, args.device
    if args.stage in ("model", "all"):
        import torch
        torch.set_num_threads(args.threads)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        models = load_models(device)
        models32 = {d: load_models(d, "float32") for d in args.fp32_devices.split(",") if d}
        args.out.mkdir(parents=True, exist_ok=True)

    mm = mmaction_code.load_mmaction()
    videos = {name: VideoFrames(MEDIA / name) for name in totals}
    record = dict(opencv=cv2.__version__, numpy=np.__version__, total_frames=totals,
                  cv2_frames_read={n: len(v.frames) for n, v in videos.items()},
                  window=WINDOW, cases={})
    mismatched = []
    for c in cases:
        t0 = time.time()
        p = run_pipeline(mm, c, videos, totals)
        entry = dict(c, total_frames=p["total_frames"], frame_indices=p["frame_indices"],
                     shape=list(p["imgs"].shape), input_sha256=p["sha256"])
        record["cases"][c["id"]] = entry
        note = ""
        if recorded and c["id"] in recorded["cases"]:
            want = recorded["cases"][c["id"]]
            if (want["input_sha256"], want["frame_indices"]) != (p["sha256"], p["frame_indices"]):
                print(f"{c['id']}: the input tensor differs from the recorded one (cv2 "
                      f"{cv2.__version__} here): no output written", flush=True)
                mismatched.append(c["id"])
                continue
            note = " (input matches the recorded sha256)"
        if models is not None:
            logits, feats = run_model(models[c["model"]], p["imgs"], device, args.chunk)
            avg = averaged(logits)
            out = dict(entry, torch=__import__("torch").__version__, device=device,
                       per_view_top5=[top_with_gaps(r)["top5"] for r in logits],
                       prob=dict(top_with_gaps(avg["prob"]), values=f32_b64(avg["prob"])),
                       score=dict(top_with_gaps(avg["score"]), values=f32_b64(avg["score"])),
                       cls_score=f32_b64(logits))
            if c["with_features"]:
                out["features"] = f32_b64(feats)
            if models32:
                out["torch_float32_error"] = float32_error(models32, c, p["imgs"], args.chunk,
                                                           logits, feats, avg)
            (args.out / f"{c['id']}.json").write_text(json.dumps(out, separators=(",", ":")))
            note += f"; prob top5 {out['prob']['top5']} min gap {min(out['prob']['gaps']):.3g}"
        print(f"{c['id']}: {entry['shape']} {time.time() - t0:.1f} s{note}", flush=True)
        del p
    if args.stage == "pipeline":
        if args.only and recorded:
            recorded["cases"].update(record["cases"])
            record = recorded
        inputs_path.parent.mkdir(parents=True, exist_ok=True)
        inputs_path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"-> {inputs_path}")
    if mismatched:
        print(f"{len(mismatched)} case(s) skipped: input differs from inputs.json: {mismatched}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
