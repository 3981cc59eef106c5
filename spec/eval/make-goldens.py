# Dev tool, not needed by the tests: regenerates spec/eval/fixtures/mmaction2-metrics.json and
# mmaction2-evaluate.json from MMAction2 0.x's own accuracy.py and base.py, mmcv 1.x's DictAction,
# numpy, pickle and PyYAML (run with /usr/bin/python3, numpy 1.24):
#   /usr/bin/python3 spec/eval/make-goldens.py
# Score matrices are not stored: both sides draw them from mulberry32 (spec/helpers/random.ts),
# so the fixture holds only seeds, shapes and the expected results.
import importlib.util, json, math, os, subprocess, sys, tempfile
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
src = subprocess.run(["git", "-C", "/work/.mirror/open-mmlab+mmaction2/repo", "show",
                      "0.x:mmaction/core/evaluation/accuracy.py"], check=True, capture_output=True).stdout
with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as f:
    f.write(src)
spec = importlib.util.spec_from_file_location("mmaction_accuracy", f.name)
acc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acc)


def mulberry32(seed):
    a = seed & 0xFFFFFFFF
    imul = lambda x, y: (x * y) & 0xFFFFFFFF
    def r():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return r


def row_values(r, n, levels, nan_rate):
    out = []
    for _ in range(n):
        level = math.floor(r() * levels)
        value = np.float32(level / levels)
        if nan_rate > 0 and r() < nan_rate:
            value = np.float32("nan")
        out.append(value)
    return np.array(out, dtype=np.float32)


def matrix(seed, n, classes, levels):
    r = mulberry32(seed)
    return [row_values(r, classes, levels, 0) for _ in range(n)]


def labels_of(seed, scores, label_range, near_top):
    # with probability near_top the label is one of the classes tied within the top 6 scores, so
    # that which tied class lands in the top k decides the hit (the point of these goldens)
    r = mulberry32(seed)
    labels = []
    for row in scores:
        if r() < near_top:
            kth = np.sort(row)[-min(6, len(row))]
            candidates = np.nonzero(row >= kth)[0]
            labels.append(int(candidates[math.floor(r() * len(candidates))]))
        else:
            labels.append(math.floor(r() * label_range))
    return labels


def stable_topk_hits(scores, labels, k):
    # what a stable sort (ties: lower index first among equals) would give instead
    hits = 0
    for row, label in zip(scores, labels):
        order = np.argsort(row, kind="stable")[::-1][:k]
        hits += label in order
    return hits / len(labels)


r = mulberry32(42)
rng_check = [r() for _ in range(4)]

argsort_cases = []
for i, (n, levels, nan_rate) in enumerate([
        (1, 3, 0), (2, 1, 0), (5, 2, 0), (16, 2, 0), (17, 1, 0), (17, 2, 0), (18, 3, 0), (31, 2, 0),
        (33, 4, 0), (64, 3, 0), (100, 5, 0), (100, 1000, 0), (400, 2, 0), (400, 7, 0), (400, 1 << 20, 0),
        (1000, 3, 0), (60, 4, 0.2), (400, 6, 0.05)]):
    seed = 1000 + i
    values = row_values(mulberry32(seed), n, levels, nan_rate)
    argsort_cases.append(dict(seed=seed, n=n, levels=levels, nanRate=nan_rate,
                              argsort=np.argsort(values).tolist(),
                              heapsort=np.argsort(values, kind="heapsort").tolist(),
                              argmax=int(np.argmax(values))))

