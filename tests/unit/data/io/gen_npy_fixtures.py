# Regenerates the .npy fixtures of tests/unit/test_npy.c with numpy (run once by hand
# with a Python that has numpy; the unit tests themselves never need Python).
import io, os
import numpy as np
from numpy.lib import format as npf

here = os.path.dirname(os.path.abspath(__file__))

def save(name, arr, version=None):
    with open(os.path.join(here, name), "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=False)
        else:
            npf.write_array(f, arr, version=version, allow_pickle=False)

vals = [0, 1, -2, 3, 100, -7]
for dt in ["f2", "f4", "f8", "i1", "i2", "i4", "i8"]:
    save("%s.npy" % dt, np.array(vals, dtype="<" + dt).reshape(2, 3))
for dt in ["u1", "u2", "u4", "u8"]:
    save("%s.npy" % dt, np.array([0, 1, 2, 3, 200, 7], dtype="<" + dt).reshape(2, 3))
save("b1.npy", np.array([True, False, True], dtype=bool))
save("f4_scalar.npy", np.array(2.5, dtype="<f4"))
save("f4_rank4.npy", np.arange(24, dtype="<f4").reshape(1, 2, 3, 4) * 0.5)
save("f4_empty.npy", np.zeros((0, 3), dtype="<f4"))
save("f4_v2.npy", np.array([1.5, -0.25], dtype="<f4"), version=(2, 0))
save("f4_v3.npy", np.array([1.5, -0.25], dtype="<f4"), version=(3, 0))
save("f8_precise.npy", np.array([0.1, 1e-3, 3.4e38], dtype="<f8"))
# rejected ones
save("bad_fortran.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
save("bad_big_endian.npy", np.array([1, 2], dtype=">f4"))
save("bad_complex.npy", np.array([1 + 2j], dtype="<c8"))
save("bad_structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
save("bad_unicode.npy", np.array(["ab"], dtype="<U2"))
with open(os.path.join(here, "bad_object.npy"), "wb") as f:
    np.save(f, np.array([None, 1], dtype=object), allow_pickle=True)
# npy_write's output must equal numpy's byte for byte
save("ref_f32_2x3.npy", np.array([[1, -2, 3.5], [0, 1e-8, -1e30]], dtype="<f4"))
save("ref_f32_scalar.npy", np.array(-4.0, dtype="<f4"))
save("ref_f32_1d.npy", np.array([7.0], dtype="<f4"))

# .npz archives (zip of .npy): stored and deflated
arrs = {
    "features.0.weight": np.arange(6, dtype="<f4").reshape(2, 3) - 2.5,
    "features.0.bias": np.array([0.5, -1], dtype="<f4"),
    "bn.num_batches_tracked": np.array(7, dtype="<i8"),
}
np.savez(os.path.join(here, "savez.npz"), **arrs)
big = dict(arrs)
big["fc.weight"] = (np.arange(1000, dtype="<f4") % 17) * 0.25   # compressible: dynamic Huffman
big["fc.bias"] = np.array([1, 2, 3], dtype="<f2")
np.savez_compressed(os.path.join(here, "savez_compressed.npz"), **big)
np.savez(os.path.join(here, "bad_complex.npz"), ok=np.zeros(2, "<f4"), z=np.array([1j], "<c8"))
np.savez(os.path.join(here, "empty.npz"))
try:
    import torch
    sd = {"w": torch.ones(2)}
    torch.save(sd, os.path.join(here, "torch_zip.pth"))
    torch.save(sd, os.path.join(here, "torch_legacy.pth"), _use_new_zipfile_serialization=False)
except ImportError:
    pass
