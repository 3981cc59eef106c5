# Dev tool, not needed by the tests: regenerates spec/eval/fixtures/mmaction2-metrics.json from
# MMAction2 0.x's own accuracy.py and numpy (run with /usr/bin/python3, numpy 1.24):
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