metric_cases = []
for i, (n, classes, levels, label_range, near_top) in enumerate([
        (7, 3, 2, 3, 0.5), (20, 10, 3, 10, 0.7), (50, 17, 4, 17, 0.8), (50, 17, 4, 5, 0.3),
        (200, 400, 5, 400, 0.9), (200, 400, 3, 20, 0.5), (600, 400, 1 << 20, 400, 0.5),
        (300, 400, 1000, 400, 0.8), (40, 6, 2, 6, 0.6), (12, 1, 3, 1, 0), (9, 3, 2, 7, 0)]):
    seed, label_seed = 2000 + i, 3000 + i
    scores = matrix(seed, n, classes, levels)
    labels = labels_of(label_seed, scores, label_range, near_top)
    top = acc.top_k_accuracy(scores, labels, (1, 5))
    case = dict(seed=seed, n=n, classes=classes, levels=levels, labels=labels, top1=float(top[0]),
                top5=float(top[1]), meanClass=float(acc.mean_class_accuracy(scores, labels)))
    print(f"case {i}: top1 {case['top1']:.4f} (stable sort: {stable_topk_hits(scores, labels, 1):.4f}) "
          f"top5 {case['top5']:.4f} (stable: {stable_topk_hits(scores, labels, 5):.4f}) mean {case['meanClass']:.4f}",
          file=sys.stderr)
    metric_cases.append(case)

mean_cases = []
for i, n in enumerate([1, 3, 7, 8, 9, 16, 17, 100, 128, 129, 255, 400, 1001]):
    r = mulberry32(4000 + i)
    values = [math.floor(r() * 50) / (1 + math.floor(r() * 49)) for _ in range(n)]
    mean_cases.append(dict(seed=4000 + i, n=n, mean=float(np.mean(values))))

format_values = [0.0, 1.0, 0.5, 1 / 32, 3 / 32, 5 / 32, 1 / 3, 2 / 3, 0.00005, 0.00015, 0.99995, 0.12345,
                 0.72305, 2.5e-5, 7.5e-5, 1 / 64, 1 / 160, 3 / 160, -0.00001, -0.0, 123.456789, 1e-300,
                 float("nan"), float("inf")] + [k / 32 for k in range(33)] + [k / 1600 for k in range(0, 1600, 37)]
formats = [dict(value=v if math.isfinite(v) else str(v), text=f"{v:.4f}", repr=repr(v)) for v in format_values]

# json.dump's text for float32 scores across magnitudes (repr of the float32 value as a double)
r = mulberry32(5000)
repr_values = [0.1, 1.0, 1e-4, 1e-5, 1e15, 1e16, 123456789012345678.0, 3e20, 2.5e-5, -0.0, 5e-324]
repr_values += [float(np.float32((r() - 0.5) * 10 ** math.floor(r() * 30 - 12))) for _ in range(300)]
reprs = [dict(value=v, repr=repr(v), json=json.dumps(v)) for v in repr_values]
assert all(c["repr"] == c["json"] for c in reprs)

out = dict(numpy=np.__version__, rngCheck=rng_check, argsort=argsort_cases, metrics=metric_cases,
           means=mean_cases, formats=formats, reprs=reprs)
path = os.path.join(here, "fixtures", "mmaction2-metrics.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes")

# --- spec/eval/fixtures/mmaction2-evaluate.json: BaseDataset.evaluate itself (the method's own
# source, read from the 0.x branch and run on a stand-in dataset holding only labels), the
# multi-label metrics, and the bytes mmcv.dump writes for --out (.json/.pkl/.yaml), as sha256.
import ast, contextlib, hashlib, io, pickle, yaml
from collections import OrderedDict

base_src = subprocess.run(["git", "-C", "/work/.mirror/open-mmlab+mmaction2/repo", "show",
                           "0.x:mmaction/datasets/base.py"], check=True, capture_output=True,
                          text=True).stdout
base_lines = base_src.splitlines()
methods = {}
for node in ast.walk(ast.parse(base_src)):
    if isinstance(node, ast.ClassDef) and node.name == "BaseDataset":
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name in ("evaluate", "label2array"):
                first = min([d.lineno for d in item.decorator_list] + [item.lineno])
                methods[item.name] = "\n".join(base_lines[first - 1:item.end_lineno])
stand_in = ("class LabelsDataset:\n"
            "    def __init__(self, labels, num_classes):\n"
            "        self.video_infos = [dict(label=label) for label in labels]\n"
            "        self.num_classes = num_classes\n"
            "    def __len__(self):\n"
            "        return len(self.video_infos)\n"
            + methods["label2array"] + "\n" + methods["evaluate"] + "\n")
