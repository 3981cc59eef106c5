"""Writes spec/pipeline/fixtures/sampling.json: frame indices that MMAction2 0.x's own
SampleFrames / DenseSampleFrames (test_mode=True) produce for many (total_frames, params).

Run: /usr/bin/python3 spec/pipeline/reference/make_sampling_cases.py
"""
import json
import os
import random

import numpy as np

import mmaction_code

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'sampling.json')


def run(mm, step, total, start_index):
    sampler = mmaction_code.build(mm, step)
    results = sampler(dict(total_frames=total, start_index=start_index))
    inds = results['frame_inds']
    assert inds.dtype == np.int64
    return inds.reshape(-1, step['clip_len']).tolist()


def main():
    mm = mmaction_code.load_mmaction()
    rng = random.Random(20261128)
    cases = []
    totals = [1, 2, 3, 5, 7, 10, 16, 31, 32, 33, 63, 64, 65, 66, 100, 127, 128, 129, 164, 250,
              280, 300, 301, 997, 4321]
    # the zoo's own settings on every total
    zoo = [
        dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=10, test_mode=True),
        dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1, test_mode=True),
        dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=10, test_mode=True),
        dict(type='DenseSampleFrames', clip_len=32, frame_interval=2, num_clips=1,
             test_mode=True),
    ]
    for total in totals:
        for step in zoo:
            cases.append((step, total, 1 if total % 2 else 0))
    # random combinations, short videos included
    for _ in range(420):
        total = rng.choice([rng.randint(1, 40), rng.randint(1, 400), rng.randint(300, 3000)])
        dense = rng.random() < 0.3
        step = dict(type='DenseSampleFrames' if dense else 'SampleFrames',
                    clip_len=rng.choice([1, 2, 3, 4, 8, 16, 32, 64]),
                    frame_interval=rng.choice([1, 1, 2, 3, 4, 8]),
                    num_clips=rng.choice([1, 2, 3, 4, 5, 7, 10]),
                    out_of_bound_opt=rng.choice(['loop', 'repeat_last']),
                    test_mode=True)
        if dense:
            step['sample_range'] = rng.choice([8, 16, 32, 64, 100, 128])
            step['num_sample_positions'] = rng.choice([1, 2, 3, 5, 10])
        else:
            step['twice_sample'] = rng.random() < 0.3
        cases.append((step, total, rng.choice([0, 1, 1, 5])))
    out = []
    for step, total, start_index in cases:
        out.append(dict(step=step, total_frames=total, start_index=start_index,
                        frame_inds=run(mm, step, total, start_index)))
    with open(OUT, 'w') as f:
        json.dump(dict(source='MMAction2 0.x loading.py, run by ' + os.path.basename(__file__),
                       cases=out), f, separators=(',', ':'))
    print(f'{len(out)} cases -> {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
