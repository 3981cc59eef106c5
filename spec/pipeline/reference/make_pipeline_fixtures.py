"""Writes spec/pipeline/fixtures/pipeline.json: MMAction2 0.x's test pipeline run by its own
classes (loaded from the git mirror by mmaction_code.py) on the committed test media.

Decoding stands in for what /usr/bin/python3 lacks (no decord, no PyAV):
  - videos: total_frames = video packets (ffprobe -count_packets, what decord's len() gives);
    frames from cv2.VideoCapture read sequentially (BGR -> RGB), as DecordDecode returns them.
    cv2's own frame count is recorded next to it.
  - rawframes: MMAction2's RawFrameDecode itself (mmcv.imfrombytes -> cv2.imdecode).
Per case the fixture keeps the frame indices, the sha256 of the float32 [V,3,T,H,W] tensor,
per-view/channel mean and std, and a strided float16 sample of two views (for diagnostics
and tolerance checks). Full tensors would be far too large to commit.

Run: /usr/bin/python3 spec/pipeline/reference/make_pipeline_fixtures.py
"""
import base64
import hashlib
import json
import os
import subprocess

import cv2
import numpy as np

import mmaction_code

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA = os.path.join(HERE, '..', '..', 'fixtures', 'media')
OUT = os.path.join(HERE, '..', 'fixtures', 'pipeline.json')

NORM = dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
            to_bgr=False)
FORMAT = [dict(type='FormatShape', input_format='NCTHW'),
          dict(type='Collect', keys=['imgs'], meta_keys=[]), dict(type='ToTensor', keys=['imgs'])]


def zoo_test(clip_len=8, frame_interval=4, num_clips=4):
    """The zoo's test pipeline (Resize(-1, 256), ThreeCrop(256)), with fewer frames so the
    tensor stays test-sized; the zoo's 32x2x10 indices are covered by the sampling cases."""
    return [dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
                 num_clips=num_clips, test_mode=True),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(-1, 256)), dict(type='ThreeCrop', crop_size=256),
            NORM] + FORMAT


def zoo_val():
    return [dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1, test_mode=True),
            dict(type='DecordDecode'),
            dict(type='Resize', scale=(-1, 256)), dict(type='CenterCrop', crop_size=224),
            NORM] + FORMAT


CASES = [
    dict(name='demo.mp4 zoo test pipeline', media='demo.mp4', steps=zoo_test()),
    dict(name='demo.mp4 zoo val pipeline (32x2x1, CenterCrop 224)', media='demo.mp4',
         steps=zoo_val()),
    dict(name='test.mp4 zoo test pipeline', media='test.mp4', steps=zoo_test()),
    dict(name='test.avi zoo test pipeline', media='test.avi', steps=zoo_test()),
    dict(name='test.avi repeat_last, fixed size, flip, centre crop, to_bgr', media='test.avi',
         steps=[dict(type='SampleFrames', clip_len=12, frame_interval=15, num_clips=3,
                     out_of_bound_opt='repeat_last', test_mode=True),
                dict(type='DecordDecode'),
                dict(type='Resize', scale=(171, 128), keep_ratio=False),
                dict(type='Flip', flip_ratio=1),
                dict(type='CenterCrop', crop_size=112),
                dict(NORM, to_bgr=True)] + FORMAT),
    dict(name='rawframes zoo test pipeline (32x2x1, 10 frames: loops)', media='rawframes/img',
         steps=[dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1,
                     test_mode=True),
                dict(type='RawFrameDecode'),
                dict(type='Resize', scale=(-1, 256)), dict(type='ThreeCrop', crop_size=256),
                NORM] + FORMAT),
    dict(name='rawframes lazy val pipeline (i3d_r50_lazy)', media='rawframes/img',
         steps=[dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=1,
                     test_mode=True),
                dict(type='RawFrameDecode'),
                dict(type='Resize', scale=(-1, 256), lazy=True),
                dict(type='CenterCrop', crop_size=224, lazy=True),
                dict(type='Flip', flip_ratio=0, lazy=True),
                dict(type='Fuse'), NORM] + FORMAT),
    dict(name='rawframes dense sampling, TenCrop 224', media='rawframes/img',
         steps=[dict(type='DenseSampleFrames', clip_len=4, frame_interval=2, num_clips=1,
                     num_sample_positions=2, test_mode=True),
                dict(type='RawFrameDecode'),
                dict(type='Resize', scale=(-1, 256)), dict(type='TenCrop', crop_size=224),
                NORM] + FORMAT),
]

