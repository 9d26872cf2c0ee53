#!/usr/bin/env python3
"""Writes the digits example's 360 held-out images as a BaseCls ImageFolder.

    python3 tools/digits_imagefolder.py --out DIR

DIR/val/<digit>/<index>.png: one 8x8 8-bit grey PNG per held-out digit
(examples/digits/heldout.npy, labels from heldout_labels.txt), pixel = 15 x the
scikit-learn value (0..16), and DIR/digits_png.bcl, a BaseCls-style config for the
trained model whose test transform turns each PNG back into exactly the tensor
heldout.npy holds (GRAY, mean 0, std 240: 15 v / 240 = v / 16; test.img_size 8,
crop_pct 1.0, so no resize). Then

    bclc eval DIR/digits_png.bcl -I examples/digits --weights examples/digits/digits.safetensors --data DIR/val

reports the same 357/360 (Test Acc@1: 99.167) as tools/digits_accuracy.py. Needs only
the standard library.
"""

import argparse
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_accuracy import EX, read_npy_f32  # noqa: E402

CONFIG = '''# The trained digits model (examples/digits/digits.bcl, found with -I examples/digits)
# with the test transform of an ImageFolder of 8x8 grey PNGs whose pixels are
# 15 x scikit-learn's 0..16: no resize, no crop, grey, (x - 0) / 240 = value / 16.
from digits import DigitsHead

_cfg = dict(
    num_classes=10,
    model=dict(name="DigitsNet", in_channels=1, head=dict(name=DigitsHead)),
    preprocess=dict(img_color_space="GRAY", img_mean=[0.0], img_std=[240.0]),
    test=dict(img_size=8, crop_pct=1.0),
    augments=dict(resize=dict(interpolation="bilinear")),
)
'''


def png_gray(pixels, w, h):
    """A minimal 8-bit greyscale PNG (no filter, one IDAT)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\0" + bytes(pixels[y * w:(y + 1) * w]) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the folder to write (DIR/val, DIR/digits_png.bcl)")
    args = ap.parse_args()
    shape, data = read_npy_f32(os.path.join(EX, "heldout.npy"))
    with open(os.path.join(EX, "heldout_labels.txt")) as f:
        labels = [int(line) for line in f if line.strip()]
    n, c, h, w = shape
    assert c == 1 and n == len(labels), (shape, len(labels))
    for k in range(n):
        values = data[k * h * w:(k + 1) * h * w]
        pixels = []
        for v in values:
            q = v * 16
            if q != int(q) or not 0 <= q <= 16:
                sys.exit(f"error: held-out image {k} has a value {v} that is not a multiple of 1/16")
            pixels.append(int(q) * 15)
        folder = os.path.join(args.out, "val", str(labels[k]))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{k:03d}.png"), "wb") as f:
            f.write(png_gray(pixels, w, h))
    with open(os.path.join(args.out, "digits_png.bcl"), "w") as f:
        f.write(CONFIG)
    print(f"wrote {n} images in {len(set(labels))} class folders under {os.path.join(args.out, 'val')} "
          f"and {os.path.join(args.out, 'digits_png.bcl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
