"""Writes JPEG test files to spec/fixtures/media/jpeg/ and what cv2.imdecode(IMREAD_COLOR)
(libjpeg-turbo, as mmcv.imfrombytes uses it) decodes them to, as RGB, into
spec/video/fixtures/jpeg.json (sha256, plus the pixels of the smallest ones).

The files are made here: crops of a demo.mp4 frame and noise, encoded by cv2.imwrite and by
PIL (libjpeg-turbo too) with the variants a frame extractor may produce: qualities, odd
sizes, 4:2:0 / 4:2:2 / 4:4:4 / 4:4:0 subsampling, restart intervals, grayscale, an EXIF
orientation, and a progressive file (which the JS decoder hands to FFmpeg).

Run: /usr/bin/python3 spec/video/reference/make_jpeg_fixtures.py
"""
import base64
import hashlib
import io
import json
import os
import struct

import cv2
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA = os.path.join(HERE, '..', '..', 'fixtures', 'media')
OUT_DIR = os.path.join(MEDIA, 'jpeg')
OUT = os.path.join(HERE, '..', 'fixtures', 'jpeg.json')


def demo_frame():
    cap = cv2.VideoCapture(os.path.join(MEDIA, 'demo.mp4'))
    for _ in range(40):
        ok, frame = cap.read()
    return frame  # BGR, 256x340


def with_exif_orientation(jpeg, orientation):
    """Insert an APP1 Exif segment holding only the Orientation tag after SOI."""
    tiff = b'MM' + struct.pack('>HI', 42, 8) + struct.pack('>H', 1) + \
        struct.pack('>HHIHH', 0x0112, 3, 1, orientation, 0) + struct.pack('>I', 0)
    payload = b'Exif\x00\x00' + tiff
    return jpeg[:2] + b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload + jpeg[2:]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    bgr = demo_frame()
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, size=(45, 61, 3), dtype=np.uint8)
    files = {}

    def cv2_jpeg(img, **params):
        flat = []
        for k, v in params.items():
            flat += [getattr(cv2, k), v]
        ok, buf = cv2.imencode('.jpg', img, flat)
        assert ok
        return buf.tobytes()

    def pil_jpeg(img, **kw):
        out = io.BytesIO()
        Image.fromarray(img[..., ::-1] if img.ndim == 3 else img).save(out, format='JPEG', **kw)
        return out.getvalue()

    files['q95_340x256.jpg'] = cv2_jpeg(bgr, IMWRITE_JPEG_QUALITY=95)
    files['q30_odd_37x23.jpg'] = cv2_jpeg(bgr[100:123, 50:87], IMWRITE_JPEG_QUALITY=30)
    files['q75_1x1.jpg'] = cv2_jpeg(bgr[5:6, 5:6])
    files['q75_3x41.jpg'] = cv2_jpeg(bgr[10:51, 20:23])
    files['q90_noise_61x45.jpg'] = cv2_jpeg(noise, IMWRITE_JPEG_QUALITY=90)
    files['q100_noise_61x45.jpg'] = cv2_jpeg(noise, IMWRITE_JPEG_QUALITY=100)
    files['restart_3_129x67.jpg'] = cv2_jpeg(bgr[30:97, 40:169], IMWRITE_JPEG_RST_INTERVAL=3)
    files['gray_77x51.jpg'] = cv2_jpeg(cv2.cvtColor(bgr[0:51, 0:77], cv2.COLOR_BGR2GRAY))
    files['pil_444_101x53.jpg'] = pil_jpeg(bgr[60:113, 100:201], quality=85, subsampling=0)
    files['pil_422_101x53.jpg'] = pil_jpeg(bgr[60:113, 100:201], quality=85, subsampling=1)
    files['pil_420_odd_99x55.jpg'] = pil_jpeg(bgr[61:116, 101:200], quality=60, subsampling=2)
    files['pil_422_narrow_4x30.jpg'] = pil_jpeg(bgr[0:30, 0:4], quality=85, subsampling=1)
    files['pil_optimized_160x120.jpg'] = pil_jpeg(bgr[50:170, 90:250], quality=80, optimize=True)
    files['exif_orientation_6_61x45.jpg'] = with_exif_orientation(cv2_jpeg(bgr[0:45, 0:61]), 6)
    files['exif_orientation_3_61x45.jpg'] = with_exif_orientation(cv2_jpeg(bgr[0:45, 0:61]), 3)
    files['exif_orientation_8_61x45.jpg'] = with_exif_orientation(cv2_jpeg(bgr[0:45, 0:61]), 8)
    files['progressive_80x60.jpg'] = cv2_jpeg(bgr[0:60, 0:80], IMWRITE_JPEG_PROGRESSIVE=1)

    cases = []
    for name, data in files.items():
        with open(os.path.join(OUT_DIR, name), 'wb') as f:
            f.write(data)
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        case = dict(file=name, width=rgb.shape[1], height=rgb.shape[0],
                    sha256=hashlib.sha256(rgb.tobytes()).hexdigest(),
                    progressive=b'\xff\xc2' in data[:2000])
        if rgb.size <= 15000:
            case['rgb_b64'] = base64.b64encode(rgb.tobytes()).decode()
        cases.append(case)
    with open(OUT, 'w') as f:
        json.dump(dict(opencv=cv2.__version__, cases=cases), f, indent=0)
    print(f'{len(cases)} JPEGs -> {OUT_DIR}, {OUT}')


if __name__ == '__main__':
    main()
