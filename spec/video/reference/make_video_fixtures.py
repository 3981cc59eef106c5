"""Writes small generated clips to spec/fixtures/media/clips/ and, for every test video,
what a decord-style decode gives (spec/video/fixtures/videos.json).

Expected pixels per video: FFmpeg's own rgb24 conversion with default flags, i.e. swscale's
x86 yuv420p->RGB converter honouring the stream's colour tags — what decord's scale filter
and (for untagged streams) cv2.VideoCapture produce. For streams that converter does not
handle (yuv444p, odd height) the package converts with swscale in bit-exact mode, and the
expectation is that output. cv2's frames are compared and the differences recorded.

Run: /usr/bin/python3 spec/video/reference/make_video_fixtures.py  (needs ffmpeg 5.1 on PATH)
"""
import hashlib
import json
import os
import struct
import subprocess

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA = os.path.join(HERE, '..', '..', 'fixtures', 'media')
CLIPS = os.path.join(MEDIA, 'clips')
OUT = os.path.join(HERE, '..', 'fixtures', 'videos.json')


def ff(*args):
    subprocess.run(['ffmpeg', '-v', 'error', '-y', *args], check=True)


def make_clips():
    os.makedirs(CLIPS, exist_ok=True)
    src = ['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=25', '-frames:v', '12']
    ff(*src, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-colorspace', 'bt709',
       '-color_primaries', 'bt709', '-color_trc', 'bt709', os.path.join(CLIPS, 'bt709.mp4'))
    ff(*src, '-c:v', 'libx264', '-pix_fmt', 'yuvj420p', os.path.join(CLIPS, 'fullrange.mp4'))
    ff(*src, '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '5', os.path.join(CLIPS, 'mjpeg.avi'))
    ff(*src, '-c:v', 'libx264', '-pix_fmt', 'yuv444p', os.path.join(CLIPS, 'yuv444.mp4'))
    ff('-f', 'lavfi', '-i', 'testsrc=size=98x64:rate=25', '-frames:v', '10', '-vf', 'scale=97:63',
       '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', os.path.join(CLIPS, 'odd97x63.mkv'))
    # index (moov) before the frames: a truncated copy still lists every frame
    ff('-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=25', '-frames:v', '40', '-c:v', 'libx264',
       '-pix_fmt', 'yuv420p', '-movflags', '+faststart', os.path.join(CLIPS, 'faststart.mp4'))
    ff('-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.1', '-c:a', 'pcm_s16le',
       os.path.join(CLIPS, 'tone.wav'))
    # rotated: a display matrix of -90 degrees in tkhd (ffmpeg 5.1 cannot write one)
    tmp = os.path.join(CLIPS, 'rot.tmp.mp4')
    ff(*src, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', tmp)
    data = bytearray(open(tmp, 'rb').read())
    os.remove(tmp)
    i = data.find(b'tkhd')
    off = i + 4 + 4 + (32 if data[i + 4] == 1 else 20) + 16
    struct.pack_into('>9i', data, off, 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    open(os.path.join(CLIPS, 'rot90.mp4'), 'wb').write(bytes(data))


def probe(path):
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-count_packets',
                          '-show_entries', 'stream=width,height,pix_fmt,nb_read_packets:'
                          'stream_side_data=rotation', '-of', 'json', path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)['streams'][0]


def ffmpeg_rgb(path, flags):
    return subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-map', '0:v:0', '-fps_mode',
                           'passthrough', '-sws_flags', flags, '-pix_fmt', 'rgb24', '-f',
                           'rawvideo', '-'], check=True, capture_output=True).stdout


def cv2_rgb(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    return np.stack(frames)


def main():
    make_clips()
    videos = ['demo.mp4', 'test.mp4', 'test.avi'] + [
        'clips/' + n for n in ['bt709.mp4', 'fullrange.mp4', 'mjpeg.avi', 'yuv444.mp4',
                               'odd97x63.mkv', 'rot90.mp4', 'faststart.mp4']]
    out = []
    for name in videos:
        path = os.path.join(MEDIA, name)
        s = probe(path)
        rot = s.get('side_data_list', [{}])[0].get('rotation', 0)
        w, h = (s['height'], s['width']) if rot in (90, -90, 270, -270) else (s['width'], s['height'])
        direct = s['pix_fmt'] in ('yuv420p', 'yuvj420p') and h % 2 == 0
        expected = ffmpeg_rgb(path, 'bicubic' if direct else 'bicubic+accurate_rnd+bitexact')
        frames = np.frombuffer(expected, np.uint8).reshape(-1, h, w, 3)
        ref = cv2_rgb(path)
        n = min(len(ref), len(frames))
        diff = np.abs(ref[:n].astype(int) - frames[:n].astype(int)) if ref.shape[1:] == frames.shape[1:] else None
        out.append(dict(
            file=name, packets=int(s['nb_read_packets']), width=w, height=h, pix_fmt=s['pix_fmt'],
            rotation=rot, frames=len(frames),
            sha256_per_frame=[hashlib.sha256(f.tobytes()).hexdigest() for f in frames],
            cv2_frames=len(ref), cv2_shape=list(ref.shape[1:]),
            cv2_max_diff=None if diff is None else int(diff.max()),
            cv2_mean_diff=None if diff is None else float(diff.mean())))
        print(name, out[-1]['packets'], w, h, s['pix_fmt'], 'cv2', len(ref), ref.shape[1:],
              out[-1]['cv2_max_diff'], out[-1]['cv2_mean_diff'])
    with open(OUT, 'w') as f:
        json.dump(dict(ffmpeg=subprocess.run(['ffmpeg', '-version'], capture_output=True,
                                             text=True).stdout.split('\n')[0],
                       videos=out), f, indent=0)
    print('->', OUT, os.path.getsize(OUT))


if __name__ == '__main__':
    main()
