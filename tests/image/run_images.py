#!/usr/bin/python3
"""The image pipeline against OpenCV on real photos (python3-skimage's data).

    /usr/bin/python3 tests/image/run_images.py --probe build/image_probe --workdir DIR

For each photo: decoding equals cv2.imread(path, IMREAD_COLOR) exactly; cv2.resize with
each interpolation, to smaller and larger sizes, is matched within 1 at every pixel;
bilinear equals it exactly; BaseCls's test transform (MegEngine's short-side resize,
centre crop with Python's rounding) gives the same 8-bit crop within 1, and where the crops agree the normalised
float32 tensor (BGR, RGB, GRAY) within 1e-5. Corrupt files are errors.

Then every kind of file a photo folder holds (tests/image/image_fixtures.py: JPEG
progressive/gray/CMYK/EXIF orientations, PNG gray+alpha/palette/16-bit/eXIf, BMP, PNM,
WebP, extensions that lie, truncated files) decodes exactly as cv2.imread decodes it,
and where cv2.imread gives nothing, the probe reports an error naming the file.
"""
import argparse
import os
import subprocess
import sys

import cv2
import numpy as np
import skimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import image_fixtures  # noqa: E402

DATA = os.path.join(os.path.dirname(skimage.__file__), "data")
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "coins.png",
          "hubble_deep_field.jpg", "retina.jpg", "palette_color.png", "logo.png", "page.png"]
