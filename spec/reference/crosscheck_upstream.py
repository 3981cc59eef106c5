"""Cross-check i3d_reference.py against MMAction2 0.x / mmcv 1.x's own code. Dev tool only.

Runs the upstream source files themselves (read at run time from git checkouts, never copied
into this repo) with small stand-ins for the parts of mmcv/mmaction that inference does not use
(registries, logging, checkpoint loading, loss builders, weight-init helpers). Then, for each
model dict, it checks that:
  - the upstream Recognizer3D and the reference have the same state_dict keys, in the same
    order, with the same shapes and dtypes, and the same parameter count;
  - with the same weights loaded into both, upstream forward_test / average_clip and the
    reference produce identical outputs (float32 bit for bit, float64 to 1e-12), per view
    (average_clips=None), 'score' and 'prob';
  - upstream also accepts every golden's checkpoint in spec/fixtures/goldens (strict load) and
    reproduces its cls_score.npy.

    /usr/bin/python3 spec/reference/crosscheck_upstream.py \\
        --mmaction2 /work/.mirror/open-mmlab+mmaction2/repo --mmcv /work/.mirror/open-mmlab+mmcv/repo

--mmaction2/--mmcv take a bare git repository (read with `git show <ref>:<path>`) or a
source checkout directory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))

from i3d_reference import average_clip, build_recognizer, zoo_model_cfg  # noqa: E402
from make_goldens import randomize_weights  # noqa: E402


class Source:
    def __init__(self, where: str, ref: str):
        self.path = Path(where)
        self.ref = ref

    def read(self, rel: str) -> str:
        if (self.path / rel).is_file():
            return (self.path / rel).read_text()
        return subprocess.run(["git", "-C", str(self.path), "show", f"{self.ref}:{rel}"],
                              check=True, capture_output=True, text=True).stdout


class Registry:
    """Stand-in for mmcv.utils.Registry: name -> class, build(cfg) -> instance."""

    def __init__(self, name: str):
        self.name = name
        self.modules: dict[str, type] = {}

    def register_module(self, name=None, force=False, module=None):
        if module is not None:
            self.modules[name or module.__name__] = module
            return module

        def deco(cls):
            self.modules[name or cls.__name__] = cls
            return cls
        return deco

    def get(self, key):
        return self.modules.get(key)

    def __contains__(self, key):
        return key in self.modules

    def build(self, cfg: dict):
        cfg = dict(cfg)
        return self.modules[cfg.pop("type")](**cfg)


def _module(name: str, package: bool = True, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    if package:
        m.__path__ = []
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def _exec(name: str, text: str) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__package__ = name.rpartition(".")[0]
    m.__file__ = f"<upstream {name}>"
    sys.modules[name] = m
    exec(compile(text, m.__file__, "exec"), m.__dict__)
    return m


def _constant_init(module, val, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def _normal_init(module, mean=0, std=1, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, mean, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def _kaiming_init(module, a=0, mode="fan_out", nonlinearity="relu", bias=0, distribution="normal"):
    if getattr(module, "weight", None) is not None:
        nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def load_upstream(mmaction2: Source, mmcv: Source):
    """Import upstream Recognizer3D (and its ResNet3d / I3DHead / ConvModule / NonLocal3d)."""
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.instancenorm import _InstanceNorm

    norm_layers, plugin_layers = Registry("norm"), Registry("plugin")
    _module("mmcv", __version__="1.7.2")
    _module("mmcv.utils", _BatchNorm=_BatchNorm, _InstanceNorm=_InstanceNorm,
            is_tuple_of=lambda seq, t: isinstance(seq, tuple) and all(isinstance(i, t) for i in seq),
            digit_version=lambda v: tuple(int(p) for p in v.split(".")[:3] if p.isdigit()))
    _module("mmcv.utils.parrots_wrapper", package=False, SyncBatchNorm=nn.SyncBatchNorm,
            _BatchNorm=_BatchNorm, _InstanceNorm=_InstanceNorm)
    _module("mmcv.runner", auto_fp16=lambda **kw: (lambda f: f),
            _load_checkpoint=None, load_checkpoint=None)
    cnn = _module("mmcv.cnn")
    _module("mmcv.cnn.utils", constant_init=_constant_init, kaiming_init=_kaiming_init,
            normal_init=_normal_init)
    _module("mmcv.cnn.bricks")
    _module("mmcv.cnn.bricks.registry", package=False, NORM_LAYERS=norm_layers,
            PLUGIN_LAYERS=plugin_layers, CONV_LAYERS=Registry("conv"),
            ACTIVATION_LAYERS=Registry("act"), PADDING_LAYERS=Registry("pad"))

    def build_activation_layer(cfg):
        cfg = dict(cfg)
        assert cfg.pop("type") == "ReLU"
        return nn.ReLU(**cfg)

    def build_conv_layer(cfg, *args, **kwargs):
        kind = (cfg or {"type": "Conv2d"})["type"]
        return {"Conv1d": nn.Conv1d, "Conv2d": nn.Conv2d, "Conv3d": nn.Conv3d}[kind](*args, **kwargs)

    _module("mmcv.cnn.bricks.activation", package=False, build_activation_layer=build_activation_layer)
    _module("mmcv.cnn.bricks.conv", package=False, build_conv_layer=build_conv_layer)
    _module("mmcv.cnn.bricks.padding", package=False, build_padding_layer=None)
    _exec("mmcv.cnn.bricks.norm", mmcv.read("mmcv/cnn/bricks/norm.py"))
    conv_module = _exec("mmcv.cnn.bricks.conv_module", mmcv.read("mmcv/cnn/bricks/conv_module.py"))
    non_local = _exec("mmcv.cnn.bricks.non_local", mmcv.read("mmcv/cnn/bricks/non_local.py"))
    cnn.__dict__.update(ConvModule=conv_module.ConvModule, NonLocal3d=non_local.NonLocal3d,
                        build_activation_layer=build_activation_layer, constant_init=_constant_init,
                        kaiming_init=_kaiming_init, normal_init=_normal_init)

    backbones, heads, recognizers = Registry("backbone"), Registry("head"), Registry("recognizer")
    _module("mmaction")
    _module("mmaction.utils", get_root_logger=lambda: None)
    _module("mmaction.core", top_k_accuracy=None)
    _module("mmaction.models")
    builder = _module("mmaction.models.builder", package=False, BACKBONES=backbones, HEADS=heads,
                      RECOGNIZERS=recognizers, build_backbone=backbones.build, build_head=heads.build,
                      build_neck=None, build_loss=lambda cfg: nn.Identity())
    sys.modules["mmaction.models"].builder = builder
    _module("mmaction.models.backbones")
    _module("mmaction.models.heads")
    _module("mmaction.models.recognizers")
    _exec("mmaction.models.backbones.resnet3d", mmaction2.read("mmaction/models/backbones/resnet3d.py"))
    _exec("mmaction.models.heads.base", mmaction2.read("mmaction/models/heads/base.py"))
    _exec("mmaction.models.heads.i3d_head", mmaction2.read("mmaction/models/heads/i3d_head.py"))
    _exec("mmaction.models.recognizers.base", mmaction2.read("mmaction/models/recognizers/base.py"))
    rec = _exec("mmaction.models.recognizers.recognizer3d",
                mmaction2.read("mmaction/models/recognizers/recognizer3d.py"))
    return rec.Recognizer3D


def build_upstream(Recognizer3D, cfg: dict) -> nn.Module:
    cfg = json.loads(json.dumps(cfg))  # tuples -> lists, a private copy
    cfg.pop("type")
    backbone = dict(cfg["backbone"])
    backbone["pretrained"] = None  # no download; weights are loaded below
    for key in ("inflate", "non_local", "conv1_kernel"):  # upstream compares tuples in places
        if key in backbone:
            backbone[key] = _tuplify(backbone[key])
    cfg["backbone"] = backbone
    model = Recognizer3D(**cfg)
    model.eval()
    return model


def _tuplify(v):
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def compare(Recognizer3D, cfg: dict, x: torch.Tensor, state: dict | None, log) -> bool:
    up = build_upstream(Recognizer3D, cfg)
    ref = build_recognizer(cfg)
    sd_up, sd_ref = up.state_dict(), ref.state_dict()
    ok = list(sd_up) == list(sd_ref)
    ok = ok and all(sd_up[k].shape == sd_ref[k].shape and sd_up[k].dtype == sd_ref[k].dtype for k in sd_up)
    n_up = sum(p.numel() for p in up.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    ok = ok and n_up == n_ref
    log(f"  structure: {len(sd_up)} state_dict entries, {n_up:,} parameters: "
        f"{'identical' if ok else 'DIFFERENT'}")
    if not ok:
        return False
    if state is None:
        # well-scaled seeded weights (random normal ones overflow float32 in dot_product mode)
        randomize_weights(ref, 0, x)
        state = ref.state_dict()
    up.load_state_dict(state, strict=True)
    ref.load_state_dict(state, strict=True)
    v = x.shape[0]
    good = True
    with torch.no_grad():
        for dtype, tol in ((torch.float32, 0.0), (torch.float64, 1e-12)):
            up.to(dtype)
            ref.to(dtype)
            xi = x.to(dtype)
            for mode in (None, "score", "prob"):
                up.test_cfg = dict(average_clips=mode)
                a = torch.from_numpy(up.forward_test(xi[None]))  # [1, V, ...] -> upstream _do_test
                b = average_clip(ref.cls_score(xi), v, mode)
                diff = float((a - b).abs().max())
                good = good and a.shape == b.shape and diff <= tol and bool(torch.isfinite(b).all())
                log(f"  {str(dtype)[6:]} average_clips={mode}: max |upstream - reference| = {diff:.3g}")
            up.feature_extraction = True  # upstream reads test_cfg's flag at construction
            feat = torch.from_numpy(up.forward_test(xi[None]))
            up.feature_extraction = False
            diff = float((feat - ref.features(xi).mean(0, keepdim=True)).abs().max())
            good = good and diff <= max(tol, 1e-6 if dtype == torch.float32 else 1e-12)
            log(f"  {str(dtype)[6:]} features (view mean): max diff {diff:.3g}")
    return good


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mmaction2", default="/work/.mirror/open-mmlab+mmaction2/repo")
    ap.add_argument("--mmaction2-ref", default="0.x")
    ap.add_argument("--mmcv", default="/work/.mirror/open-mmlab+mmcv/repo")
    ap.add_argument("--mmcv-ref", default="1.x")
    ap.add_argument("--goldens", type=Path, default=HERE.parent / "fixtures" / "goldens")
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = lambda s: print(s, flush=True)  # noqa: E731
    Recognizer3D = load_upstream(Source(args.mmaction2, args.mmaction2_ref), Source(args.mmcv, args.mmcv_ref))

    x = torch.randn(2, 3, 16, 56, 48, generator=torch.Generator().manual_seed(1))
    cases = {f"zoo {m or 'i3d_r50'} base {b}": zoo_model_cfg(m, b)
             for b in (64, 8) for m in (None, "embedded_gaussian", "gaussian", "dot_product")}
    # the other options the reference implements
    extra = zoo_model_cfg(None, 8)
    extra["backbone"].update(depth=18, inflate=(1, 1, 1, 1), with_pool2=False, conv1_kernel=(3, 7, 7),
                             conv1_stride_t=1, pool1_stride_t=1)
    extra["cls_head"]["in_channels"] = 64
    cases["depth 18, no pool2, (3,7,7) stem"] = extra
    extra = zoo_model_cfg(None, 8)
    extra["backbone"].update(depth=34, inflate=1, temporal_strides=(1, 2, 1, 1), style="caffe",
                             non_local=((0, 0, 0), (0, 1, 0, 1), (0, 0, 0, 0, 0, 0), (0, 0, 0)),
                             non_local_cfg=dict(mode="embedded_gaussian"))  # mmcv defaults: scaled, no BN
    extra["cls_head"]["in_channels"] = 64
    cases["depth 34, caffe, temporal stride, NL defaults"] = extra
    extra = zoo_model_cfg("dot_product", 8)
    extra["backbone"].update(inflate_style="3x3x3", dilations=(1, 1, 2, 2), spatial_strides=(1, 2, 1, 1),
                             non_local_cfg=dict(mode="gaussian", sub_sample=False, reduction=4,
                                                norm_cfg=dict(type="BN3d", eps=1e-3)))
    cases["3x3x3, dilation, gaussian no sub_sample"] = extra
    extra = zoo_model_cfg("embedded_gaussian", 8)
    extra["backbone"]["non_local_cfg"]["use_scale"] = True
    extra["backbone"].update(stage_blocks=(2, 2, 2), num_stages=3, out_indices=(2,),
                             spatial_strides=(1, 2, 2), temporal_strides=(1, 1, 1), dilations=(1, 1, 1),
                             inflate=((1, 0), (0, 1), (1, 1)), non_local=((0, 0), (1, 0), (0, 1)),
                             with_pool1=False, base_channels=4)
    extra["cls_head"]["in_channels"] = 64
    cases["3 stages, custom blocks, scaled NL"] = extra

    ok = True
    for name, cfg in cases.items():
        log(name)
        ok = compare(Recognizer3D, cfg, x, None, log) and ok

    for man_path in sorted(args.goldens.glob("*/manifest.json")):
        man = json.loads(man_path.read_text())
        d = man_path.parent
        log(f"golden {d.name}")
        xg = torch.from_numpy(np.load(d / "input.npy"))
        for ck in man["checkpoints"]:
            state = torch.load(str(d / ck["file"]), map_location="cpu")["state_dict"]
            ok = compare(Recognizer3D, man["model"], xg, state, log) and ok
            up = build_upstream(Recognizer3D, man["model"])
            up.load_state_dict(state, strict=True)
            up.double().test_cfg = dict(average_clips=None)
            with torch.no_grad():
                got = up.forward_test(xg.double()[None])
            diff = float(np.abs(got - np.load(d / "cls_score.npy")).max())
            ok = ok and diff <= 1e-9
            log(f"  upstream on {ck['file']} vs cls_score.npy: max diff {diff:.3g}")
    log("crosscheck: " + ("all identical" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
