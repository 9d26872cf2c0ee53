#!/usr/bin/python3
"""Writes random small BaseCls-style networks as .bcl files, each with a
`# conformance:` line, for run_conformance.py --fuzz. Layers are drawn with
shapes tracked so every model is valid: convolutions (kernel, stride, padding,
dilation, groups, bias), BN, activations, max / average pooling (both modes),
adaptive pooling, residual adds, concatenation, channel shuffle, and a Linear
classifier or a 4-D output.

usage: fuzz_models.py --out DIR --count N [--seed S]
"""
import argparse
import os
import random

ACTS = ["M.ReLU()", "M.ReLU6()", "M.Sigmoid()", "M.SiLU()", "M.GELU()", "M.Hardswish()",
        "M.Hardsigmoid()", "M.LeakyReLU(0.1)", "M.Tanh()", 'activation("hswish")', 'activation("elu")']


def _conv_out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _divisors(n):
    return [g for g in range(1, n + 1) if n % g == 0]


def make_model(rng, idx):
    """((N, C, H, W) of the input, __init__ lines, forward lines)."""
    n = rng.choice([1, 2])
    c = rng.randint(1, 4)
    h, w = rng.randint(6, 20), rng.randint(6, 20)
    shape_in = (c, h, w)
    init, fwd = [], []
    k_attr = [0]

    def attr(expr):
        name = f"l{k_attr[0]}"
        k_attr[0] += 1
        init.append(f"        self.{name} = {expr}")
        return name

    shape = [c, h, w]
    for _ in range(rng.randint(3, 8)):
        c, h, w = shape
        kind = rng.choice(["conv", "conv", "conv", "bn", "act", "maxpool", "avgpool", "adaptive",
                           "residual", "concat", "shuffle"])
        if kind == "conv":
            kh, kw = rng.choice([1, 3, 3, 5]), rng.choice([1, 3, 3, 5, 2])
            sh, sw = rng.choice([1, 1, 2, 3]), rng.choice([1, 1, 2])
            dh = rng.choice([1, 1, 2]) if kh > 1 else 1
            dw = rng.choice([1, 1, 2]) if kw > 1 else 1
            ph, pw = rng.randint(0, (kh - 1) * dh // 2 + 1), rng.randint(0, (kw - 1) * dw // 2 + 1)
            g = rng.choice(_divisors(c))
            co = g * rng.randint(1, 4)
            oh, ow = _conv_out(h, kh, sh, ph, dh), _conv_out(w, kw, sw, pw, dw)
            if oh < 1 or ow < 1:
                continue
            bias = rng.choice([True, False])
            sq = kh == kw and sh == sw and ph == pw and dh == dw
            if sq and rng.random() < 0.5:
                args = f"{kh}, stride={sh}, padding={ph}, dilation={dh}"
            else:
                args = f"({kh}, {kw}), stride=({sh}, {sw}), padding=({ph}, {pw}), dilation=({dh}, {dw})"
            a = attr(f"M.Conv2d({c}, {co}, {args}, groups={g}, bias={bias})")
            fwd.append(f"        x = self.{a}(x)")
            shape = [co, oh, ow]
        elif kind == "bn":
            a = attr(f"M.BatchNorm2d({c})")
            fwd.append(f"        x = self.{a}(x)")
        elif kind == "act":
            a = attr(rng.choice(ACTS))
            fwd.append(f"        x = self.{a}(x)")
        elif kind in ("maxpool", "avgpool"):
            kh, kw = rng.choice([2, 3]), rng.choice([1, 2, 3])
            s = rng.choice([1, 2, None, (2, 1)])
            ph, pw = rng.randint(0, kh // 2), rng.randint(0, kw // 2)
            sh, sw = (kh, kw) if s is None else (s if isinstance(s, tuple) else (s, s))
            oh, ow = _conv_out(h, kh, sh, ph, 1), _conv_out(w, kw, sw, pw, 1)
            if oh < 1 or ow < 1:
                continue
            k = kh if kh == kw else (kh, kw)
            p = ph if ph == pw else (ph, pw)
            functional = rng.random() < 0.3
            if kind == "maxpool":
                if functional:
                    fwd.append(f"        x = F.max_pool2d(x, {k}, stride={s}, padding={p})")
                else:
                    a = attr(f"M.MaxPool2d({k}, stride={s}, padding={p})")
                    fwd.append(f"        x = self.{a}(x)")
            else:
                mode = rng.choice(["average_count_exclude_padding", "average"])
                if functional:
                    fwd.append(f'        x = F.avg_pool2d(x, {k}, stride={s}, padding={p}, mode="{mode}")')
                else:
                    a = attr(f'M.AvgPool2d({k}, stride={s}, padding={p}, mode="{mode}")')
                    fwd.append(f"        x = self.{a}(x)")
            shape = [c, oh, ow]
        elif kind == "adaptive":
            oh, ow = rng.randint(1, h), rng.randint(1, w)
            cls = rng.choice(["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
            a = attr(f"M.{cls}(({oh}, {ow}))")
            fwd.append(f"        x = self.{a}(x)")
            shape = [c, oh, ow]
        elif kind == "residual":
            co = rng.randint(1, 6)
            a = attr(f"M.Conv2d({c}, {co}, 3, padding=1)")
            b = attr(f"M.Conv2d({c}, {co}, 1, bias=False)")
            fwd.append(f"        x = F.relu(self.{a}(x)) + self.{b}(x) * 0.5")
            shape = [co, h, w]
        elif kind == "concat":
            co = rng.randint(1, 4)
            a = attr(f"M.Conv2d({c}, {co}, 1)")
            fwd.append(f"        x = F.concat([x, F.sigmoid(self.{a}(x))], axis=1)")
            shape = [c + co, h, w]
        elif kind == "shuffle" and c % 2 == 0 and c > 2:
            fwd.append(f"        x = x.reshape(x.shape[0], 2, {c // 2}, {h}, {w}).transpose(0, 2, 1, 3, 4)"
                       f".reshape(x.shape[0], {c}, {h}, {w})")
    c, h, w = shape
    if rng.random() < 0.6:
        classes = rng.randint(2, 7)
        a = attr(f"M.Linear({c * h * w}, {classes})")
        fwd.append(f"        x = self.{a}(F.flatten(x, 1))")
    if not init:
        a = attr(f"M.Conv2d({shape[0]}, 2, 1)")
        fwd.append(f"        x = self.{a}(x)")
    return (n, shape_in[0], shape_in[1], shape_in[2]), init, fwd


def write(out, count, seed):
    os.makedirs(out, exist_ok=True)
    paths = []
    for i in range(count):
        rng = random.Random(seed * 100003 + i)
        (n, c, h, w), init, fwd = make_model(rng, i)
        name = f"Fuzz{i}"
        text = "\n".join([
            f"# Random network {i} of seed {seed} (fuzz_models.py).",
            f"# conformance: --input-shape {n},{c},{h},{w}",
            "import megengine.functional as F",
            "import megengine.module as M",
            "from basecls.layers import activation",
            "from basecls.utils import registers",
            "",
            "",
            "@registers.models.register()",
            f"class {name}(M.Module):",
            "    def __init__(self, head=None):",
            "        super().__init__()",
            *init,
            "",
            "    def forward(self, x):",
            *fwd,
            "        return x",
            "",
            "",
            f'_cfg = dict(model=dict(name="{name}"))',
            "",
        ])
        p = os.path.join(out, f"fuzz{i:03d}.bcl")
        with open(p, "w") as f:
            f.write(text)
        paths.append(p)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for p in write(a.out, a.count, a.seed):
        print(p)


if __name__ == "__main__":
    main()
