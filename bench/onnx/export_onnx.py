"""Step 2 of bench/onnx: i3d_r50 as a deployed ONNX model, with the benchmark's own weights.

Builds the zoo's i3d_r50 with spec/reference/i3d_reference.py (MMAction2 0.x semantics), loads
out/i3d_r50-weights.safetensors (written by write-weights.ts: the seeded random weights bench.ts
gives our WASM backend), folds every BatchNorm into the conv before it (as a deployed model
would be), checks the folded model against the unfolded one, and exports the per-view logits
(cls_score) for a fixed input [N, 3, 32, 256, 256] to out/i3d_r50-batch<N>.onnx (opset 17).

Dev tool: Debian's /usr/bin/python3 (torch 1.13); torch.onnx.export needs no `onnx` package.
Usage: /usr/bin/python3 bench/onnx/export_onnx.py [--batch 2] [--frames 32] [--size 256]
"""

import argparse
import io
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "spec", "reference"))
import i3d_reference as reference  # noqa: E402

OUT = os.path.join(HERE, "out")


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file (F32 only: what write-weights.ts writes)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=base + begin)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out, header.get("__metadata__", {})


def fold_batch_norms(model):
    """Every ConvModule conv -> bn becomes one conv with a bias; returns how many were folded."""
    folded = 0
    for module in model.modules():
        if isinstance(module, reference.ConvModule) and module.with_norm:
            module.conv = fuse_conv_bn_eval(module.conv, module.bn)
            del module.bn
            module.with_norm = False
            folded += 1
    return folded


def op_counts(onnx_bytes):
    """Node counts by op_type, read from the protobuf bytes without the onnx package: a NodeProto's
    op_type is field 4 (tag 0x22) followed by its length; good enough for the ops looked for."""
    counts = {}
    for op in ("Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "GlobalAveragePool",
               "ReduceMean", "Gemm", "MatMul"):
        counts[op] = onnx_bytes.count(b"\x22" + bytes([len(op)]) + op.encode())
    return {k: v for k, v in counts.items() if v}


def export(model, x):
    buf = io.BytesIO()
    torch.onnx.export(model, x, buf, input_names=["input"], output_names=["cls_score"],
                      opset_version=17, do_constant_folding=True)
    return buf.getvalue()


class ClsScore(nn.Module):
    """cls_score as the module's forward (what the exporter traces)."""

    def __init__(self, recognizer):
        super().__init__()
        self.recognizer = recognizer
        self.eval()  # a new Module is in training mode, and export restores the mode it found

    def forward(self, x):
        return self.recognizer.cls_score(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--weights", default=os.path.join(OUT, "i3d_r50-weights.safetensors"))
    ap.add_argument("--out", help="default: out/i3d_r50-batch<N>.onnx")
    args = ap.parse_args()
    args.out = args.out or os.path.join(OUT, f"i3d_r50-batch{args.batch}.onnx")
    torch.set_num_threads(2)

    weights, meta = read_safetensors(args.weights)
    model = reference.build_recognizer(reference.zoo_model_cfg()).eval()
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit i3d_r50: missing {missing[:5]}, unexpected {unexpected[:5]}")
    print(f"loaded {len(weights)} tensors from {args.weights} ({meta})")

    # a small clip is enough to check the folding (and to see whether the exporter folds BN itself)
    small = torch.randn(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        unfolded_bytes = export(ClsScore(model), small)
        ref = model.cls_score(small)
        folded = fold_batch_norms(model)
        got = model.cls_score(small)
    rel = ((got - ref).abs().max() / ref.abs().max()).item()
    print(f"exporting the unfolded model gives ops {op_counts(unfolded_bytes)}: "
          f"torch.onnx.export {'does not fold' if op_counts(unfolded_bytes).get('BatchNormalization') else 'folds'} BN itself")
    print(f"folded {folded} BatchNorms into their convs; folded vs unfolded logits: max |diff| / max |logit| = {rel:.2e}")
    if not rel < 1e-4:
        raise SystemExit("BN folding changed the logits")

    x = torch.zeros(args.batch, 3, args.frames, args.size, args.size)
    t0 = time.perf_counter()
    with torch.no_grad():
        onnx_bytes = export(ClsScore(model), x)
    ops = op_counts(onnx_bytes)
    if ops.get("BatchNormalization"):
        raise SystemExit(f"the exported graph still has BatchNormalization nodes: {ops}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(onnx_bytes)
    print(f"wrote {args.out}: input [{args.batch}, 3, {args.frames}, {args.size}, {args.size}] -> cls_score "
          f"[{args.batch}, 400], ops {ops}, {len(onnx_bytes) / 2**20:.1f} MiB, torch {torch.__version__} "
          f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
