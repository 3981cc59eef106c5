"""The synthetic full-size i3d_r50 weights of the quick-start test, in numpy.

spec/e2e/quickstart/synthetic-weights.ts computes the same float32 values bit for bit: every
value is lo + (hi - lo) * u in float64, rounded to float32, with u a 24-bit fraction from an
integer hash of (tensor index, element index), and lo/hi from the key (rule() below). No
training, no calibration pass: He-style uniform convs, BN close to identity with a small gamma
at the end of each residual branch (so 16 blocks do not blow the activations up), a fc scaled
for logits of a few units. A checkpoint of 112 MB is thus 2 KB of code on each side.
"""

from __future__ import annotations

import math

import numpy as np

M1, M2 = np.uint32(0x7FEB352D), np.uint32(0x846CA68B)
NUM_BATCHES_TRACKED = 117200  # what the zoo's checkpoints hold after 100 epochs


def lowbias32(x: np.ndarray) -> np.ndarray:
    """Chris Wellons' lowbias32 integer hash on uint32 arrays (wrapping multiplies)."""
    x = x.astype(np.uint32, copy=True)
    x ^= x >> np.uint32(16)
    x *= M1
    x ^= x >> np.uint32(15)
    x *= M2
    x ^= x >> np.uint32(16)
    return x


def uniform01(index: int, n: int) -> np.ndarray:
    """n fractions in [0, 1) with 24 bits each, float64, for the tensor at `index`."""
    seed = lowbias32(np.array([index + 0x51ED27], dtype=np.uint32))[0]
    h = lowbias32(lowbias32(np.arange(n, dtype=np.uint32)) ^ seed)
    return (h >> np.uint32(8)).astype(np.float64) / 16777216.0


def rule(key: str, shape: tuple) -> tuple[float, float]:
    """(lo, hi) of the uniform distribution a float tensor is drawn from."""
    if key.endswith("conv.weight"):
        fan_in = int(np.prod(shape[1:]))
        a = math.sqrt(6.0 / fan_in)  # variance 2 / fan_in
        return -a, a
    if key == "cls_head.fc_cls.weight":
        a = math.sqrt(3.0 / shape[1]) * 0.7
        return -a, a
    if key == "cls_head.fc_cls.bias":
        return -0.5, 0.5
    if key.endswith("bn.weight"):
        return (0.15, 0.3) if ".conv3.bn." in key else (0.8, 1.2)
    if key.endswith("bn.bias") or key.endswith("bn.running_mean"):
        return -0.1, 0.1
    if key.endswith("bn.running_var"):
        return 0.8, 1.2
    raise ValueError(f"no rule for {key}")


def tensor(index: int, key: str, shape: tuple, dtype: str) -> np.ndarray:
    if dtype == "int64":
        assert key.endswith("num_batches_tracked") and shape == ()
        return np.array(NUM_BATCHES_TRACKED, dtype=np.int64)
    lo, hi = rule(key, shape)
    n = int(np.prod(shape)) if shape else 1
    return (lo + (hi - lo) * uniform01(index, n)).astype(np.float32).reshape(shape)


def state_dict_arrays(entries: list) -> dict:
    """entries: [(key, shape, dtype)] in state_dict order -> {key: numpy array}."""
    return {key: tensor(i, key, tuple(shape), dtype) for i, (key, shape, dtype) in enumerate(entries)}
