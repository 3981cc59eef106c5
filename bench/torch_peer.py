"""PyTorch CPU peer for `i3d bench --vs-pytorch` and bench/wasm/layers.ts (dev tool; Debian's
/usr/bin/python3 with torch 1.13).

A line-based server so that the benchmark can interleave PyTorch and wasm timings (the machine
is shared: best-of-N of interleaved runs is the fair comparison). Each stdin line is a JSON
command, each reply one JSON line:
  {"cmd": "setup", "threads", "batch", "layers": [{cin, cout, t, h, w, kernel, stride, padding}],
   "model": {"size", "frames", "dict"?: MMAction2 model dict (default: the zoo's i3d_r50)} | null}
                                                             -> {"torch": version, "threads": n}
  {"cmd": "layer", "index": i}   -> seconds per call for three configurations of that conv with
                                    a batch of views: dense NCDHW, channels_last_3d, oneDNN
                                    tensors (torch.utils.mkldnn)
  {"cmd": "model"}               -> seconds for the whole i3d_r50 (spec/reference/i3d_reference.py)
                                    on the batch: views batched, and the backbone converted with
                                    torch.utils.mkldnn.to_mkldnn
Every configuration is warmed up once at setup. With "clock": "cpu" in the setup command,
timings are process CPU seconds (time.process_time) instead of wall seconds: with one thread
that is the work itself, insensitive to other processes sharing the cores.
"""

import json
import os
import sys
import time

import torch
import torch.utils.mkldnn as mkldnn_utils

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "reference"))
import i3d_reference as reference  # noqa: E402


clock = time.perf_counter


def timed(fn):
    t0 = clock()
    fn()
    return clock() - t0


def layer_runners(layer, batch):
    x = torch.randn(batch, layer["cin"], layer["t"], layer["h"], layer["w"])
    conv = torch.nn.Conv3d(layer["cin"], layer["cout"], layer["kernel"], layer["stride"], layer["padding"]).eval()
    xc = x.contiguous(memory_format=torch.channels_last_3d)
    cc = torch.nn.Conv3d(layer["cin"], layer["cout"], layer["kernel"], layer["stride"], layer["padding"]).eval()
    cc = cc.to(memory_format=torch.channels_last_3d)
    xm = x.to_mkldnn()
    cm = mkldnn_utils.to_mkldnn(conv)
    return {"dense": lambda: conv(x), "channels_last": lambda: cc(xc), "mkldnn": lambda: cm(xm)}


def model_runners(batch, size, frames, model_dict=None):
    cfg = model_dict if model_dict is not None else reference.zoo_model_cfg()
    model = reference.build_recognizer(cfg).eval()
    x = torch.randn(batch, 3, frames, size, size)
    backbone = mkldnn_utils.to_mkldnn(reference.build_recognizer(cfg).eval().backbone)
    return {
        "batched": lambda: model.cls_score(x),
        "mkldnn": lambda: model.cls_head(backbone(x.to_mkldnn()).to_dense()),
    }


def main():
    global clock
    layers, model = [], {}
    for line in sys.stdin:
        req = json.loads(line)
        with torch.no_grad():
            if req["cmd"] == "setup":
                torch.set_num_threads(req["threads"])
                clock = time.process_time if req.get("clock") == "cpu" else time.perf_counter
                layers = [layer_runners(layer, req["batch"]) for layer in req["layers"]]
                if req.get("model"):
                    m = req["model"]
                    model = model_runners(req["batch"], m["size"], m["frames"], m.get("dict"))
                for runners in layers + [model]:
                    for fn in runners.values():
                        fn()
                reply = {"torch": torch.__version__, "threads": torch.get_num_threads()}
            elif req["cmd"] == "ping":
                reply = {"torch": torch.__version__}
            elif req["cmd"] == "layer":
                reply = {name: timed(fn) for name, fn in layers[req["index"]].items()}
            elif req["cmd"] == "model":
                reply = {name: timed(fn) for name, fn in model.items()}
            else:
                reply = {"error": f"unknown command {req['cmd']}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
