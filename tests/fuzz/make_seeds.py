"""Writes the seed corpora of the fuzz targets (tests/fuzz/seeds/NAME/), small files of
every format; committed, so this runs only when the seeds are to change.

usage: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def out(name, file, data):
    d = os.path.join(HERE, "seeds", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, file), "wb") as f:
        f.write(data)


def image_seeds():
    """Every kind of image file of tests/image/image_fixtures.py, from a small synthetic
    photo, those of at most 4 KiB (BMP, PNM, WebP, EXIF, CMYK, truncated files)."""
    import tempfile
    sys.path.insert(0, os.path.join(ROOT, "tests", "image"))
    import image_fixtures
    yy, xx = np.mgrid[0:40, 0:48]
    photo = np.dstack([xx * 5, yy * 6, (xx + yy) * 3]).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        for _, path in image_fixtures.make(tmp, photo):
            data = open(path, "rb").read()
            if 0 < len(data) <= 4096:
                out("image", "fx_" + os.path.basename(path), data)
        # a YCCK JPEG comes from image_probe (libjpeg): $IMAGE_PROBE or build/image_probe
        probe = os.environ.get("IMAGE_PROBE", os.path.join(ROOT, "build", "image_probe"))
        if os.path.exists(probe):
            subprocess.run([probe, "encode-ycck", os.path.join(tmp, "ycck.jpg")], check=True)
            out("image", "fx_ycck.jpg", open(os.path.join(tmp, "ycck.jpg"), "rb").read())


def weight_seeds_whole_module():
    """torch.save of a whole module (zip and legacy: the legacy one pickles its class as a
    persistent id) and a protocol 2 set, for io/checkpoint.c's module flattening."""
    import torch
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    for zip_format, name in ((True, "module_zip.pth"), (False, "module_legacy.pth")):
        f = io.BytesIO()
        torch.save(m, f, _use_new_zipfile_serialization=zip_format)
        out("weights", name, f.getvalue())


def safetensors(tensors, meta=None):
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for k, a in tensors.items():
        b = a.tobytes()
        header[k] = {"dtype": {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64"}[a.dtype.type],
                     "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def npy(a):
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def main():
    shutil.rmtree(os.path.join(HERE, "seeds"), ignore_errors=True)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = np.arange(3, dtype=np.float32)

    out("safetensors", "two.safetensors", safetensors({"fc.weight": w, "fc.bias": b}, {"format": "pt"}))
    out("safetensors", "f16.safetensors", safetensors({"x": w.astype(np.float16)}))
    out("safetensors", "scalar.safetensors", safetensors({"s": np.array(1.5, dtype=np.float32)}))

    out("npy", "f32.npy", npy(w))
    out("npy", "f64_fortran.npy", npy(np.asfortranarray(w.astype(np.float64))))
    out("npy", "i64.npy", npy(np.arange(6, dtype=np.int64).reshape(2, 3)))
    out("npy", "u8_4d.npy", npy(np.zeros((1, 1, 2, 2), dtype=np.uint8)))

    for comp, name in ((False, "plain.npz"), (True, "deflated.npz")):
        f = io.BytesIO()
        (np.savez_compressed if comp else np.savez)(f, **{"fc.weight": w, "fc.bias": b})
        out("npz", name, f.getvalue())

    out("json", "obj.json", json.dumps({"a": [1, 2.5e-3, -7, True, None], "b": {"c": "d\u00e9\\n"}}).encode())
    out("json", "nested.json", b"[[[[{\"k\": [1, {\"x\": \"\\ud83d\\ude00\"}]}]]]]")
    out("json", "numbers.json", b"[0, -0.0, 1e308, 123456789012345678901234567890, 1.5E-10]")

    import torch  # the weights dispatcher: torch zip, legacy pickle, plain pickle, safetensors, npz
    sd = {"fc.weight": torch.from_numpy(w), "fc.bias": torch.from_numpy(b)}
    f = io.BytesIO()
    torch.save(sd, f)
    out("weights", "zip.pth", f.getvalue())
    f = io.BytesIO()
    torch.save({"state_dict": sd, "epoch": 3}, f, _use_new_zipfile_serialization=False)
    out("weights", "legacy.pth", f.getvalue())
    out("weights", "numpy.pkl", pickle.dumps({"fc.weight": w, "fc.bias": b}, protocol=2))
    out("weights", "numpy4.pkl", pickle.dumps({"model": {"fc.weight": w}}, protocol=4))
    out("weights", "two.safetensors", safetensors({"fc.weight": w, "fc.bias": b}))
    weight_seeds_whole_module()

    import cv2
    img = (rng.random((5, 7, 3)) * 255).astype(np.uint8)
    for ext in (".png", ".jpg"):
        ok, enc = cv2.imencode(ext, img)
        out("image", "rgb" + ext, enc.tobytes())
    ok, enc = cv2.imencode(".png", img[:, :, 0])
    out("image", "gray.png", enc.tobytes())
    ok, enc = cv2.imencode(".png", (img.astype(np.uint16) * 200))
    out("image", "rgb16.png", enc.tobytes())
    image_seeds()

    # .bcl: the digits example, a few lit inputs, and small generated networks
    srcs = [os.path.join(ROOT, "examples", "digits", "digits.bcl")]
    for sub in ("elab", "parse"):
        d = os.path.join(ROOT, "tests", "lit", sub)
        srcs += sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".bcl"))[:12]
    for p in srcs:
        with open(p, "rb") as f:
            out("bcl", os.path.basename(p), f.read())
    tmp = os.path.join(HERE, "seeds", "_gen")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "conformance", "fuzz_models.py"), "--out", tmp,
                    "--count", "12", "--seed", "16"], check=True)
    for f in sorted(os.listdir(tmp)):
        with open(os.path.join(tmp, f), "rb") as fh:
            data = fh.read()
        out("model_run", f, data)
        out("bcl", "gen_" + f, data)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