INTERP = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
          "lanczos": cv2.INTER_LANCZOS4}
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def probe(args, *cmd):
    out = os.path.join(args.workdir, "probe.npy")
    r = subprocess.run([args.probe, *cmd[:-1], out] if cmd[-1] == "OUT" else [args.probe, *cmd],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    return np.load(out), r.stderr


def basecls_crop(img, img_size, crop_pct, interp):
    """MegEngine's T.Resize(S) then T.CenterCrop(img_size), as BaseCls's test transform."""
    s = int(img_size / crop_pct / 2 + 0.5) * 2
    h, w = img.shape[:2]
    if not ((h <= w and h == s) or (w <= h and w == s)):
        if h < w:
            h, w = s, int(s * w / h)
        else:
            h, w = int(s * h / w), s
        img = cv2.resize(img, (w, h), interpolation=INTERP[interp])
    y0, x0 = int(round((h - img_size) / 2)), int(round((w - img_size) / 2))
    return img[y0:y0 + img_size, x0:x0 + img_size]


def check_formats(args):
    """Each generated file: the probe's decode equals cv2.imread's, or both refuse it."""
    photo = cv2.imread(os.path.join(DATA, "chelsea.png"), cv2.IMREAD_COLOR)
    fixtures = image_fixtures.make(os.path.join(args.workdir, "formats"), photo)
    ycck = os.path.join(args.workdir, "formats", "ycck.jpg")
    if subprocess.run([args.probe, "encode-ycck", ycck]).returncode == 0:
        fixtures.append(("JPEG YCCK (libjpeg-written)", ycck))
    else:
        check(False, "image_probe encode-ycck writes a YCCK JPEG")
    for label, path in fixtures:
        ref = cv2.imread(path, cv2.IMREAD_COLOR)
        got, err = probe(args, "decode", path, "OUT")
        name = os.path.basename(path)
        if ref is None or "we refuse it" in label:   # a known difference, named in docs/eval.md
            ok = got is None and f"{name}: error:" in err and "Sanitizer" not in err and "runtime error" not in err
            check(ok, f"{label} ({name}): refused: {err.strip()[:150]}")
        elif got is None:
            check(False, f"{label} ({name}): cv2.imread reads {ref.shape}, we fail: {err.strip()[:200]}")
        else:
            diff = int(np.abs(got.astype(np.int32) - ref.astype(np.int32)).max()) if got.shape == ref.shape else None
            check(diff == 0, f"{label} ({name}): equals cv2.imread {ref.shape}"
                  + ("" if diff == 0 else f": shape {got.shape}, max diff {diff}"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    for name in PHOTOS:
        path = os.path.join(DATA, name)
        if not os.path.exists(path):
            continue
        ref = cv2.imread(path, cv2.IMREAD_COLOR)
        got, err = probe(args, "decode", path, "OUT")
        check(got is not None and got.shape == ref.shape and np.array_equal(got, ref),
              f"{name}: decoded as cv2.imread {ref.shape}" + (f": {err.strip()}" if got is None else ""))
        if got is None:
            continue
        h, w = ref.shape[:2]
        for interp, flag in INTERP.items():
            for dh, dw in ((h // 2, w // 2), (h * 3 // 7, w * 2 // 5), (h * 5 // 3, w * 4 // 3), (256, 341)):
                cv = cv2.resize(ref, (dw, dh), interpolation=flag)
                got, err = probe(args, "resize", path, str(dh), str(dw), interp, "OUT")
                diff = np.abs(got.astype(np.int32) - cv.astype(np.int32)) if got is not None else None
                # bilinear (BaseCls's default) is bit-exact, the others within 1
                check(diff is not None and diff.max() <= (0 if interp == "bilinear" else 1),
                      f"{name}: resize {interp} to {dw}x{dh} {'equals' if interp == 'bilinear' else 'within 1 of'} cv2.resize"
                      + (f" (max {diff.max()}, {np.mean(diff > 0):.4f} of values differ)" if diff is not None else f": {err}"))
        for size, pct, interp in ((224, 0.875, "bilinear"), (224, 0.875, "bicubic"), (192, 0.9, "lanczos"),
                                  (160, 1.0, "nearest")):
            cv = basecls_crop(ref, size, pct, interp)
            got, err = probe(args, "crop", path, str(size), str(pct), interp, "OUT")
            diff = np.abs(got.astype(np.int32) - cv.astype(np.int32)).max() if got is not None else None
            check(diff is not None and diff <= 1, f"{name}: test transform {size}/{pct} {interp}: crop within 1 (max {diff})")
            for color in ("BGR", "RGB", "GRAY"):
                mean, std = ((103.53, 116.28, 123.675), (57.375, 57.12, 58.395))
                img = cv
                if color == "RGB":
                    img = cv2.cvtColor(cv, cv2.COLOR_BGR2RGB)
                    mean, std = mean[::-1], std[::-1]
                elif color == "GRAY":
                    img = cv2.cvtColor(cv, cv2.COLOR_BGR2GRAY)[..., np.newaxis]
                    mean, std = (120.0,), (58.0,)
                x = img.transpose(2, 0, 1).astype(np.float32)
                expect = (x - np.array(mean, np.float32).reshape(-1, 1, 1)) / np.array(std, np.float32).reshape(-1, 1, 1)
                t, err = probe(args, "transform", path, str(size), str(pct), interp, color,
                               ",".join(map(str, mean)), ",".join(map(str, std)), "OUT")
                if t is None or t.shape != expect.shape:
                    check(False, f"{name}: transform {color}: {err.strip()}")
                    continue
                # where the 8-bit crops agree, the tensors must agree to 1e-5
                same = np.ones(expect.shape[1:], bool)
                if got is not None:
                    same = (got == cv).all(axis=2)
                d = np.abs(t - expect)[:, same].max() if same.any() else 0.0
                check(d <= 1e-5, f"{name}: transform {size} {interp} {color}: max |diff| {d:.2e} where the crops agree"
                      f" ({same.mean() * 100:.2f}% of pixels)")
    # corrupt and non-image files are errors, not crashes
    bad = os.path.join(args.workdir, "bad.jpg")
    # a truncated JPEG decodes, grey past the end, as imread decodes it
    trunc = os.path.join(args.workdir, "truncated.jpg")
    with open(trunc, "wb") as f:
        f.write(open(os.path.join(DATA, "rocket.jpg"), "rb").read()[:3000])
    got, err = probe(args, "decode", trunc, "OUT")
    ref = cv2.imread(trunc, cv2.IMREAD_COLOR)
    check(got is not None and ref is not None and np.array_equal(got, ref), "truncated JPEG: decoded as cv2.imread")
    for label, data in (("JPEG cut inside its header", open(os.path.join(DATA, "rocket.jpg"), "rb").read()[:300]),
                        ("truncated PNG", open(os.path.join(DATA, "chelsea.png"), "rb").read()[:3000]),
                        ("a text file", b"hello, world\n"),
                        ("an empty file", b"")):
        with open(bad, "wb") as f:
            f.write(data)
        r = subprocess.run([args.probe, "decode", bad, os.path.join(args.workdir, "x.npy")], capture_output=True, text=True)
        ok = r.returncode == 1 and "bad.jpg: error:" in r.stderr and "Sanitizer" not in r.stderr
        check(ok, f"{label}: refused ({r.stderr.strip()[:120]})")
    check_formats(args)
    if failures:
        print(f"{len(failures)} image check(s) failed")
        return 1
    print("all image checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
