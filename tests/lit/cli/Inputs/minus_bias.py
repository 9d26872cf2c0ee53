"""usage: minus_bias.py REF.npy OUT.npy: exits 1 unless OUT = REF - head.fc.bias of the
digits weights, i.e. OUT came from the digits weights with that bias at zero (its
init when --random-weights fills a parameter the weight file lacks)."""
import sys

import numpy as np

import mkbad

bias = dict(mkbad.digits_tensors())["head.fc.bias"]
ref, out = np.load(sys.argv[1]), np.load(sys.argv[2])
if out.shape != ref.shape or not np.allclose(out, ref - bias, atol=1e-5):
    sys.exit("expected REF - bias:\n%s\ngot:\n%s" % (ref - bias, out))
