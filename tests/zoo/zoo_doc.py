#!/usr/bin/env python3
"""Keeps the model tables of docs/zoo.md in step with tests/zoo/params/*.tsv.

usage: zoo_doc.py --check   exit 1 (with a message) when docs/zoo.md's tables differ
       zoo_doc.py --write   rewrite the tables (everything after the "## The models"
                            section's introduction) from the .tsv files
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "zoo.md")
sys.path.insert(0, HERE)
from forward_check import CASES  # noqa: E402

FAMILIES = [
    ("resnet", "ResNet, ResNet-D, ResNeXt, SE-ResNe(X)t, Wide ResNet", "resnet.bcl"),
    ("mbnet", "MobileNet V1 / V2 / V3", "mbnet.bcl"),
    ("effnet", "EfficientNet, EfficientNet-Lite, EfficientNetV2", "effnet.bcl"),
    ("regnet", "RegNetX / RegNetY", "regnet.bcl"),
    ("vgg", "VGG", "vgg.bcl"),
    ("repvgg", "RepVGG (training and deploy forms)", "repvgg.bcl"),
    ("snet", "ShuffleNet V2 / V2+", "snet.bcl"),
    ("hrnet", "HRNet", "hrnet.bcl"),
    ("vit", "ViT / DeiT", "vit.bcl"),
    ("resmlp", "ResMLP", "resmlp.bcl"),
    ("swin", "Swin Transformer", "swin.bcl"),
]
MARK = "### "  # the tables start at the first family heading of the models section


def tables():
    checked = {(n, " ".join("-o " + x for x in o) or "-") for n, _, _, o in CASES}
    out = []
    for fam, title, src in FAMILIES:
        out.append(f"### {title} (`stdlib/basecls/models/{src}`)\n")
        out.append("| model | params (bclc) | published | source | status |")
        out.append("| --- | ---: | ---: | --- | --- |")
        with open(os.path.join(HERE, "params", fam + ".tsv")) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                c = line.rstrip("\n").split("\t") + [""] * 6
                name = c[0] + ("" if c[1] == "-" else f" `{c[1]}`")
                p = int(c[2])
                status = "builds, " + ("matches published" if c[3] else "count pinned")
                if (c[0], c[1]) in checked:
                    status += ", output checked vs PyTorch"
                pub = f"{c[3]}M" if c[3] else "–"
                out.append(f"| {name} | {p:,} ({p / 1e6:.2f}M) | {pub} | {c[5] or '–'} | {status} |")
        out.append("")
    return "\n".join(out)


def split_doc(text):
    head_end = text.index("## The models")
    start = text.index(MARK, head_end)
    return text[:start], text[start:]


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("--check", "--write"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(DOC) as f:
        text = f.read()
    head, body = split_doc(text)
    want = tables()
    if sys.argv[1] == "--write":
        with open(DOC, "w") as f:
            f.write(head + want)
        return 0
    if body.rstrip() != want.rstrip():
        print("docs/zoo.md: the model tables differ from tests/zoo/params/*.tsv "
              "(run tests/zoo/zoo_doc.py --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
