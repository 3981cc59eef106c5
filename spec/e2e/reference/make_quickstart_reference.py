"""Fixtures for spec/e2e/quickstart.test.ts: a synthetic, full-size i3d_r50 checkpoint that the
test can rebuild byte for byte (112 MB from 2 KB of rules, see synthetic_weights.py) and serve
under the zoo's file name, and what MMAction2 computes with it on demo.mp4.

Dev tool only (/usr/bin/python3, Debian's torch 1.13; the reference stage wants a GPU).

    /usr/bin/python3 spec/e2e/reference/make_quickstart_reference.py template
        torch.save's own pickle of {'meta', 'state_dict'} for the zoo's i3d_r50 structure
        (base 64) -> spec/e2e/fixtures/quickstart/data.pkl, and checkpoint.json: the state_dict
        entries (key, shape, dtype) in order, the sha256 of the weights' raw bytes.
    node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --search-input
        the SHA-256 state before the checkpoint's last block (see find_nonce.cu)
    nvcc -O3 -arch=sm_90 -o find_nonce spec/e2e/reference/find_nonce.cu && ./find_nonce <that line>
        a zip-comment nonce that makes the file's sha256 start with the zoo name's e31c6f52
        (0.6 s on an H200; a g++ build runs on a CPU at ~3 M candidates/s, ~25 min per core)
    node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --set-nonce NONCE
    node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --write FILE
    /usr/bin/python3 spec/e2e/reference/make_quickstart_reference.py check FILE
        torch.load of the TypeScript-built file gives exactly these weights
    python3 spec/e2e/reference/make_quickstart_reference.py reference --device cuda \\
        --sources DIR --out DIR
        MMAction2's zoo test pipeline (10 clips x ThreeCrop 256, the same input tensor as the
        demo-i3d_r50 case of make_infer_reference.py, checked by sha256) through the reference
        model in float64 -> expected.json: frame indices, per-view logits, averaged 'prob'
        scores and their top-5; plus the float32 error of torch itself on the same input.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
sys.dont_write_bytecode = True
sys.path[:0] = [str(HERE), str(REPO / "spec" / "reference"), str(REPO / "spec" / "pipeline" / "reference")]

import synthetic_weights  # noqa: E402

OUT = REPO / "spec" / "e2e" / "fixtures" / "quickstart"
ZOO_FILE = "i3d_r50_video_32x2x1_100e_kinetics400_rgb_20200826-e31c6f52.pth"
META = {"note": "synthetic weights for the i3d-edge quick-start test "
                "(spec/e2e/reference/synthetic_weights.py), not a trained model"}


def entries_of_zoo_model() -> list:
    import torch  # noqa: F401
    from i3d_reference import build_recognizer, zoo_model_cfg
    sd = build_recognizer(zoo_model_cfg(None, 64)).state_dict()
    return [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()]


def weights_sha256(arrays: dict) -> str:
    h = hashlib.sha256()
    for a in arrays.values():
        h.update(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def write_info(info: dict) -> None:
    """checkpoint.json with one line per state_dict entry."""
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in info.items() if k != "entries"]
    lines.append(' "entries": [\n' + ",\n".join(f"  {json.dumps(e)}" for e in info["entries"]) + "\n ]")
    (OUT / "checkpoint.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")


def template() -> None:
    import torch
    entries = entries_of_zoo_model()
    arrays = synthetic_weights.state_dict_arrays(entries)
    sd = collections.OrderedDict((k, torch.from_numpy(np.array(a))) for k, a in arrays.items())
    buf = io.BytesIO()
    torch.save({"meta": META, "state_dict": sd}, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    names = z.namelist()
    data_pkl = z.read("archive/data.pkl")
    # torch names storage i after the i-th tensor it pickles: the state_dict order
    for i, (key, shape, dtype) in enumerate(entries):
        raw = z.read(f"archive/data/{i}")
        assert raw == np.ascontiguousarray(arrays[key]).tobytes(), f"storage {i} is not {key}"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "data.pkl").write_bytes(data_pkl)
    old = json.loads((OUT / "checkpoint.json").read_text()) if (OUT / "checkpoint.json").exists() else {}
    info = dict(
        zoo_file=ZOO_FILE,
        torch=torch.__version__,
        # torch.save writes data.pkl, then data/<i> in string order, then version
        torch_save_records=len(names),
        version=z.read("archive/version").decode(),
        data_pkl_sha256=hashlib.sha256(data_pkl).hexdigest(),
        weights_sha256=weights_sha256(arrays),
        entries=entries,
        # filled in by make-checkpoint.ts --set-nonce
        nonce=old.get("nonce"),
        file_sha256=old.get("file_sha256"),
        file_size=old.get("file_size"),
    )
    write_info(info)
    print(f"{len(entries)} entries, {sum(int(np.prod(s)) for _, s, _ in entries)} values; "
          f"data.pkl {len(data_pkl)} bytes -> {OUT}")


def check(path: Path) -> int:
    import torch
    info = json.loads((OUT / "checkpoint.json").read_text())
    arrays = synthetic_weights.state_dict_arrays(info["entries"])
    obj = torch.load(str(path), map_location="cpu")
    sd = obj["state_dict"]
    assert list(sd.keys()) == [e[0] for e in info["entries"]], "keys differ"
    bad = [k for k, a in arrays.items() if not np.array_equal(sd[k].numpy(), a)]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"torch.load({path}): {len(sd)} tensors, {len(bad)} differ from synthetic_weights.py; "
          f"meta {obj['meta']}; sha256 {digest}")
    from i3d_reference import build_recognizer, zoo_model_cfg
    build_recognizer(zoo_model_cfg(None, 64)).load_state_dict(sd, strict=True)
    print("loads strictly into the reference i3d_r50")
    return 1 if bad else 0


def reference(args) -> int:
    import torch
    import torch.nn.functional as F
    import cv2
    import make_infer_reference as R
    import mmaction_code
    from i3d_reference import average_clip, build_recognizer, zoo_model_cfg
    if args.sources:
        R.use_sources(args.sources)
    info = json.loads((OUT / "checkpoint.json").read_text())
    inputs = json.loads((R.FIXTURES / "reference" / "inputs.json").read_text())
    arrays = synthetic_weights.state_dict_arrays(info["entries"])
    assert weights_sha256(arrays) == info["weights_sha256"]
    model = build_recognizer(zoo_model_cfg(None, 64))
    model.load_state_dict({k: torch.from_numpy(np.array(a)) for k, a in arrays.items()}, strict=True)
    model.eval()

    # the zoo's pipeline, 30 views (--smoke: one view, nothing written; to try the script)
    c = R.case("quickstart", "demo.mp4", "i3d_r50", "video", clips=1 if args.smoke else None,
               crops=1 if args.smoke else None)
    mm = mmaction_code.load_mmaction()
    totals = R.media_totals(inputs["total_frames"])
    p = R.run_pipeline(mm, c, {"demo.mp4": R.VideoFrames(R.MEDIA / "demo.mp4")}, totals)
    want = inputs["cases"]["demo-i3d_r50"]
    if not args.smoke and (p["sha256"], p["frame_indices"]) != (want["input_sha256"], want["frame_indices"]):
        raise SystemExit(f"demo.mp4: input differs from inputs.json (cv2 {cv2.__version__})")

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    t0 = time.time()
    out = {}
    for dtype in (torch.float64, torch.float32):
        m = model.to(args.device, dtype)
        logits, feats = [], []
        with torch.no_grad():
            for v in range(0, p["imgs"].shape[0], args.chunk):
                x = torch.from_numpy(p["imgs"][v:v + args.chunk]).to(args.device, dtype)
                fmap = m.backbone(x)
                feats.append(F.adaptive_avg_pool3d(fmap, 1).flatten(1).double().cpu())
                logits.append(m.cls_head(fmap).double().cpu())
        out[dtype] = torch.cat(logits), torch.cat(feats)
    logits, _ = out[torch.float64]
    prob = average_clip(logits, logits.shape[0], "prob")[0].numpy()
    prob32 = average_clip(out[torch.float32][0], logits.shape[0], "prob")[0].numpy()
    order = np.argsort(-prob, kind="stable")[:6]
    err = (out[torch.float32][0] - logits).abs()
    expected = dict(
        zoo_file=ZOO_FILE, media="demo.mp4", config="i3d_r50_video_32x2x1_100e_kinetics400_rgb",
        device=args.device, torch=torch.__version__, opencv=cv2.__version__,
        input_sha256=p["sha256"], frame_indices=p["frame_indices"], shape=list(p["imgs"].shape),
        top5=[int(i) for i in order[:5]],
        top5_prob=[float(prob[i]) for i in order[:5]],
        gaps=[float(prob[order[i]] - prob[order[i + 1]]) for i in range(5)],
        torch_float32_error=dict(logits=float(err.max()),
                                 prob=float(np.abs(prob32 - prob).max()), device=args.device),
        prob=dict(shape=[len(prob)], dtype="float32",
                  base64=base64.b64encode(prob.astype("<f4").tobytes()).decode()),
        cls_score=dict(shape=list(logits.shape), dtype="float32",
                       base64=base64.b64encode(logits.numpy().astype("<f4").tobytes()).decode()),
    )
    if not args.smoke:
        args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "expected.json" if not args.smoke else Path("/dev/null")).write_text(json.dumps(expected, separators=(",", ":")))
    print(f"quickstart reference: top5 {expected['top5']} probs "
          f"{[round(x, 5) for x in expected['top5_prob']]} gaps {[f'{g:.2g}' for g in expected['gaps']]}; "
          f"torch fp32 error {expected['torch_float32_error']}; {time.time() - t0:.1f} s")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="stage", required=True)
    sub.add_parser("template")
    ck = sub.add_parser("check")
    ck.add_argument("file", type=Path)
    rf = sub.add_parser("reference")
    rf.add_argument("--device", default="cpu")
    rf.add_argument("--chunk", type=int, default=5)
    rf.add_argument("--sources", type=Path)
    rf.add_argument("--out", type=Path, default=OUT)
    rf.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.stage == "template":
        template()
        return 0
    if args.stage == "check":
        return check(args.file)
    return reference(args)


if __name__ == "__main__":
    sys.exit(main())
