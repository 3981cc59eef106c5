"""Deterministic writer for PyTorch's legacy (pre-1.6, non-zip) checkpoint format.

`torch.save(obj, f, _use_new_zipfile_serialization=False)` names every storage after its live
memory address (`str(storage._cdata)`) and writes the storages sorted by that string, so two runs
never produce the same bytes. This writer emits the identical byte layout -- pickled magic
number, protocol version, sys_info, the object pickled with ('storage', type, key, location,
numel, None) persistent ids, the sorted key list, then each storage as int64 element count +
raw little-endian data (written by torch's own `_write_file`) -- but takes the keys from a
seeded sequence of address-like numbers, so the file is reproducible and its storages are still
in a different order from their first use in the pickle, as in real legacy files.

`save_legacy(obj, f, key_fn=lambda s: str(s._cdata))` reproduces torch's bytes exactly; that is
how this writer is checked (see check_against_torch below).
"""

from __future__ import annotations

import io
import pickle
import random
import sys
from typing import Any, Callable

import torch
import torch.serialization as ts

ADDRESS_BASE = 94_000_000_000_000  # a typical 14-digit heap address of a CPython process


def seeded_keys(seed: int) -> Callable[[torch.UntypedStorage], str]:
    """Address-like keys, unique per storage, in an order unrelated to first use."""
    rng = random.Random(seed)
    used: dict[int, str] = {}
    taken: set[int] = set()

    def key(storage: torch.UntypedStorage) -> str:
        ident = storage._cdata
        if ident not in used:
            while True:
                addr = ADDRESS_BASE + 64 * rng.randrange(1, 10 ** 10)
                if addr not in taken:
                    break
            taken.add(addr)
            used[ident] = str(addr)
        return used[ident]

    return key


def save_legacy(obj: Any, f: io.IOBase, key_fn: Callable[[torch.UntypedStorage], str]) -> None:
    protocol = ts.DEFAULT_PROTOCOL
    storages: dict[str, tuple[torch.UntypedStorage, torch.dtype]] = {}

    def persistent_id(o: Any):
        if isinstance(o, torch.storage.TypedStorage):
            storage = o._storage
            key = key_fn(storage)
            storages.setdefault(key, (storage, o.dtype))
            return ("storage", getattr(torch, o.pickle_storage_type()), key,
                    ts.location_tag(storage), o.size(), None)
        if isinstance(o, torch.UntypedStorage) or (isinstance(o, type) and issubclass(o, torch.nn.Module)):
            raise TypeError("save_legacy only writes tensors inside plain containers")
        return None

    sys_info = dict(protocol_version=ts.PROTOCOL_VERSION, little_endian=sys.byteorder == "little",
                    type_sizes=dict(short=ts.SHORT_SIZE, int=ts.INT_SIZE, long=ts.LONG_SIZE))
    pickle.dump(ts.MAGIC_NUMBER, f, protocol=protocol)
    pickle.dump(ts.PROTOCOL_VERSION, f, protocol=protocol)
    pickle.dump(sys_info, f, protocol=protocol)
    pickler = pickle.Pickler(f, protocol=protocol)
    pickler.persistent_id = persistent_id
    pickler.dump(obj)
    keys = sorted(storages.keys())
    pickle.dump(keys, f, protocol=protocol)
    f.flush()
    for key in keys:
        storage, dtype = storages[key]
        storage._write_file(f, False, True, torch._utils._element_size(dtype))


def check_against_torch(obj: Any) -> None:
    """Byte-compare against torch.save(..., _use_new_zipfile_serialization=False) given torch's keys."""
    ours, theirs = io.BytesIO(), io.BytesIO()
    torch.save(obj, theirs, _use_new_zipfile_serialization=False)
    save_legacy(obj, ours, key_fn=lambda s: str(s._cdata))
    if ours.getvalue() != theirs.getvalue():
        raise AssertionError("legacy writer differs from torch.save's legacy bytes")
