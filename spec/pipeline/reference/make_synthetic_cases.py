"""Writes spec/pipeline/fixtures/synthetic.json: MMAction2 0.x's own pipeline classes (loaded
from the git mirror by mmaction_code.py) on generated frames, for the cases the media fixtures
do not reach:
  - normalize: mmcv.imnormalize_ (cv2.subtract, then cv2.multiply by 1/std) on every byte value,
    for the zoo's mean/std and for others where rounding once would be 1 ulp off;
  - pipelines: steps that write in place (Flip after ThreeCrop / TenCrop, whose crops are numpy
    views of one frame), lazy Flip(flip_ratio=0) followed by lazy steps, twice_sample and dense
    sampling with ThreeCrop (view order), Normalize with other mean/std and to_bgr.

Frames are generated, not stored: frame i of a case is the 32-bit LCG image of
spec/pipeline/resize.test.ts seeded with seed + i. Every sampled slot gets its own copy, as
RawFrameDecode (deepcopy of repeats) and DecordDecode (get_batch) give them.

Run: /usr/bin/python3 spec/pipeline/reference/make_synthetic_cases.py
"""
import base64
import hashlib
import json
import os

import cv2
import numpy as np

import mmaction_code
from make_resize_cases import lcg_image  # the same generated test image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'synthetic.json')

ZOO = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
ODD = dict(mean=[73.74101693382113, 145.07219355643764, 177.116139339418],
           std=[0.9430257809392798, 0.8419446393174411, 0.6524848076055549])
FORMAT = dict(type='FormatShape', input_format='NCTHW')


def sample(**kw):
    return dict(type='SampleFrames', test_mode=True, **kw)


CASES = [
    dict(name='ThreeCrop then Flip(flip_ratio=1): the overlapping crop views are flipped in place',
         size=(50, 30), total=12, seed=11,
         steps=[sample(clip_len=2, frame_interval=3, num_clips=2),
                dict(type='Resize', scale=(-1, 24)), dict(type='ThreeCrop', crop_size=24),
                dict(type='Flip', flip_ratio=1), dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='portrait ThreeCrop then vertical Flip', size=(20, 44), total=9, seed=12,
         steps=[sample(clip_len=3, frame_interval=1, num_clips=1),
                dict(type='ThreeCrop', crop_size=(20, 26)),
                dict(type='Flip', flip_ratio=1, direction='vertical'),
                dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='TenCrop then Flip', size=(41, 33), total=6, seed=13,
         steps=[sample(clip_len=2, frame_interval=2, num_clips=1),
                dict(type='Resize', scale=(-1, 28)), dict(type='TenCrop', crop_size=(20, 17)),
                dict(type='Flip', flip_ratio=1), dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='CenterCrop, Flip, ThreeCrop, Flip on the decoded frames (views of views)',
         size=(37, 29), total=3, seed=14,
         steps=[sample(clip_len=4, frame_interval=1, num_clips=1),
                dict(type='CenterCrop', crop_size=(31, 25)),
                dict(type='Flip', flip_ratio=1, direction='vertical'),
                dict(type='ThreeCrop', crop_size=(18, 25)), dict(type='Flip', flip_ratio=1),
                dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='lazy Flip(flip_ratio=0) followed by lazy Resize and CenterCrop, then Fuse',
         size=(45, 31), total=10, seed=15,
         steps=[sample(clip_len=2, frame_interval=2, num_clips=2),
                dict(type='Flip', flip_ratio=0, lazy=True),
                dict(type='Resize', scale=(-1, 24), lazy=True),
                dict(type='CenterCrop', crop_size=20, lazy=True), dict(type='Fuse'),
                dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='Normalize with a mean/std where one rounding is 1 ulp off, to_bgr',
         size=(30, 22), total=8, seed=16,
         steps=[sample(clip_len=2, frame_interval=2, num_clips=2),
                dict(type='Resize', scale=(-1, 20)), dict(type='CenterCrop', crop_size=18),
                dict(type='Normalize', to_bgr=True, **ODD), FORMAT]),
    dict(name='twice_sample with ThreeCrop: 2 x num_clips clips, crop-major views',
         size=(36, 24), total=40, seed=17,
         steps=[sample(clip_len=2, frame_interval=3, num_clips=3, twice_sample=True),
                dict(type='ThreeCrop', crop_size=24), dict(type='Normalize', **ZOO), FORMAT]),
    dict(name='DenseSampleFrames, 3 positions x 2 clips, with ThreeCrop', size=(28, 20),
         total=50, seed=18,
         steps=[dict(type='DenseSampleFrames', clip_len=2, frame_interval=2, num_clips=2,
                     sample_range=16, num_sample_positions=3, test_mode=True),
                dict(type='ThreeCrop', crop_size=20), dict(type='Normalize', **ZOO), FORMAT]),
]


def run_case(mm, case):
    w, h = case['size']
    steps = case['steps']
    results = dict(total_frames=case['total'], start_index=0, modality='RGB')
    results = mmaction_code.build(mm, steps[0])(results)
    inds = results['frame_inds']
    results['imgs'] = [lcg_image(w, h, case['seed'] + int(i)) for i in inds]
    for step in steps[1:]:
        results = mmaction_code.build(mm, step)(results)
    imgs = np.ascontiguousarray(results['imgs'], dtype=np.float32)
    return dict(case, size=list(case['size']),
                steps=[{k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items()}
                       for s in steps],
                frame_inds=inds.reshape(-1, results['clip_len']).tolist(),
                shape=list(imgs.shape), sha256=hashlib.sha256(imgs.tobytes()).hexdigest())


def normalize_case(mmcv, mean, std, to_bgr):
    # pixel v in every channel of row v: one image holds all 256 values
    img = np.repeat(np.arange(256, dtype=np.float32)[:, None, None], 3, axis=2)
    mmcv.imnormalize_(img, np.array(mean, dtype=np.float32), np.array(std, dtype=np.float32),
                      to_bgr)
    table = np.ascontiguousarray(img[:, 0, :].T, dtype='<f4')  # [channel][value]
    return dict(mean=mean, std=std, to_bgr=to_bgr,
                table_f32le_b64=base64.b64encode(table.tobytes()).decode())


def main():
    mm = mmaction_code.load_mmaction()
    mmcv = mmaction_code.make_mmcv()
    norms = [(ZOO, False), (ZOO, True), (ODD, False), (ODD, True),
             (dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5]), False),
             (dict(mean=[-35.958722648625994, 136.0127688319617, 105.17242165274749],
                   std=[40.728449753026766, 0.09800843735351965, 33.89058393543181]), True),
             (dict(mean=[261.9840799239665, 10.269801244600636, 174.96054671009375],
                   std=[1.0005067295887546, 1.9516379839660445, 0.7973153492929405]), False)]
    out = dict(source='MMAction2 0.x / mmcv 1.x, run by ' + os.path.basename(__file__),
               opencv=cv2.__version__, numpy=np.__version__,
               normalize=[normalize_case(mmcv, n['mean'], n['std'], bgr) for n, bgr in norms],
               pipelines=[run_case(mm, c) for c in CASES])
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    for c in out['pipelines']:
        print(f"{c['name']}: shape {c['shape']}")
    print(f'-> {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
