"""usage: same.py A.npy B.npy ATOL: exits 1 unless the arrays have the same shape and
agree within ATOL (plus a relative 1e-5 for float rounding)."""
import sys

import numpy as np

a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
atol = float(sys.argv[3])
if a.shape != b.shape:
    sys.exit("shapes differ: %s vs %s" % (a.shape, b.shape))
if not np.allclose(a, b, rtol=1e-5, atol=atol + 1e-6):
    sys.exit("arrays differ: max |diff| %g > %g\n%s\n%s" % (np.abs(a - b).max(), atol, a, b))