DECODE_TYPES = {'DecordInit', 'DecordDecode', 'RawFrameDecode', 'OpenCVInit', 'OpenCVDecode'}
PASSIVE = {'Collect', 'ToTensor'}


def packet_count(path):
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-count_packets',
                          '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def cv2_frames(path, wanted):
    cap = cv2.VideoCapture(path)
    prop_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames, n = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if n in wanted:
            frames[n] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        n += 1
    return frames, prop_count, n


def jsonable(step):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in step.items()}


def run_case(mm, case):
    media = os.path.join(MEDIA, case['media'])
    is_raw = os.path.isdir(media)
    steps = case['steps']
    sampler = mmaction_code.build(mm, steps[0])
    info = {}
    if is_raw:
        total = len([f for f in os.listdir(media) if f.startswith('img_') and f.endswith('.jpg')])
        results = dict(frame_dir=media, total_frames=total, filename_tmpl='img_{:05}.jpg',
                       start_index=1, modality='RGB')
    else:
        total = packet_count(media)
        results = dict(filename=media, total_frames=total, start_index=0, modality='RGB')
    results = sampler(results)
    inds = results['frame_inds']
    if is_raw:
        results = mm.RawFrameDecode()(results)
    else:
        frames, prop_count, read = cv2_frames(media, set(int(i) for i in inds))
        missing = sorted(set(int(i) for i in inds) - set(frames))
        assert not missing, f'cv2 cannot read frames {missing} of {media}'
        info.update(cv2_frame_count_property=prop_count, cv2_frames_read=read)
        results['imgs'] = [frames[int(i)].copy() for i in inds]
        results['original_shape'] = results['imgs'][0].shape[:2]
        results['img_shape'] = results['imgs'][0].shape[:2]
    for step in steps[1:]:
        if step['type'] in DECODE_TYPES or step['type'] in PASSIVE:
            continue
        results = mmaction_code.build(mm, step)(results)
    imgs = np.ascontiguousarray(results['imgs'], dtype=np.float32)
    V, C, T, H, W = imgs.shape
    stats = [[float(imgs[v, c].mean(dtype=np.float64)), float(imgs[v, c].std(dtype=np.float64))]
             for v in range(V) for c in range(C)]
    sample_views = sorted({0, V - 1})
    sample = imgs[sample_views][:, :, ::4, ::8, ::8].astype(np.float16)
    return dict(
        name=case['name'], media=case['media'], kind='rawframes' if is_raw else 'video',
        steps=[jsonable(s) for s in steps], total_frames=total,
        start_index=results['start_index'], **info,
        frame_inds=inds.reshape(-1, results['clip_len']).tolist(),
        shape=[V, C, T, H, W], sha256=hashlib.sha256(imgs.tobytes()).hexdigest(),
        view_channel_mean_std=stats,
        sample=dict(views=sample_views, t_stride=4, hw_stride=8, shape=list(sample.shape),
                    float16_b64=base64.b64encode(sample.tobytes()).decode()))


def main():
    mm = mmaction_code.load_mmaction()
    out = [run_case(mm, c) for c in CASES]
    for c in out:
        print(f"{c['name']}: total {c['total_frames']} cv2 "
              f"{c.get('cv2_frame_count_property')}/{c.get('cv2_frames_read')} shape {c['shape']}")
    with open(OUT, 'w') as f:
        json.dump(dict(opencv=cv2.__version__, numpy=np.__version__, cases=out), f,
                  separators=(',', ':'))
    print(f'-> {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
