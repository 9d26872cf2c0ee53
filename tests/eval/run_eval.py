#!/usr/bin/python3
"""bclc eval and bclc run --image end to end.

    /usr/bin/python3 tests/eval/run_eval.py --bclc build/bclc --workdir DIR [--mpirun mpirun]

- tools/digits_imagefolder.py writes the digits example's 360 held-out images as an
  ImageFolder of PNGs; `bclc eval` on it reports the 357/360 that
  tools/digits_accuracy.py reports (on heldout.npy), with any batch size, in shards
  merged with --merge, and (with --mpirun) under `mpirun -n 2`;
- --json holds the counts and per-class accuracy;
- an empty folder, a folder without classes, an undecodable image (and --skip-bad), a
  class-count mismatch are clear errors;
- `bclc run --image` on two of skimage's photos with a 1000-class zoo model: the
  tensor it saves (--save-input) equals BaseCls's test transform done with OpenCV,
  and the top-5 lines carry ImageNet class names.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples", "digits")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mpirun", metavar="MPIEXEC", help="only the check under MPIEXEC -n 2")
    args = ap.parse_args()
    wd = args.workdir
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    r = run([sys.executable, os.path.join(ROOT, "tools", "digits_imagefolder.py"), "--out", wd])
    assert r.returncode == 0, r.stderr
    cfg, data = os.path.join(wd, "digits_png.bcl"), os.path.join(wd, "val")
    base = [args.bclc, "eval", cfg, "-I", EX, "--weights", os.path.join(EX, "digits.safetensors"), "--data", data]

    # the reference: tools/digits_accuracy.py on heldout.npy
    r = run([sys.executable, os.path.join(ROOT, "tools", "digits_accuracy.py"), "--bclc", args.bclc])
    m = re.search(r"(\d+)/(\d+)", r.stdout)
    ref = (int(m.group(1)), int(m.group(2))) if m else None
    check(ref is not None, f"digits_accuracy.py reports a count ({r.stdout.strip()[:80]})")

    def result(r):
        m = re.search(r"images: (\d+), top-1 correct: (\d+), top-5 correct: (\d+)", r.stdout)
        return (int(m.group(2)), int(m.group(1))) if m else None

    if args.mpirun:
        single = run(base + ["--quiet"])
        cmd = [args.mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2"] + base + ["--json", os.path.join(wd, "mpi.json")]
        r = run(cmd, env=dict(os.environ, OMPI_MCA_plm="isolated", OMPI_MCA_btl_vader_single_copy_mechanism="none"))
        check(r.returncode == 0 and result(r) == result(single) == ref,
              f"mpirun -n 2: {result(r)} equals single-process {result(single)} ({r.stderr.strip()[-300:]})")
        check(r.stdout.count("Test Acc@1") == 1, "mpirun -n 2: only rank 0 prints")
        j = json.load(open(os.path.join(wd, "mpi.json"))) if os.path.exists(os.path.join(wd, "mpi.json")) else {}
        check(j.get("images") == 360 and j.get("shard") == "all", "mpirun -n 2: --json has every image")
        return finish()

    r = run(base + ["--json", os.path.join(wd, "all.json")])
    check(r.returncode == 0 and result(r) == ref, f"bclc eval on the digits ImageFolder: {result(r)} = digits_accuracy.py {ref}")
    check("Test Acc@1: 99.167, Acc@5: 100.000" in r.stdout, "BaseCls's result line: " + r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "no output")
    check(re.search(r"eval: 360/360 images, [\d.]+ images/s", r.stderr) is not None, "progress lines on a non-terminal")
    j = json.load(open(os.path.join(wd, "all.json")))
    check(j["images"] == 360 and j["top1"] == ref[0] and len(j["classes"]) == 10 and
          sum(c["images"] for c in j["classes"]) == 360 and sum(c["top1"] for c in j["classes"]) == ref[0] and
          [c["name"] for c in j["classes"]] == [str(i) for i in range(10)], "--json: counts and per-class accuracy")
    for batch in ("1", "7", "64", "400"):
        r = run(base + ["--batch", batch, "--quiet", "--workers", "3"])
        check(r.returncode == 0 and result(r) == ref, f"--batch {batch}: {result(r)}")
    r = run(base + ["--engine", "interp", "--quiet"])
    check(r.returncode == 0 and result(r) == ref, f"--engine interp: {result(r)}")

    # shards, merged
    parts = []
    for i in range(3):
        p = os.path.join(wd, f"part{i}.json")
        r = run(base + ["--shard", f"{i}/3", "--json", p, "--quiet"])
        check(r.returncode == 0, f"--shard {i}/3 ({r.stderr.strip()[:200]})")
        parts.append(p)
    sizes = [json.load(open(p))["images"] for p in parts if os.path.exists(p)]
    check(sizes == [120, 120, 120], f"shards of 120 images each: {sizes}")
    r = run([args.bclc, "eval", "--merge"] + parts + ["--json", os.path.join(wd, "merged.json")])
    check(r.returncode == 0 and result(r) == ref, f"--merge of 3 shards: {result(r)}")
    m = json.load(open(os.path.join(wd, "merged.json"))) if os.path.exists(os.path.join(wd, "merged.json")) else {}
    check(m.get("classes") == j["classes"], "--merge: per-class counts equal the single run's")

    # errors
    empty = os.path.join(wd, "empty")
    os.makedirs(empty)
    r = run(base[:-1] + [empty])
    check(r.returncode == 1 and "no class subfolders" in r.stderr, "empty folder: " + r.stderr.strip()[:120])
    os.makedirs(os.path.join(empty, "a"))
    r = run(base[:-1] + [empty])
    check(r.returncode == 1 and "no images" in r.stderr, "class folders without images: " + r.stderr.strip()[:120])
    r = run(base[:-1] + [os.path.join(wd, "nope")])
    check(r.returncode == 1 and "not a folder" in r.stderr, "missing folder: " + r.stderr.strip()[:120])
    nine = os.path.join(wd, "nine")
    shutil.copytree(data, nine)
    shutil.rmtree(os.path.join(nine, "9"))
    r = run(base[:-1] + [nine])
    check(r.returncode == 1 and "9 class folders, but the model has 10 classes" in r.stderr, "class-count mismatch: " + r.stderr.strip()[:160])
    bad = os.path.join(wd, "bad")
    shutil.copytree(data, bad)
    with open(os.path.join(bad, "4", "zzz.png"), "wb") as f:
        f.write(b"this is not a PNG")
    r = run(base[:-1] + [bad])
    check(r.returncode == 1 and "zzz.png: error: not an image" in r.stderr and "--skip-bad" in r.stderr,
          "undecodable image named: " + r.stderr.strip()[:200])
    r = run(base[:-1] + [bad, "--skip-bad"])
    check(r.returncode == 0 and "zzz.png: warning:" in r.stderr and result(r) == ref and "skipped (not decodable): 1" in r.stdout,
          "--skip-bad goes on: " + r.stderr.strip()[:200])
    r = run([args.bclc, "eval", cfg, "-I", EX, "--weights", os.path.join(EX, "digits.safetensors")])
    check(r.returncode == 2 and "--data DIR is required" in r.stderr, "--data missing: usage error")

    # bclc run --image on photos, with a 1000-class model
    try:
        import cv2
        import numpy as np
        import skimage
    except ImportError:
        return finish()
    photos = [os.path.join(os.path.dirname(skimage.__file__), "data", n) for n in ("chelsea.png", "rocket.jpg")]
    x = os.path.join(wd, "x.npy")
    r = run([args.bclc, "run", "--model", "mbnetv1_x025", "--random-weights", "0", "--image", *photos,
             "--save-input", x, "--topk", "3", "--engine", "interp"])
    check(r.returncode == 0 and r.stdout.count("1. class") == 2 and "chelsea.png" in r.stdout,
          "run --image: top-3 per image (" + (r.stderr.strip() or r.stdout.strip())[:200] + ")")
    names = re.findall(r"class \d+ \(([^)]+)\)", r.stdout)
    check(len(names) == 6, f"ImageNet class names by default: {names[:3]}")
    if os.path.exists(x):
        got = np.load(x)
        want = []
        for p in photos:   # BaseCls's defaults: 224 / 0.875 -> 256, bilinear, BGR, its mean and std
            img = cv2.imread(p, cv2.IMREAD_COLOR)
            h, w = img.shape[:2]
            s = 256
            nh, nw = (s, int(s * w / h)) if h < w else (int(s * h / w), s)
            img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
            y0, x0 = int(round((nh - 224) / 2)), int(round((nw - 224) / 2))
            img = img[y0:y0 + 224, x0:x0 + 224].transpose(2, 0, 1).astype(np.float32)
            mean = np.array([103.530, 116.280, 123.675], np.float32).reshape(3, 1, 1)
            std = np.array([57.375, 57.12, 58.395], np.float32).reshape(3, 1, 1)
            want.append((img - mean) / std)
        want = np.stack(want)
        diff = np.abs(got - want)
        # bilinear resizing is bit-exact with OpenCV: the tensors agree to float rounding
        check(got.shape == want.shape and diff.max() <= 1e-5,
              f"--save-input equals the OpenCV transform ({got.shape}, max |diff| {diff.max():.2e}, "
              f"{np.mean(diff > 1e-5) * 100:.3f}% beyond 1e-5)")
    r = run([args.bclc, "run", "--model", "mbnetv1_x025", "--random-weights", "0", "--image", os.path.join(wd, "bad", "4", "zzz.png")])
    check(r.returncode == 1 and "zzz.png: error: not an image" in r.stderr, "run --image on a bad file: " + r.stderr.strip()[:120])
    check_folder_order(args, wd)
    check_memory_bound(args, wd, base)
    return finish()


def peak_rss_mb(cmd):
    """The peak resident memory of cmd, measured in a fresh process (RUSAGE_CHILDREN
    is the largest child so far)."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = run([sys.executable, "-c", code, *cmd])
    rc, kb = r.stdout.split()
    return int(rc), int(kb) / 1024


