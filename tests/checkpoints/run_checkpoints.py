#!/usr/bin/python3
"""Checkpoints from real writers give the same outputs as the same weights in safetensors.

    /usr/bin/python3 tests/checkpoints/run_checkpoints.py --bclc build/bclc --workdir DIR

Takes the digits example's weights, writes them with torch.save (zip and legacy formats,
float32/16/bf16/64, strided and offset tensors, a `module.` prefix), with pickle as
megengine.save does (a dict of numpy arrays, protocols 2 to 5, wrapped in "model" /
"state_dict", MegEngine Tensor objects), runs `bclc run` on each and compares the logits
bit for bit with a run on a safetensors file of the same (rounded) values. Then hostile
files (a posix.system global, truncation, huge declared sizes, a memo bomb) must be
refused with an error that says why, and no crash.
"""
import argparse
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import types

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples", "digits")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = collections.OrderedDict()
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32"
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(v["shape"]).copy()
    return out


def write_safetensors(path, sd):
    header, blobs, off = {}, [], 0
    for k, v in sd.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run(bclc, weights, out, extra=()):
    cmd = [bclc, "run", os.path.join(EX, "digits.bcl"), "--weights", weights, "--input",
           os.path.join(EX, "heldout.npy"), "--output", out, *extra]
    return subprocess.run(cmd, capture_output=True, text=True)


def fake_megengine():
    """A stand-in for megengine.tensor.Tensor that pickles as the real one does:
    __getnewargs__ gives (ndarray, dtype, device), __getstate__ a dict with "qdict"."""
    mge = types.ModuleType("megengine")
    mod = types.ModuleType("megengine.tensor")

    class Tensor:
        def __init__(self, data):
            self.data = np.asarray(data)

        def __getnewargs__(self):
            return (self.data, self.data.dtype, "cpu0:0")

        def __getstate__(self):
            return {"qdict": {"mode": None, "scale": None, "zero_point": None}}

        def __setstate__(self, state):
            pass

    class Parameter(Tensor):
        pass

    for c in (Tensor, Parameter):
        c.__module__ = "megengine.tensor"
        c.__qualname__ = c.__name__
        setattr(mod, c.__name__, c)
    mge.tensor = mod
    sys.modules["megengine"] = mge
    sys.modules["megengine.tensor"] = mod
    return Tensor, Parameter


def numpy2_pickle(obj, protocol):
    """obj pickled as numpy 2.x writes it: its array and scalar reconstructors live in
    numpy._core (numpy 1.x: numpy.core). Functions with numpy 2's module names stand in
    for numpy's own in a reducer_override; the stream is otherwise numpy's."""
    mods = {}
    for name in ("multiarray", "numeric"):
        full = "numpy._core." + name
        mods[name] = sys.modules.get(full) or types.ModuleType(full)
        sys.modules[full] = mods[name]
    renamed = {}

    def alias(fn):
        if fn not in renamed:
            sub = fn.__module__.rsplit(".", 1)[1]
            def stand_in(*a):
                return fn(*a)
            stand_in.__module__, stand_in.__qualname__ = "numpy._core." + sub, fn.__name__
            stand_in.__name__ = fn.__name__
            setattr(mods[sub], fn.__name__, stand_in)
            renamed[fn] = stand_in
        return renamed[fn]

    class P(pickle.Pickler):
        def reducer_override(self, o):
            if isinstance(o, (np.ndarray, np.generic)):
                r = o.__reduce_ex__(protocol)
                if getattr(r[0], "__module__", "").startswith("numpy.core."):
                    return (alias(r[0]),) + tuple(r[1:])
            return NotImplemented

    f = io.BytesIO()
    P(f, protocol=protocol).dump(obj)
    data = f.getvalue()
    assert b"numpy._core" in data and b"numpy.core" not in data
    return data


