"""Loads the real MMAction2 0.x / mmcv 1.x pipeline code for the reference scripts.

Dev tool only (run with /usr/bin/python3: numpy + Debian's cv2; no mmcv, no mmaction, no
decord or PyAV). The class and function definitions are taken verbatim from the bare git
mirrors at run time (`git show 0.x:...`), parsed with `ast` and executed against a small
namespace that stands in for the parts of mmcv they import. Nothing of their code is copied
into this repository; the fixtures this produces come from the upstream code itself.
"""
import ast
import copy
import os
import random
import subprocess
import types
import warnings
from collections.abc import Sequence

import cv2
import numpy as np

MMACTION = os.environ.get('MMACTION2_GIT', '/work/.mirror/open-mmlab+mmaction2/repo')
MMCV = os.environ.get('MMCV_GIT', '/work/.mirror/open-mmlab+mmcv/repo')


def git_show(repo, ref_path):
    return subprocess.run(['git', '-C', repo, 'show', ref_path], check=True,
                          capture_output=True, text=True).stdout


def load_defs(source, names, namespace, filename):
    """Execute the top-level classes/functions/assignments called `names` of `source`."""
    tree = ast.parse(source)
    picked = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names:
            node.decorator_list = []  # drop @PIPELINES.register_module() / @no_type_check
            picked.append(node)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in names for t in node.targets):
            picked.append(node)
    found = {getattr(n, 'name', None) or n.targets[0].id for n in picked}
    missing = set(names) - found
    if missing:
        raise RuntimeError(f'{filename}: not found: {sorted(missing)}')
    module = ast.Module(body=picked, type_ignores=[])
    exec(compile(module, filename, 'exec'), namespace)
    return namespace


def _pair(x):
    return x if isinstance(x, tuple) else (x, x)


def make_mmcv():
    ns = {'cv2': cv2, 'np': np, 'numbers': __import__('numbers'), 'Image': None,
          'Optional': object, 'Tuple': tuple, 'Union': object, 'List': list,
          'no_type_check': lambda f: f, 'imread_backend': 'cv2', 'warnings': warnings}
    from typing import List, Optional, Tuple, Union
    ns.update(Optional=Optional, Tuple=Tuple, Union=Union, List=List)
    load_defs(git_show(MMCV, '1.x:mmcv/image/geometric.py'),
              ['_scale_size', 'cv2_interp_codes', 'imresize', 'rescale_size', 'imflip_'],
              ns, 'mmcv/image/geometric.py')
    load_defs(git_show(MMCV, '1.x:mmcv/image/photometric.py'), ['imnormalize_', 'iminvert'],
              ns, 'mmcv/image/photometric.py')
    ns.update(IMREAD_COLOR=cv2.IMREAD_COLOR, IMREAD_GRAYSCALE=cv2.IMREAD_GRAYSCALE,
              IMREAD_IGNORE_ORIENTATION=cv2.IMREAD_IGNORE_ORIENTATION,
              IMREAD_UNCHANGED=cv2.IMREAD_UNCHANGED, is_str=lambda s: isinstance(s, str),
              supported_backends=['cv2'])
    load_defs(git_show(MMCV, '1.x:mmcv/image/io.py'), ['imread_flags', 'imfrombytes'], ns,
              'mmcv/image/io.py')
    misc = load_defs(git_show(MMCV, '1.x:mmcv/utils/misc.py'), ['is_seq_of', 'is_tuple_of'],
                     {'abc': __import__('collections').abc}, 'mmcv/utils/misc.py')
    return types.SimpleNamespace(
        imresize=ns['imresize'], rescale_size=ns['rescale_size'], imflip_=ns['imflip_'],
        imnormalize_=ns['imnormalize_'], iminvert=ns['iminvert'],
        imfrombytes=ns['imfrombytes'], is_tuple_of=misc['is_tuple_of'],
        use_backend=lambda backend: None)


class DiskFileClient:
    def __init__(self, *args, **kwargs):
        pass

    def get(self, path):
        with open(path, 'rb') as f:
            return f.read()


def load_mmaction():
    """Returns a namespace with the 0.x pipeline classes the test pipelines use."""
    mmcv = make_mmcv()
    ns = {'np': np, 'mmcv': mmcv, 'cv2': cv2, 'warnings': warnings, 'random': random,
          'Sequence': Sequence, '_pair': _pair, 'cp': copy, 'osp': os.path,
          'FileClient': DiskFileClient, 'digit_version': lambda v: v}
    load_defs(git_show(MMACTION, '0.x:mmaction/datasets/pipelines/loading.py'),
              ['SampleFrames', 'DenseSampleFrames', 'RawFrameDecode'], ns, 'loading.py')
    load_defs(git_show(MMACTION, '0.x:mmaction/datasets/pipelines/augmentations.py'),
              ['_combine_quadruple', '_flip_quadruple', '_init_lazy_if_proper', 'RandomCrop',
               'Resize', 'Flip', 'Normalize', 'CenterCrop', 'ThreeCrop', 'TenCrop', 'Fuse'],
              ns, 'augmentations.py')
    load_defs(git_show(MMACTION, '0.x:mmaction/datasets/pipelines/formatting.py'),
              ['FormatShape'], ns, 'formatting.py')
    return types.SimpleNamespace(**{k: v for k, v in ns.items() if not k.startswith('__')})


def build(mm, step):
    """Instantiate one pipeline step dict ({'type': ..., **kwargs}) with the real class."""
    step = dict(step)
    cls = getattr(mm, step.pop('type'))
    return cls(**step)
