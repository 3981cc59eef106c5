"""I3D exactly as MMAction2 0.x builds it, in plain torch.nn (dev/test tool only).

Recognizer3D = ResNet3d backbone + I3DHead, with mmcv 1.x ConvModule and NonLocal3d semantics.
Written from the MMAction2 0.x / mmcv 1.x sources (resnet3d.py, i3d_head.py, recognizer3d.py,
recognizers/base.py, cnn/bricks/conv_module.py, cnn/bricks/non_local.py), not copied from them.
Module attribute names and their registration order are the upstream ones, so `state_dict()`
keys and their order are exactly MMAction2's (`backbone.conv1.conv.weight`, ...,
`cls_head.fc_cls.bias`). The forward passes repeat the upstream op sequence (same matmul shapes,
the same in-place divisions) so float32 results match MMAction2's bit for bit on one machine.

Only what inference needs is modelled: training-only keys are accepted and ignored, unknown keys
are rejected with an error naming them, like MMAction2's own constructors would.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------
# Config validation


class ConfigError(ValueError):
    """A model dict MMAction2 would reject (or that this reference cannot run)."""


def _check_keys(where: str, cfg: dict, allowed: set[str]) -> None:
    for key in cfg:
        if key not in allowed:
            raise ConfigError(f"{where}: unexpected key '{key}'")


def _triple(v: Any, where: str) -> tuple[int, int, int]:
    if isinstance(v, int):
        return (v, v, v)
    if isinstance(v, (tuple, list)) and len(v) == 3 and all(isinstance(i, int) for i in v):
        return tuple(v)  # type: ignore[return-value]
    raise ConfigError(f"{where}: expected an int or 3 ints, got {v!r}")


def _ntuple(v: Any, n: int) -> tuple:
    # torch.nn.modules.utils._ntuple: iterables pass through unchanged, scalars are repeated
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v,) * n


def _norm_kwargs(norm_cfg: dict | None, where: str) -> dict | None:
    """BatchNorm3d kwargs from an mmcv norm_cfg (build_norm_layer: eps defaults to 1e-5)."""
    if norm_cfg is None:
        return None
    if not isinstance(norm_cfg, dict) or "type" not in norm_cfg:
        raise ConfigError(f"{where}: norm_cfg must be a dict with a 'type'")
    if norm_cfg["type"] not in ("BN3d", "BN"):
        raise ConfigError(f"{where}: norm_cfg.type '{norm_cfg['type']}' is not supported (BN3d only)")
    kw = {k: v for k, v in norm_cfg.items() if k not in ("type", "requires_grad")}
    _check_keys(f"{where}.norm_cfg", kw, {"eps", "momentum", "affine", "track_running_stats"})
    kw.setdefault("eps", 1e-5)
    return kw


def _check_conv_cfg(conv_cfg: dict | None, where: str) -> None:
    if conv_cfg is not None and conv_cfg != {"type": "Conv3d"}:
        raise ConfigError(f"{where}: conv_cfg {conv_cfg!r} is not supported (Conv3d only)")


def _check_act_cfg(act_cfg: dict | None, where: str) -> None:
    if act_cfg is None:
        return
    if not isinstance(act_cfg, dict) or act_cfg.get("type") != "ReLU":
        raise ConfigError(f"{where}: act_cfg {act_cfg!r} is not supported (ReLU only)")
    _check_keys(f"{where}.act_cfg", act_cfg, {"type", "inplace"})


# --------------------------------------------------------------------------------------------
# mmcv 1.x ConvModule: conv -> norm -> act, children named conv / bn / activate


class ConvModule(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool | str = "auto", norm: dict | None = None, relu: bool = False):
        super().__init__()
        with_norm = norm is not None
        if bias == "auto":
            bias = not with_norm
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, dilation=dilation, bias=bias)
        if with_norm:
            self.bn = nn.BatchNorm3d(out_channels, **norm)
        self.with_norm = with_norm
        if relu:
            self.activate = nn.ReLU(inplace=True)
        self.with_activation = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.with_norm:
            x = self.bn(x)
        if self.with_activation:
            x = self.activate(x)
        return x


# --------------------------------------------------------------------------------------------
# mmcv 1.x NonLocal3d


NON_LOCAL_KEYS = {"sub_sample", "use_scale", "norm_cfg", "mode", "reduction", "conv_cfg",
                  "std", "zeros_init"}


class NonLocal3d(nn.Module):
    """Children in upstream order: g, conv_out, theta, phi (theta/phi absent in gaussian mode;
    with sub_sample, g and phi become Sequential(conv, MaxPool3d(1,2,2)); gaussian phi is the
    bare pool)."""

    def __init__(self, in_channels: int, cfg: dict, where: str):
        super().__init__()
        _check_keys(where, cfg, NON_LOCAL_KEYS)
        sub_sample = cfg.get("sub_sample", False)
        self.use_scale = cfg.get("use_scale", True)
        reduction = cfg.get("reduction", 2)
        self.mode = cfg.get("mode", "embedded_gaussian")
        _check_conv_cfg(cfg.get("conv_cfg", {"type": "Conv3d"}), where)
        norm = _norm_kwargs(cfg.get("norm_cfg"), where)
        if self.mode == "concatenation":
            raise ConfigError(f"{where}: non_local_cfg.mode 'concatenation' is not supported")
        if self.mode not in ("gaussian", "embedded_gaussian", "dot_product"):
            raise ConfigError(f"{where}: non_local_cfg.mode '{self.mode}' is not one of "
                              "'gaussian', 'embedded_gaussian', 'dot_product', 'concatenation'")
        self.in_channels = in_channels
        self.inter_channels = max(in_channels // reduction, 1)
        self.sub_sample = sub_sample

        self.g = ConvModule(in_channels, self.inter_channels, 1)
        self.conv_out = ConvModule(self.inter_channels, in_channels, 1, norm=norm)
        if self.mode != "gaussian":
            self.theta = ConvModule(in_channels, self.inter_channels, 1)
            self.phi = ConvModule(in_channels, self.inter_channels, 1)
        if sub_sample:
            pool = nn.MaxPool3d(kernel_size=(1, 2, 2))
            self.g = nn.Sequential(self.g, pool)
            if self.mode != "gaussian":
                self.phi = nn.Sequential(self.phi, pool)
            else:
                self.phi = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(0)
        g_x = self.g(x).view(n, self.inter_channels, -1).permute(0, 2, 1)  # [N, Nk, Ci]
        if self.mode == "gaussian":
            theta_x = x.view(n, self.in_channels, -1).permute(0, 2, 1)  # [N, Nq, C]
            if self.sub_sample:
                phi_x = self.phi(x).view(n, self.in_channels, -1)  # [N, C, Nk]
            else:
                phi_x = x.view(n, self.in_channels, -1)
        else:
            theta_x = self.theta(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, -1)
        pairwise = torch.matmul(theta_x, phi_x)  # [N, Nq, Nk]
        if self.mode == "gaussian":
            pairwise = pairwise.softmax(dim=-1)
        elif self.mode == "embedded_gaussian":
            if self.use_scale:
                pairwise /= theta_x.shape[-1] ** 0.5
            pairwise = pairwise.softmax(dim=-1)
        else:  # dot_product
            pairwise /= pairwise.shape[-1]
        y = torch.matmul(pairwise, g_x)  # [N, Nq, Ci]
        y = y.permute(0, 2, 1).contiguous().reshape(n, self.inter_channels, *x.size()[2:])
        return x + self.conv_out(y)


# --------------------------------------------------------------------------------------------
# MMAction2 0.x ResNet3d blocks


class BasicBlock3d(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, spatial_stride, temporal_stride, dilation, downsample,
                 style, inflate, inflate_style, non_local, non_local_cfg, norm, where):
        super().__init__()
        # upstream: the stride sits on conv1 whatever the style; inflate_style is ignored
        if inflate:
            k1, p1, k2, p2 = (3, 3, 3), (1, dilation, dilation), (3, 3, 3), (1, 1, 1)
        else:
            k1, p1, k2, p2 = (1, 3, 3), (0, dilation, dilation), (1, 3, 3), (0, 1, 1)
        self.conv1 = ConvModule(inplanes, planes, k1,
                                stride=(temporal_stride, spatial_stride, spatial_stride),
                                padding=p1, dilation=(1, dilation, dilation), bias=False,
                                norm=norm, relu=True)
        self.conv2 = ConvModule(planes, planes * self.expansion, k2, stride=(1, 1, 1), padding=p2,
                                bias=False, norm=norm, relu=False)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)
        self.non_local = non_local
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, non_local_cfg,
                                              f"{where}.non_local_cfg")

    def forward(self, x):
        identity = x
        out = self.conv2(self.conv1(x))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.relu(out + identity)
        if self.non_local:
            out = self.non_local_block(out)
        return out


class Bottleneck3d(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, spatial_stride, temporal_stride, dilation, downsample,
                 style, inflate, inflate_style, non_local, non_local_cfg, norm, where):
        super().__init__()
        if style == "pytorch":
            s1, t1, s2, t2 = 1, 1, spatial_stride, temporal_stride
        else:  # caffe: the stride sits on the first 1x1 conv
            s1, t1, s2, t2 = spatial_stride, temporal_stride, 1, 1
        if inflate and inflate_style == "3x1x1":
            k1, p1, k2, p2 = (3, 1, 1), (1, 0, 0), (1, 3, 3), (0, dilation, dilation)
        elif inflate:  # 3x3x3
            k1, p1, k2, p2 = (1, 1, 1), (0, 0, 0), (3, 3, 3), (1, dilation, dilation)
        else:
            k1, p1, k2, p2 = (1, 1, 1), (0, 0, 0), (1, 3, 3), (0, dilation, dilation)
        self.conv1 = ConvModule(inplanes, planes, k1, stride=(t1, s1, s1), padding=p1, bias=False,
                                norm=norm, relu=True)
        self.conv2 = ConvModule(planes, planes, k2, stride=(t2, s2, s2), padding=p2,
                                dilation=(1, dilation, dilation), bias=False, norm=norm, relu=True)
        self.conv3 = ConvModule(planes, planes * self.expansion, 1, bias=False, norm=norm,
                                relu=False)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)
        self.non_local = non_local
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, non_local_cfg,
                                              f"{where}.non_local_cfg")

    def forward(self, x):
        identity = x
        out = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.relu(out + identity)
        if self.non_local:
            out = self.non_local_block(out)
        return out


# --------------------------------------------------------------------------------------------
# ResNet3d


BACKBONE_KEYS = {
    "type", "depth", "pretrained", "stage_blocks", "pretrained2d", "in_channels", "num_stages",
    "base_channels", "out_indices", "spatial_strides", "temporal_strides", "dilations",
    "conv1_kernel", "conv1_stride_s", "conv1_stride_t", "pool1_stride_s", "pool1_stride_t",
    "with_pool1", "with_pool2", "style", "frozen_stages", "inflate", "inflate_style", "conv_cfg",
    "norm_cfg", "act_cfg", "norm_eval", "with_cp", "non_local", "non_local_cfg",
    "zero_init_residual",
}

ARCH = {18: (BasicBlock3d, (2, 2, 2, 2)), 34: (BasicBlock3d, (3, 4, 6, 3)),
        50: (Bottleneck3d, (3, 4, 6, 3)), 101: (Bottleneck3d, (3, 4, 23, 3)),
        152: (Bottleneck3d, (3, 8, 36, 3))}


class ResNet3d(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        where = "model.backbone"
        if cfg.get("type", "ResNet3d") != "ResNet3d":
            raise ConfigError(f"{where}.type: '{cfg['type']}' is not supported (ResNet3d only)")
        _check_keys(where, cfg, BACKBONE_KEYS)
        if "depth" not in cfg:
            raise ConfigError(f"{where}: missing required key 'depth'")
        if "pretrained" not in cfg:
            raise ConfigError(f"{where}: missing required key 'pretrained'")
        depth = cfg["depth"]
        if depth not in ARCH:
            raise ConfigError(f"{where}.depth: invalid depth {depth} for resnet")
        block, default_blocks = ARCH[depth]
        num_stages = cfg.get("num_stages", 4)
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"{where}.num_stages: must be 1..4, got {num_stages}")
        out_indices = tuple(cfg.get("out_indices", (3,)))
        if max(out_indices) >= num_stages:
            raise ConfigError(f"{where}.out_indices: {out_indices} exceeds num_stages")
        if len(out_indices) != 1:
            raise ConfigError(f"{where}.out_indices: I3DHead needs exactly one output stage")
        self.out_indices = out_indices
        spatial_strides = tuple(cfg.get("spatial_strides", (1, 2, 2, 2)))
        temporal_strides = tuple(cfg.get("temporal_strides", (1, 1, 1, 1)))
        dilations = tuple(cfg.get("dilations", (1, 1, 1, 1)))
        if not len(spatial_strides) == len(temporal_strides) == len(dilations) == num_stages:
            raise ConfigError(f"{where}: spatial_strides, temporal_strides and dilations "
                              "must have num_stages entries")
        stage_blocks = cfg.get("stage_blocks")
        if stage_blocks is not None and len(stage_blocks) != num_stages:
            raise ConfigError(f"{where}.stage_blocks: must have num_stages entries")
        if stage_blocks is None:
            stage_blocks = default_blocks[:num_stages]
        style = cfg.get("style", "pytorch")
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"{where}.style: must be 'pytorch' or 'caffe', got '{style}'")
        inflate_style = cfg.get("inflate_style", "3x1x1")
        if inflate_style not in ("3x1x1", "3x3x3"):
            raise ConfigError(f"{where}.inflate_style: must be '3x1x1' or '3x3x3'")
        _check_conv_cfg(cfg.get("conv_cfg", {"type": "Conv3d"}), where)
        _check_act_cfg(cfg.get("act_cfg", {"type": "ReLU", "inplace": True}), where)
        if cfg.get("act_cfg", {"type": "ReLU"}) is None:
            raise ConfigError(f"{where}.act_cfg: None is not supported (ReLU only)")
        norm = _norm_kwargs(cfg.get("norm_cfg", {"type": "BN3d", "requires_grad": True}), where)
        if norm is None:
            raise ConfigError(f"{where}.norm_cfg: None is not supported (BN3d only)")
        stage_inflations = _ntuple(cfg.get("inflate", (1, 1, 1, 1)), num_stages)
        non_local_stages = _ntuple(cfg.get("non_local", (0, 0, 0, 0)), num_stages)
        non_local_cfg = dict(cfg.get("non_local_cfg", {}))

        in_channels = cfg.get("in_channels", 3)
        base = cfg.get("base_channels", 64)
        conv1_kernel = _triple(cfg.get("conv1_kernel", (3, 7, 7)), f"{where}.conv1_kernel")
        c1s = cfg.get("conv1_stride_s", 2)
        c1t = cfg.get("conv1_stride_t", 1)
        p1s = cfg.get("pool1_stride_s", 2)
        p1t = cfg.get("pool1_stride_t", 1)
        self.with_pool1 = cfg.get("with_pool1", True)
        self.with_pool2 = cfg.get("with_pool2", True)

        # stem: children conv1, maxpool, pool2 (the pools hold no state)
        self.conv1 = ConvModule(in_channels, base, conv1_kernel, stride=(c1t, c1s, c1s),
                                padding=tuple((k - 1) // 2 for k in conv1_kernel), bias=False,
                                norm=norm, relu=True)
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(p1t, p1s, p1s), padding=(0, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

        self.res_layers: list[str] = []
        inplanes = base
        for i, num_blocks in enumerate(stage_blocks):
            planes = base * 2 ** i
            lw = f"{where}.layer{i + 1}"
            inflate = _ntuple(stage_inflations[i], num_blocks) if isinstance(stage_inflations[i], int) \
                else tuple(stage_inflations[i])
            non_local = _ntuple(non_local_stages[i], num_blocks) if isinstance(non_local_stages[i], int) \
                else tuple(non_local_stages[i])
            if len(inflate) != num_blocks:
                raise ConfigError(f"{where}.inflate: stage {i} needs {num_blocks} entries, got {len(inflate)}")
            if len(non_local) != num_blocks:
                raise ConfigError(f"{where}.non_local: stage {i} needs {num_blocks} entries, got {len(non_local)}")
            s, t, d = spatial_strides[i], temporal_strides[i], dilations[i]
            downsample = None
            if s != 1 or inplanes != planes * block.expansion:
                downsample = ConvModule(inplanes, planes * block.expansion, 1, stride=(t, s, s),
                                        bias=False, norm=norm, relu=False)
            blocks = []
            for b in range(num_blocks):
                blocks.append(block(inplanes, planes,
                                    spatial_stride=s if b == 0 else 1,
                                    temporal_stride=t if b == 0 else 1,
                                    dilation=d, downsample=downsample if b == 0 else None,
                                    style=style, inflate=inflate[b] == 1,
                                    inflate_style=inflate_style, non_local=non_local[b] == 1,
                                    non_local_cfg=non_local_cfg, norm=norm, where=f"{lw}.{b}"))
                inplanes = planes * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = block.expansion * base * 2 ** (len(stage_blocks) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        out = None
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i == 0 and self.with_pool2:
                x = self.pool2(x)
            if i in self.out_indices:
                out = x
        return out


# --------------------------------------------------------------------------------------------
# I3DHead and Recognizer3D


HEAD_KEYS = {"type", "num_classes", "in_channels", "loss_cls", "spatial_type", "dropout_ratio",
             "init_std", "multi_class", "label_smooth_eps", "topk"}


class I3DHead(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        where = "model.cls_head"
        if cfg.get("type", "I3DHead") != "I3DHead":
            raise ConfigError(f"{where}.type: '{cfg['type']}' is not supported (I3DHead only)")
        _check_keys(where, cfg, HEAD_KEYS)
        for key in ("num_classes", "in_channels"):
            if key not in cfg:
                raise ConfigError(f"{where}: missing required key '{key}'")
        self.spatial_type = cfg.get("spatial_type", "avg")
        # dropout_ratio only matters for training; fc_cls is the one stateful child
        self.fc_cls = nn.Linear(cfg["in_channels"], cfg["num_classes"])

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        if self.spatial_type == "avg":
            x = F.adaptive_avg_pool3d(x, (1, 1, 1))
        return x.view(x.shape[0], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(self.pool(x))


RECOGNIZER_KEYS = {"type", "backbone", "cls_head", "neck", "train_cfg", "test_cfg"}
TEST_CFG_KEYS = {"average_clips", "max_testing_views", "feature_extraction"}


class Recognizer3D(nn.Module):
    def __init__(self, model_cfg: dict):
        super().__init__()
        cfg = copy.deepcopy(model_cfg)
        if cfg.get("type", "Recognizer3D") != "Recognizer3D":
            raise ConfigError(f"model.type: '{cfg['type']}' is not supported (Recognizer3D only)")
        _check_keys("model", cfg, RECOGNIZER_KEYS)
        if cfg.get("neck") is not None:
            raise ConfigError("model.neck: necks are not supported")
        if not cfg.get("cls_head"):
            raise ConfigError("model.cls_head: required")
        self.backbone = ResNet3d(cfg["backbone"])
        self.cls_head = I3DHead(cfg["cls_head"])
        test_cfg = cfg.get("test_cfg") or {}
        _check_keys("model.test_cfg", test_cfg, TEST_CFG_KEYS)
        self.test_cfg = test_cfg

    def features(self, imgs: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled backbone features [V, C] of views [V, 3, T, H, W]."""
        return F.adaptive_avg_pool3d(self.backbone(imgs), 1).flatten(1)

    def cls_score(self, imgs: torch.Tensor) -> torch.Tensor:
        """Per-view logits [V, num_classes] (test_cfg average_clips=None)."""
        return self.cls_head(self.backbone(imgs))

    def forward_test(self, imgs: torch.Tensor) -> torch.Tensor:
        """MMAction2's forward_test on a batch [B, num_segs, 3, T, H, W] -> [B, num_classes]."""
        num_segs = imgs.shape[1]
        return average_clip(self.cls_score(imgs.reshape((-1,) + imgs.shape[2:])), num_segs,
                            self.test_cfg.get("average_clips", "prob"))


