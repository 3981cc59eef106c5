"""Write spec/fixtures/goldens-extra/nl_no_norm/: a tiny I3D whose non-local blocks use mmcv's
NonLocal3d defaults (non_local_cfg=dict(): embedded_gaussian, use_scale=True, sub_sample=False,
norm_cfg=None, so conv_out is a plain conv with a bias). Dev tool: /usr/bin/python3.

    /usr/bin/python3 spec/reference/make_nl_no_norm.py

The model is i3d_reference.py's (cross-checked against MMAction2's own code, mmcv's default
non-local cfg included: spec/reference/README.md). Weights: torch's default init under a fixed
seed, BN statistics and affine randomised, conv_out randomised (mmcv initialises it to zero,
which would hide it). Written: checkpoint.pth (zip, {'state_dict'}), input.npy (float32),
cls_score.npy (float64 per-view logits), manifest.json (the model dict).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))

from i3d_reference import NonLocal3d, build_recognizer  # noqa: E402

OUT = HERE.parent / "fixtures" / "goldens-extra" / "nl_no_norm"
MODEL = dict(
    type="Recognizer3D",
    backbone=dict(type="ResNet3d", depth=50, pretrained=None, base_channels=4,
                  conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2,
                  inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
                  non_local=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
                  non_local_cfg=dict()),
    cls_head=dict(type="I3DHead", num_classes=400, in_channels=128, spatial_type="avg",
                  dropout_ratio=0.5, init_std=0.01),
    train_cfg=None, test_cfg=dict(average_clips="prob"))
INPUT_SHAPE = (2, 3, 8, 40, 32)


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(20261129)
    model = build_recognizer(MODEL)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm3d):
                c = m.num_features
                m.weight.copy_(0.7 + 0.6 * torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            if isinstance(m, NonLocal3d):
                assert not hasattr(m.conv_out, "bn") or m.conv_out.bn is None
                conv = m.conv_out.conv
                assert conv.bias is not None, "norm_cfg=None: conv_out has a bias"
                conv.weight.copy_(0.3 * torch.randn(conv.weight.shape, generator=gen))
                conv.bias.copy_(0.2 * torch.randn(conv.bias.shape, generator=gen))
        fc = model.cls_head.fc_cls
        fc.weight.copy_(0.5 * torch.randn(fc.weight.shape, generator=gen))
    x = torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        logits = model.double().cls_score(x.double()).numpy()
    model.float()
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict()}, OUT / "checkpoint.pth")
    np.save(OUT / "input.npy", x.numpy().astype(np.float32))
    np.save(OUT / "cls_score.npy", logits)
    keys = [k for k in model.state_dict() if "non_local_block.conv_out" in k]
    manifest = {"model": MODEL, "input_shape": list(INPUT_SHAPE), "torch": torch.__version__,
                "state_dict_entries": len(model.state_dict()), "conv_out_keys": keys[:2],
                "top5": [list(map(int, np.argsort(-r)[:5])) for r in logits]}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(OUT, manifest["state_dict_entries"], keys[:2], logits[:, :3])


if __name__ == "__main__":
    main()