def check_variants(args, w, sd, tsd, ref32, reference, same, run):
    """Checkpoints as users have them, beyond a plain state dict."""
    # numpy 2.x module paths (numpy._core), every protocol
    for proto in (2, 3, 4, 5):
        p = w(f"digits_numpy2_p{proto}.pkl")
        with open(p, "wb") as f:
            f.write(numpy2_pickle(collections.OrderedDict(sd), proto))
        same(p, ref32, f"numpy 2.x pickle (numpy._core), protocol {proto}")
    # float16 / float64 / int64 arrays, non-contiguous arrays (a strided slice, a
    # transpose), as numpy pickles them
    half = collections.OrderedDict((k, v.astype(np.float16)) for k, v in sd.items())
    ref16 = reference(collections.OrderedDict((k, v.astype(np.float32)) for k, v in half.items()), "np16")
    for proto in (2, 5):
        p = w(f"digits_f16_p{proto}.pkl")
        with open(p, "wb") as f:
            pickle.dump(half, f, protocol=proto)
        same(p, ref16, f"pickle protocol {proto}: float16 arrays")
    ints = collections.OrderedDict((k, np.round(v * 8).astype(np.int64)) for k, v in sd.items())
    refi = reference(collections.OrderedDict((k, v.astype(np.float32)) for k, v in ints.items()), "i64")
    p = w("digits_i64.pkl")
    with open(p, "wb") as f:
        pickle.dump(ints, f, protocol=4)
    same(p, refi, "pickle protocol 4: int64 arrays")
    strided = collections.OrderedDict()
    for k, v in sd.items():
        big = np.zeros((2,) + v.shape, np.float32)
        big[1] = v
        s_ = big[1]
        if v.ndim == 2:
            s_ = np.ascontiguousarray(v.T).T   # Fortran order
        elif v.ndim == 1:
            s_ = np.repeat(v, 2)[::2]          # a strided view
        strided[k] = s_
    assert any(not a.flags.c_contiguous for a in strided.values())
    for proto in (2, 5):
        p = w(f"digits_strided_p{proto}.pkl")
        with open(p, "wb") as f:
            pickle.dump(strided, f, protocol=proto)
        same(p, ref32, f"pickle protocol {proto}: Fortran-order and strided arrays")
    # protocol 5 with out-of-band buffers: the data is not in the file
    bufs = []
    p = w("digits_oob.pkl")
    with open(p, "wb") as f:
        f.write(pickle.dumps(collections.OrderedDict(sd), protocol=5, buffer_callback=bufs.append))
    r = run(args.bclc, p, p + ".out.npy")
    check(r.returncode == 1 and "out of band" in r.stderr and "Sanitizer" not in r.stderr,
          "protocol 5 out-of-band buffers: refused, saying why: " + r.stderr.strip()[:160])

    # BaseCls's trainer (basecore's Checkpoint): latest.pkl holds "model", "ema",
    # "optimizer" (MegEngine tensors), "scaler", "progress"; best_ema_model.pkl
    # {"state_dict": ema, "acc1": ...}
    Tensor, Parameter = fake_megengine()
    ema = collections.OrderedDict((k, v * 0.5) for k, v in sd.items())
    latest = {"model": collections.OrderedDict(sd), "ema": ema,
              "optimizer": {"param_groups": [{"lr": 0.1, "momentum": 0.9, "params": list(range(len(sd)))}],
                            "state": {i: {"momentum_buffer": Tensor(v)} for i, v in enumerate(sd.values())}},
              "scaler": {"scale_factor": 65536.0, "growth_interval": 2000},
              "progress": {"epoch": 12, "iter": 1000, "max_epoch": 100}}
    p = w("latest.pkl")
    with open(p, "wb") as f:
        pickle.dump(latest, f, protocol=pickle.DEFAULT_PROTOCOL)
    same(p, ref32, "BaseCls trainer checkpoint (model, ema, optimizer, scaler, progress): its 'model'")
    p = w("best_ema_model.pkl")
    with open(p, "wb") as f:
        pickle.dump({"state_dict": ema, "acc1": 76.5}, f, protocol=pickle.DEFAULT_PROTOCOL)
    same(p, reference(ema, "ema"), "BaseCls best_ema_model.pkl: {'state_dict': ema, 'acc1': ...}")
    p = w("nested_one_key.pkl")
    with open(p, "wb") as f:
        pickle.dump({"net": collections.OrderedDict(sd), "epoch": 3}, f, protocol=4)
    r = same(p, ref32, "a dict whose one dict-valued entry holds the tensors ('net'): unwrapped")
    check("'net'" in r.stderr and "note" in r.stderr, "the unwrapped key is noted")

    # MegEngine tensors whose state carries other objects (newer MegEngine: qparams)
    class QParams:
        def __init__(self):
            self.mode, self.scale = None, None
    QParams.__module__, QParams.__qualname__ = "megengine.quantization.utils", "QParams"
    sys.modules["megengine.quantization.utils"] = types.ModuleType("megengine.quantization.utils")
    sys.modules["megengine.quantization.utils"].QParams = QParams
    orig = Tensor.__getstate__
    Tensor.__getstate__ = lambda self: {"qparams": QParams(), "name": "w"}
    p = w("digits_mge_qparams.pkl")
    with open(p, "wb") as f:
        pickle.dump({k: Parameter(v) for k, v in sd.items()}, f, protocol=4)
    Tensor.__getstate__ = orig
    same(p, ref32, "MegEngine Parameters whose state holds a QParams object")
    # early MegEngine 1.x: no constructor arguments, the array in the state's "data"
    orig_new = Tensor.__getnewargs__
    Tensor.__getnewargs__ = lambda self: ()
    Tensor.__getstate__ = lambda self: {"data": self.data, "device": "xpux", "dtype": self.data.dtype}
    p = w("digits_mge_old.pkl")
    with open(p, "wb") as f:
        pickle.dump({k: Parameter(v) for k, v in sd.items()}, f, protocol=2)
    Tensor.__getnewargs__, Tensor.__getstate__ = orig_new, orig
    same(p, ref32, "MegEngine tensors pickled by early 1.x versions (the array in the state's 'data')")

    # ---- PyTorch as users save it: a training checkpoint with the optimizer's state
    # and argparse arguments (torchvision's reference scripts), an EMA copy
    import argparse
    model = torch.nn.Module()
    params = [torch.nn.Parameter(v.clone()) for v in tsd.values() if v.is_floating_point()]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    sum((x * x).sum() for x in params).backward()
    opt.step()
    ckpt = {"model": tsd, "model_ema": {"n_averaged": torch.tensor(5)}, "optimizer": opt.state_dict(),
            "lr_scheduler": {"last_epoch": 3}, "epoch": 3, "args": argparse.Namespace(lr=0.1, arch="digits")}
    for fmt_zip in (True, False):
        p = w(f"digits_train_{'zip' if fmt_zip else 'legacy'}.pth")
        torch.save(ckpt, p, _use_new_zipfile_serialization=fmt_zip)
        r = same(p, ref32, f"torch.save {'zip' if fmt_zip else 'legacy'}: training checkpoint with optimizer state and argparse args")
        check("argparse.Namespace" in r.stderr and "never run" in r.stderr, "the ignored argparse object is noted")
    # torch.save with a newer pickle protocol (frames, memoize, stack globals)
    for proto in (4, 5):
        for fmt_zip in (True, False):
            p = w(f"digits_tp{proto}_{'zip' if fmt_zip else 'legacy'}.pth")
            torch.save(tsd, p, pickle_protocol=proto, _use_new_zipfile_serialization=fmt_zip)
            same(p, ref32, f"torch.save {'zip' if fmt_zip else 'legacy'}, pickle_protocol={proto}")
    # nn.Parameter values (torch._utils._rebuild_parameter)
    p = w("digits_params.pth")
    torch.save(collections.OrderedDict((k, torch.nn.Parameter(v.clone(), requires_grad=False))
                                       for k, v in tsd.items() if v.is_floating_point()), p)
    same(p, ref32, "torch.save of nn.Parameter values")
    # the zip's top folder is named after the file by torch; any name is accepted
    import zipfile
    p = w("digits_zip_float32.pth")
    for top in ("archive", "my model.v2", "x"):
        zin = zipfile.ZipFile(p)
        q = w(f"digits_root_{top.replace(' ', '_')}.pth")
        with zipfile.ZipFile(q, "w") as zout:
            for item in zin.infolist():
                zout.writestr(top + "/" + item.filename.split("/", 1)[1], zin.read(item.filename))
        same(q, ref32, f"torch zip with top folder {top!r}")
    # torch.save(model): the pickled module's weights, named as its state_dict() names
    # them (nested modules, parameters, persistent buffers; a non-persistent buffer left
    # out), its classes never run
    class Net(torch.nn.Module):
        pass
    Net.__module__, Net.__qualname__ = "mytrain", "Net"
    sys.modules["mytrain"] = types.ModuleType("mytrain")
    sys.modules["mytrain"].Net = Net
    net = Net()
    for k, v in tsd.items():
        *path, leaf = k.split(".")
        m = net
        for part in path:
            if not hasattr(m, part):
                m.add_module(part, Net())
            m = getattr(m, part)
        if "running" in leaf or "num_batches" in leaf:
            m.register_buffer(leaf, v.clone())
        else:
            m.register_parameter(leaf, torch.nn.Parameter(v.clone()))
    net.register_buffer("scratch", torch.zeros(3), persistent=False)
    assert sorted(net.state_dict().keys()) == sorted(tsd.keys())
    for fmt_zip in (True, False):
        p = w(f"whole_model_{'zip' if fmt_zip else 'legacy'}.pth")
        torch.save(net, p, _use_new_zipfile_serialization=fmt_zip)
        r = same(p, ref32, f"torch.save(model) {'zip' if fmt_zip else 'legacy'}: the module's state_dict()")
        check("'mytrain.Net' module" in r.stderr and "note" in r.stderr, "the pickled module is noted: " + r.stderr.strip()[:160])
    # an object that is not a module as the whole checkpoint: refused, naming its class
    p = w("namespace.pkl")
    with open(p, "wb") as f:
        pickle.dump(argparse.Namespace(lr=0.1), f, protocol=4)
    r = run(args.bclc, p, p + ".out.npy")
    check(r.returncode == 1 and "'argparse.Namespace'" in r.stderr and "Sanitizer" not in r.stderr,
          "a pickled object that is not a state dict: refused, naming its class: " + r.stderr.strip()[:200])
    # a state dict entry that is an object of a foreign class: refused, naming it
    class Evil2:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    p = w("evil_entry.pkl")
    with open(p, "wb") as f:
        pickle.dump(collections.OrderedDict(list(sd.items()) + [("extra", Evil2())]), f, protocol=4)
    r = run(args.bclc, p, p + ".out.npy")
    check(r.returncode == 1 and "'posix.system' is not allowed" in r.stderr and "'extra'" in r.stderr
          and "pwned" not in r.stdout + r.stderr, "a state-dict entry built by posix.system: refused: " + r.stderr.strip()[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bclc", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    w = lambda name: os.path.join(args.workdir, name)
    sd = read_safetensors(os.path.join(EX, "digits.safetensors"))

    def reference(rounded, tag):
        """The safetensors run for these (possibly rounded) values."""
        path = w(f"ref_{tag}.safetensors")
        write_safetensors(path, rounded)
        r = run(args.bclc, path, w(f"ref_{tag}.npy"))
        assert r.returncode == 0, r.stderr
        return np.load(w(f"ref_{tag}.npy"))

    def same(weights, ref, what, extra=()):
        out = weights + ".out.npy"
        r = run(args.bclc, weights, out, extra)
        ok = r.returncode == 0 and np.array_equal(np.load(out), ref)
        check(ok, what + ("" if r.returncode == 0 else ": " + r.stderr.strip()[:300]))
        return r

    ref32 = reference(sd, "f32")
    tsd = collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in sd.items())
    # a BatchNorm step counter as torch writes it (int64; ignored when binding)
    bn = [k for k in sd if k.endswith("running_var")][0]
    tsd[bn[:-len("running_var")] + "num_batches_tracked"] = torch.tensor(100)

    # ---- PyTorch: zip and legacy formats, each dtype
    for fmt_zip in (True, False):
        fmt = "zip" if fmt_zip else "legacy"
        for dt in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
            conv = collections.OrderedDict((k, v.to(dt) if v.is_floating_point() else v) for k, v in tsd.items())
            p = w(f"digits_{fmt}_{str(dt)[6:]}.pth")
            torch.save(conv, p, _use_new_zipfile_serialization=fmt_zip)
            rounded = collections.OrderedDict((k, v.float().numpy()) for k, v in conv.items() if k in sd)
            ref = ref32 if dt in (torch.float32, torch.float64) else reference(rounded, str(dt)[6:])
            same(p, ref, f"torch.save {fmt} {str(dt)[6:]}")

    # strided (transposed) tensors and tensors at offsets inside one shared storage
    flat = torch.cat([v.reshape(-1) for v in tsd.values() if v.is_floating_point()])
    views, off = collections.OrderedDict(), 0
    for k, v in tsd.items():
        if not v.is_floating_point():
            continue
        n = v.numel()
        views[k] = flat[off:off + n].view(v.shape)
        off += n
        if v.dim() == 2:   # the same values through a transposed view
            views[k] = v.t().contiguous().t()
            assert views[k].stride() != v.contiguous().stride()
    for fmt_zip in (True, False):
        p = w(f"digits_views_{'zip' if fmt_zip else 'legacy'}.pth")
        torch.save(views, p, _use_new_zipfile_serialization=fmt_zip)
        same(p, ref32, f"torch.save {'zip' if fmt_zip else 'legacy'}: shared storage, offsets, strides")

    # a whole training checkpoint from DataParallel: {"model": {"module.x": ...}, "epoch": ...}
    p = w("digits_dp.pth")
    torch.save({"epoch": 3, "model": collections.OrderedDict(("module." + k, v) for k, v in tsd.items())}, p)
    r = same(p, ref32, "torch.save {'model': state dict with 'module.' keys}")
    check("module." in r.stderr and "note" in r.stderr, "the stripped 'module.' prefix is noted")
    # a prefix that is not common to every key: --strip-prefix
    mixed = collections.OrderedDict(("net." + k, v) for k, v in tsd.items())
    mixed["extra_counter"] = torch.tensor(1.0)
    p2 = w("digits_mixed.pth")
    torch.save(mixed, p2)
    r2 = run(args.bclc, p2, p2 + ".out.npy")
    check(r2.returncode == 1 and "missing keys" in r2.stderr, "keys with a prefix not shared by all: not matched by itself")
    same(p2, ref32, "--strip-prefix net. --non-strict", extra=("--strip-prefix", "net.", "--non-strict"))
    r = subprocess.run([args.bclc, "params", os.path.join(EX, "digits.bcl"), "--weights", p],
                       capture_output=True, text=True)
    check(r.returncode == 0 and " missing" not in r.stdout and r.stdout.count(" ok") == len(sd),
          "bclc params --weights on a .pth: every key ok")

    # ---- MegEngine / BaseCls: pickle.dump of a dict of numpy arrays
    for proto in (2, 3, 4, 5):
        p = w(f"digits_p{proto}.pkl")
        with open(p, "wb") as f:
            pickle.dump(collections.OrderedDict(sd), f, protocol=proto)
        same(p, ref32, f"pickle protocol {proto}: dict of numpy float32 arrays")
    p = w("digits_ckpt.pkl")
    with open(p, "wb") as f:   # BaseCls's load_model unwraps "model", then "state_dict"
        pickle.dump({"model": {"state_dict": {k: v.astype(np.float64) for k, v in sd.items()}},
                     "epoch": 7, "lr": np.float32(0.1)}, f, protocol=4)
    same(p, ref32, "pickle: {'model': {'state_dict': float64 arrays}}")
    p = w("digits_fortran.pkl")
    with open(p, "wb") as f:
        pickle.dump({k: np.asfortranarray(v) for k, v in sd.items()}, f, protocol=2)
    same(p, ref32, "pickle protocol 2: Fortran-order arrays")
    Tensor, Parameter = fake_megengine()
    for proto in (2, 4):
        p = w(f"digits_mge_p{proto}.pkl")
        with open(p, "wb") as f:
            pickle.dump({k: (Parameter if "weight" in k else Tensor)(v) for k, v in sd.items()}, f, protocol=proto)
        same(p, ref32, f"pickle protocol {proto}: MegEngine Tensor and Parameter objects")

    check_variants(args, w, sd, tsd, ref32, reference, same, run)

    # ---- hostile files: refused with a reason, never a crash
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    def refused(name, data, expect):
        p = w(name)
        with open(p, "wb") as f:
            f.write(data)
        r = run(args.bclc, p, p + ".out.npy")
        ok = r.returncode == 1 and expect in r.stderr and "pwned" not in r.stdout + r.stderr
        ok = ok and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr
        check(ok, f"refused: {name} ({expect!r})" + ("" if ok else f": rc {r.returncode} {r.stderr.strip()[:300]}"))

    refused("evil_system.pkl", pickle.dumps({"x": Evil()}, protocol=2), "'posix.system' is not allowed")
    refused("evil_system_p4.pkl", pickle.dumps({"x": Evil()}, protocol=4), "'posix.system' is not allowed")
    good = open(w("digits_p4.pkl"), "rb").read()
    refused("truncated.pkl", good[:len(good) // 2], "truncated")
    good_pth = open(w("digits_legacy_float32.pth"), "rb").read()
    refused("truncated_legacy.pth", good_pth[:-100], "truncated")
    good_zip = open(w("digits_zip_float32.pth"), "rb").read()
    refused("truncated_zip.pth", good_zip[:len(good_zip) - 300], "error")
    # a string that claims 2^62 bytes
    refused("huge_string.pkl", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abc", "truncated")
    # an array whose shape needs 2^40 floats, backed by 16 bytes
    huge = pickle.dumps({"a": np.zeros(4, np.float32)}, protocol=2).replace(
        b"K\x04\x85", b"\x8a\x06" + (1 << 40).to_bytes(6, "little") + b"\x85")
    refused("huge_shape.pkl", huge, "need")
    # a torch storage that declares more elements than its data holds
    p = w("digits_zip_float32.pth")
    import zipfile
    zin = zipfile.ZipFile(p)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/data/0"):
                data = data[:8]
            zout.writestr(item, data)
    refused("short_storage.pth", buf.getvalue(), "reaches element")
    # memo bomb: a memo slot four billion entries away
    refused("memo_bomb.pkl", b"\x80\x02}r\xff\xff\xff\xff.", "memo index")
    refused("memo_get.pkl", b"\x80\x02j\xff\xff\xff\x7f.", "never stored")
    refused("not_dict.pkl", pickle.dumps([1, 2, 3], protocol=4), "not a state dict")
    refused("inst_opcode.pkl", b"\x80\x02(i__main__\nX\n.", "INST")
    refused("empty.pkl", b"\x80\x02", "truncated")

    if failures:
        print(f"{len(failures)} checkpoint check(s) failed")
        return 1
    print("all checkpoint checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