def check_memory_bound(args, wd, base):
    """Big photos with 4 workers: --decode-mb holds the decoded images alive at once
    to the cap (here less than one image: one at a time)."""
    with open(args.bclc, "rb") as f:
        if b"__asan_init" in f.read():   # ASan's allocator keeps freed memory in quarantine
            print("skip --decode-mb memory bound: a sanitizer build")
            return
    import cv2
    import numpy as np
    big = os.path.join(wd, "big")
    yy, xx = np.mgrid[0:2400, 0:2400]
    img = np.dstack([(xx // 10) % 256, (yy // 10) % 256, ((xx + yy) // 20) % 256]).astype(np.uint8)
    for c in range(10):
        os.makedirs(os.path.join(big, str(c)), exist_ok=True)
    for i in range(6):
        cv2.imwrite(os.path.join(big, str(i), f"{i}.png"), img)
    one = img.nbytes / 2 ** 20
    cmd = base[:-1] + [big, "--workers", "4", "--quiet"]
    rc0, small = peak_rss_mb(base + ["--workers", "4", "--quiet"])
    rc1, capped = peak_rss_mb(cmd + ["--decode-mb", "8"])
    rc2, free_ = peak_rss_mb(cmd)
    check(rc0 == rc1 == rc2 == 0 and capped - small < one + 24,
          f"--decode-mb bounds decoding memory: 6 images of {one:.0f} MiB, 4 workers: peak RSS {capped:.0f} MiB "
          f"capped (one at a time), {free_:.0f} MiB at the default cap, {small:.0f} MiB on 8x8 images")


IMG_EXT = (".jpg", ".png", ".jpeg", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def image_folder(root):
    """MegEngine's ImageFolder (BaseCls's dataset), written again: classes are the
    folders of root (os.scandir, is_dir), sorted; samples come from
    sorted(os.walk(class_dir, followlinks=True)), names sorted, kept by extension."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    samples = []
    for i, c in enumerate(classes):
        for r, _, names in sorted(os.walk(os.path.join(root, c), followlinks=True)):
            samples += [(os.path.join(r, n), i) for n in sorted(names) if n.lower().endswith(IMG_EXT)]
    return classes, samples


def check_folder_order(args, wd):
    """A folder tree with the awkward parts of real datasets: --list gives the images,
    classes and order of ImageFolder, and eval reads every kind of image in it."""
    root = os.path.join(wd, "tree")
    shutil.rmtree(root, ignore_errors=True)
    import cv2
    import numpy as np
    img = np.zeros((9, 11, 3), np.uint8)

    def put(rel, data=None):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        ext = os.path.splitext(p)[1].lower()
        ext = ext if ext in (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp") else ".png"
        with open(p, "wb") as f:
            f.write(data if data is not None else cv2.imencode(ext, img[..., 0] if ext == ".pgm" else img)[1].tobytes())
    # nested folders whose whole-path order differs from tree order ("a b" < "a/x")
    for rel in ("n01/a/x/1.jpg", "n01/a b/2.jpg", "n01/a-b/3.png", "n01/a/4.png", "n01/0.jpg", "n01/a0/5.bmp",
                "n01/B.JPG", "n01/c.JPEG", "n01/d.Png",
                "n02/z.webp", "n02/y.ppm", "n02/x.pgm", "n02/deep/er/est/w.png",
                "n10/only.jpg", "n03/._hidden.jpg", "n03/.DS_Store", "n03/notes.txt", "n03/anim.gif", "n03/v.jpg"):
        put(rel)
    put("n03/broken.png", b"\x89PNG\r\n\x1a\n")     # a truncated file: decoded with an error
    os.makedirs(os.path.join(root, "n04_empty"))          # a class without images keeps its index
    os.makedirs(os.path.join(root, "n02", "dir.jpg"))     # a folder named like an image is not one
    os.symlink("..", os.path.join(root, "n02", "deep", "loop"))   # a link back up: not followed
    os.symlink(os.path.join(root, "n10"), os.path.join(root, "n02", "linked"))   # a link to a folder: followed
    os.symlink("missing.png", os.path.join(root, "n03", "dangling.png"))
    classes, samples = image_folder_without_loops(root)
    r = run([args.bclc, "eval", "--list", "--data", root])
    got = [tuple(line.split("\t")) for line in r.stdout.splitlines()]
    want = [(str(i), classes[i], p) for p, i in samples]
    check(r.returncode == 0 and got == want,
          f"--list: {len(got)} images in ImageFolder's classes and order ({len(want)} expected)"
          + ("" if got == want else f": first difference {next((a, b) for a, b in zip(got + [None] * 99, want + [None] * 99) if a != b)}"))
    check("not followed" in r.stderr, "a link back to a folder above is not followed, with a warning: " + r.stderr.strip()[:160])


def image_folder_without_loops(root):
    """image_folder(root) without the link that loops (os.walk would follow it forever)."""
    loop = os.path.join(root, "n02", "deep", "loop")
    os.rename(loop, loop + "_")
    os.unlink(loop + "_")
    try:
        return image_folder(root)
    finally:
        os.symlink("..", loop)


def finish():
    if failures:
        print(f"{len(failures)} eval check(s) failed")
        return 1
    print("all eval checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