def average_clip(cls_score: torch.Tensor, num_segs: int, average_clips: str | None) -> torch.Tensor:
    """BaseRecognizer.average_clip: 'prob' = softmax per view then mean, 'score' = mean of logits,
    None = per-view logits unchanged."""
    if average_clips not in ("score", "prob", None):
        raise ConfigError(f"model.test_cfg.average_clips: '{average_clips}' is not supported")
    if average_clips is None:
        return cls_score
    cls_score = cls_score.view(cls_score.shape[0] // num_segs, num_segs, -1)
    if average_clips == "prob":
        return F.softmax(cls_score, dim=2).mean(dim=1)
    return cls_score.mean(dim=1)


def build_recognizer(model_cfg: dict) -> Recognizer3D:
    model = Recognizer3D(model_cfg)
    model.eval()
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------
# The zoo's model dicts (configs/_base_/models/i3d_r50.py and the three non-local configs)


def zoo_model_cfg(non_local_mode: str | None = None, base_channels: int = 64,
                  num_classes: int = 400) -> dict:
    backbone = dict(
        type="ResNet3d", pretrained2d=True, pretrained="torchvision://resnet50", depth=50,
        conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2,
        conv_cfg=dict(type="Conv3d"), norm_eval=False,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
        zero_init_residual=False)
    if base_channels != 64:
        backbone["base_channels"] = base_channels
    if non_local_mode is not None:
        backbone["non_local"] = ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))
        backbone["non_local_cfg"] = dict(sub_sample=True, use_scale=False,
                                         norm_cfg=dict(type="BN3d", requires_grad=True),
                                         mode=non_local_mode)
    return dict(
        type="Recognizer3D", backbone=backbone,
        cls_head=dict(type="I3DHead", num_classes=num_classes, in_channels=32 * base_channels,
                      spatial_type="avg", dropout_ratio=0.5, init_std=0.01),
        train_cfg=None, test_cfg=dict(average_clips="prob"))