namespace = dict(copy=__import__("copy"), warnings=__import__("warnings"), OrderedDict=OrderedDict, np=np,
                 print_log=lambda msg, logger=None: print(msg),
                 top_k_accuracy=acc.top_k_accuracy, mean_class_accuracy=acc.mean_class_accuracy,
                 mean_average_precision=acc.mean_average_precision,
                 mmit_mean_average_precision=acc.mmit_mean_average_precision)
exec(stand_in, namespace)
LabelsDataset = namespace["LabelsDataset"]


def number(x):
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def nan_matrix(seed, n, classes, levels, nan_rate):
    r = mulberry32(seed)
    return [row_values(r, classes, levels, nan_rate) for _ in range(n)]


def multi_labels(seed, n, label_range, least, most):
    # least..most draws per video (repeats collapse), so a video may have no label at all
    r = mulberry32(seed)
    return [sorted({math.floor(r() * label_range) for _ in range(least + math.floor(r() * (most - least + 1)))})
            for _ in range(n)]


def single_labels(seed, n, label_range):
    r = mulberry32(seed)
    return [math.floor(r() * label_range) for _ in range(n)]


evaluate_cases = []
# (scores: n classes levels nanRate, labels: single range | multi range least most, numClasses,
#  evaluate() kwargs,
#  the same request in i3d-edge's terms: metrics list, topk)
for i, (shape, labels_spec, num_classes, kwargs, ts) in enumerate([
        ((20, 10, 3, 0), ("single", 10), None, dict(metrics=["top_k_accuracy", "mean_class_accuracy"]),
         dict(metrics=["top_k_accuracy", "mean_class_accuracy"])),
        ((20, 10, 3, 0), ("single", 10), None, dict(metrics=["mean_class_accuracy", "top_k_accuracy"]),
         dict(metrics=["mean_class_accuracy", "top_k_accuracy"])),
        ((30, 17, 4, 0), ("single", 17), None,
         dict(metrics="top_k_accuracy", metric_options=dict(top_k_accuracy=dict(topk=(5, 1, 1)))),
         dict(metrics=["top_k_accuracy"], topk=[5, 1, 1])),
        ((30, 17, 4, 0), ("single", 17), None, dict(metrics=["top_k_accuracy"], topk=3),
         dict(metrics=["top_k_accuracy"], topk=[3])),
        ((30, 17, 4, 0), ("single", 17), None,
         dict(metrics=["top_k_accuracy", "mean_class_accuracy", "top_k_accuracy"],
              metric_options=dict(top_k_accuracy=dict(topk=(2, 3)))),
         dict(metrics=["top_k_accuracy", "mean_class_accuracy", "top_k_accuracy"], topk=[2, 3])),
        ((12, 6, 3, 0), ("single", 6), None, dict(metrics=["top_k_accuracy"], topk=()),
         dict(metrics=["top_k_accuracy"], topk=[])),
        ((40, 12, 3, 0), ("single", 12), 12,
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision", "top_k_accuracy"]),
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision", "top_k_accuracy"])),
        ((50, 20, 4, 0), ("multi", 20, 1, 3), 20,
         dict(metrics=["mmit_mean_average_precision", "mean_average_precision"]),
         dict(metrics=["mmit_mean_average_precision", "mean_average_precision"])),
        ((50, 20, 1 << 20, 0), ("multi", 8, 0, 4), 20, dict(metrics=["mean_average_precision"]),
         dict(metrics=["mean_average_precision"])),
        ((60, 9, 2, 0), ("multi", 9, 1, 5), 9, dict(metrics=["mean_average_precision", "mmit_mean_average_precision"]),
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision"])),
        ((40, 10, 3, 0.1), ("multi", 10, 1, 3), 10, dict(metrics=["mean_average_precision", "mmit_mean_average_precision"]),
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision"])),
        ((5, 4, 3, 0), ("multi", 4, 0, 0), 4, dict(metrics=["mean_average_precision", "mmit_mean_average_precision"]),
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision"])),
        ((200, 400, 5, 0), ("multi", 400, 0, 2), 400, dict(metrics=["mean_average_precision", "mmit_mean_average_precision"]),
         dict(metrics=["mean_average_precision", "mmit_mean_average_precision"])),
]):
    n, classes, levels, nan_rate = shape
    seed, label_seed = 6000 + i, 7000 + i
    scores = nan_matrix(seed, n, classes, levels, nan_rate)
    kind, label_range, *counts = labels_spec
    labels = single_labels(label_seed, n, label_range) if kind == "single" else multi_labels(label_seed, n, label_range, *counts)
    dataset = LabelsDataset(labels, num_classes)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        np.seterr(all="ignore")
        results = dataset.evaluate(scores, **kwargs)
    # tools/test.py after evaluate()
    summary = [f"{name}: {val:.04f}" for name, val in results.items()]
    evaluate_cases.append(dict(seed=seed, n=n, classes=classes, levels=levels, nanRate=nan_rate, labels=labels,
                               numClasses=num_classes, request=ts, results=[[k, number(v)] for k, v in results.items()],
                               log=printed.getvalue().split("\n")[:-1], summary=summary))
    print(f"evaluate case {i}: {summary}", file=sys.stderr)


def set_default(obj):  # mmcv.fileio.handlers.json_handler.set_default, for ndarray rows
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj))


dump_cases = []
for i, (count, width, none_every) in enumerate([
        (0, 3, 0), (1, 3, 0), (1, 3, 1), (3, 5, 2), (40, 5, 7), (2, 400, 0), (1001, 1, 0), (1003, 2, 5),
        (1, 70000, 0)]):
    seed = 8000 + i
    r = mulberry32(seed)
    rows = []
    for j in range(count):
        row = np.array([(r() - 0.5) * 10 ** math.floor(r() * 12 - 6) for _ in range(width)], dtype=np.float32)
        rows.append(None if none_every and j % none_every == none_every - 1 else row)
    try:
        from yaml import CDumper as Dumper
    except ImportError:
        from yaml import Dumper
    files = dict(json=json.dumps(rows, default=set_default).encode(),  # mmcv's JsonHandler
                 pkl=pickle.dumps(rows, protocol=2),  # PickleHandler's default protocol
                 yaml=yaml.dump(rows, Dumper=Dumper).encode())  # YamlHandler
    dump_cases.append(dict(seed=seed, count=count, width=width, noneEvery=none_every,
                           **{k: dict(bytes=len(v), sha256=hashlib.sha256(v).hexdigest()) for k, v in files.items()}))

# mmcv 1.x's DictAction (the --eval-options parser), its own source run on sample values; tuples
# are written {"tuple": [...]} and floats {"float": repr} to keep them apart from lists and ints
mmcv_src = subprocess.run(["git", "-C", "/work/.mirror/open-mmlab+mmcv/repo", "show", "1.x:mmcv/utils/config.py"],
                          check=True, capture_output=True, text=True).stdout
for node in ast.parse(mmcv_src).body:
    if isinstance(node, ast.ClassDef) and node.name == "DictAction":
        action_ns = dict(Action=object)
        exec("\n".join(mmcv_src.splitlines()[node.lineno - 1:node.end_lineno]), action_ns)
        DictAction = action_ns["DictAction"]


def tagged(v):
    if isinstance(v, tuple):
        return dict(tuple=[tagged(x) for x in v])
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, float):
        return dict(float=repr(v))
    return v


dict_values = ["5", "(1,5)", "(5)", "(5,)", "1,5", "[1,5]", "()", "[]", "'(1, 3)'", '"top_k_accuracy"', "1_0", "+3",
               "-2", "1.5", ".5", "5.", "1e3", "inf", "-Infinity", "nan", "True", "FALSE", "None", "none",
               "top_k_accuracy,mean_class_accuracy", "(top_k_accuracy)", "[(1,2),[a,b],c]", "((1,5),3)", "a b",
               "0x10", "1,", ",1"]
dict_cases = [dict(text=t, value=tagged(DictAction._parse_iterable(t))) for t in dict_values]

out = dict(numpy=np.__version__, yaml=yaml.__version__, python=sys.version.split()[0], evaluate=evaluate_cases,
           dumps=dump_cases, dictAction=dict_cases)
path = os.path.join(here, "fixtures", "mmaction2-evaluate.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes")
