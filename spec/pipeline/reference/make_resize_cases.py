"""Writes spec/pipeline/fixtures/resize.json: what mmcv 1.x's imresize (cv2.resize, OpenCV
4.6 here) and rescale_size give, for the TypeScript resize to match bit for bit.

Inputs are generated, not stored: a 32-bit LCG (state = state * 1664525 + 1013904223,
byte = state >> 24) that spec/pipeline/resize.test.ts reproduces. Outputs are stored as
sha256 (and in full when small).

Run: /usr/bin/python3 spec/pipeline/reference/make_resize_cases.py
"""
import base64
import hashlib
import json
import math
import os

import cv2
import numpy as np

import mmaction_code

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'resize.json')


def lcg_image(w, h, seed):
    n = w * h * 3
    out = np.empty(n, dtype=np.uint8)
    state = seed & 0xffffffff
    for i in range(n):
        state = (state * 1664525 + 1013904223) & 0xffffffff
        out[i] = state >> 24
    return out.reshape(h, w, 3)


def gradient_image(w, h):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1),
                    ((x + y) * 7) % 256], axis=-1)
    return img.astype(np.uint8)


def main():
    mmcv = mmaction_code.make_mmcv()
    sizes = [
        ((340, 256), (340, 256)), ((320, 240), (341, 256)), ((1280, 720), (455, 256)),
        ((171, 128), (341, 256)), ((37, 23), (61, 45)), ((61, 45), (37, 23)), ((13, 7), (5, 3)),
        ((5, 3), (13, 7)), ((1, 1), (4, 3)), ((3, 1), (1, 5)), ((100, 100), (50, 50)),
        ((101, 99), (50, 49)), ((64, 48), (32, 24)), ((256, 256), (224, 224)),
        ((33, 17), (33, 34)), ((33, 17), (66, 17)), ((640, 360), (455, 256)),
        ((227, 131), (97, 256)), ((29, 300), (256, 455)), ((50, 50), (25, 25)),
        ((7, 9), (3, 4)), ((90, 60), (30, 20)), ((255, 255), (256, 256)),
    ]
    cases = []
    for i, ((sw, sh), (dw, dh)) in enumerate(sizes):
        for interp in ['bilinear', 'nearest']:
            if interp == 'nearest' and i % 3:
                continue
            for kind in ['lcg', 'gradient']:
                if kind == 'gradient' and sw * sh > 100000:
                    continue
                seed = 1000 + i
                img = lcg_image(sw, sh, seed) if kind == 'lcg' else gradient_image(sw, sh)
                out = mmcv.imresize(img, (dw, dh), interpolation=interp)
                assert out.shape == (dh, dw, 3), out.shape
                data = out.tobytes()
                case = dict(src=[sw, sh], dst=[dw, dh], interpolation=interp, input=kind, seed=seed,
                            sha256=hashlib.sha256(data).hexdigest())
                if len(data) <= 12000:
                    case['output_b64'] = base64.b64encode(data).decode()
                cases.append(case)
    rescale = []
    for (w, h) in [(340, 256), (320, 240), (1280, 720), (1920, 1080), (256, 340), (171, 128),
                   (455, 256), (640, 480), (100, 37), (37, 100), (1, 1), (3000, 7), (7, 3000),
                   (398, 224), (854, 480), (426, 240), (176, 144)]:
        for scale in [(-1, 256), (-1, 224), (340, 256), (256, 340), (512, 128), (-1, 320),
                      0.5, 1.5, 1.0, 0.3333]:
            s = scale
            if isinstance(scale, tuple) and min(scale) == -1:  # what Resize.__init__ does
                s = (math.inf, max(scale))
            new_w, new_h = mmcv.rescale_size((w, h), s)
            rescale.append(dict(size=[w, h], scale=list(scale) if isinstance(scale, tuple) else scale,
                                out=[int(new_w), int(new_h)]))
    with open(OUT, 'w') as f:
        json.dump(dict(opencv=cv2.__version__, resize=cases, rescale=rescale), f,
                  separators=(',', ':'))
    print(f'{len(cases)} resize cases, {len(rescale)} rescale cases -> {OUT} '
          f'({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
