"""Writes large or hostile .bcl models for the limits tests (too big to commit).

usage: gen_model.py CASE N   (the model goes to stdout)
"""
import sys

HEAD = """import megengine.module as M
import megengine.functional as F

"""


def cfg(name, img=8, ch=None):
    mean = "" if ch is None else ", preprocess=dict(img_mean=[0.0] * %d)" % ch
    return "\n_cfg = dict(model=dict(name=%s), test=dict(img_size=%s)%s)\n" % (name, img, mean)


def flat_expr(n):
    """A flat sum of n terms inside a function (the checker walks it)."""
    return "def f(x):\n    return " + " + ".join(["x"] * n) + "\n"


def nested_sequential(n):
    """n Sequentials, each inside the next, around one Linear."""
    return HEAD + """
class Deep(M.Module):
    def __init__(self):
        super().__init__()
        m = M.Linear(8, 8)
        for i in range(%d):
            m = M.Sequential(m)
        self.body = m

    def forward(self, x):
        # calling the body would stop at the call-depth limit first
        return F.flatten(x, 1)
""" % n + cfg("Deep", "(1, 8)", 1)


def wide_sequential(n):
    """A Sequential of n layers (compile time must stay linear)."""
    return HEAD + """
class Wide(M.Module):
    def __init__(self):
        super().__init__()
        self.body = M.Sequential(*[M.ReLU() if i %% 2 else M.Identity() for i in range(%d)])

    def forward(self, x):
        return self.body(x)
""" % n + cfg("Wide")


def big_dict(n):
    """A dict of n keys built in a constructor."""
    return HEAD + """
class Dicty(M.Module):
    def __init__(self):
        super().__init__()
        d = {}
        for i in range(%d):
            d[i] = i
        self.n = len(d) + d[%d - 1]
        self.fc = M.Linear(8, 2)

    def forward(self, x):
        return self.fc(F.flatten(x, 1)) * self.n
""" % (n, n) + cfg("Dicty", "(1, 8)", 1)


def huge_linear(n):
    """M.Linear(n, n): n*n weights."""
    return HEAD + """
class Huge(M.Module):
    def __init__(self):
        super().__init__()
        self.fc = M.Linear(%d, %d)

    def forward(self, x):
        return x
""" % (n, n) + cfg("Huge", "(1, 8)", 1)


def huge_list(n):
    """n Linear(200000, 200000): each within the limit of one tensor, not all together."""
    return HEAD + """
class Huges(M.Module):
    def __init__(self):
        super().__init__()
        self.fcs = [M.Linear(200000, 200000) for i in range(%d)]

    def forward(self, x):
        return x
""" % n + cfg("Huges", "(1, 8)", 1)


def huge_reshape(n):
    """F.reshape with dimensions whose product overflows int64."""
    return HEAD + """
class Resh(M.Module):
    def forward(self, x):
        return F.reshape(x, (%d, %d, %d, -1))
""" % (n, n, n) + cfg("Resh")


def long_forward(n):
    """A forward of n elementwise nodes (the passes and the JIT planner must stay linear)."""
    return HEAD + """
class Chain(M.Module):
    def forward(self, x):
        for i in range(%d):
            x = x + 1.0 if i %% 2 else x * 0.5
        return x
""" % n + cfg("Chain")


def nested_blocks_errors(n):
    """n top-level ifs, each on an undefined name: n errors, one per line (names
    are resolved when code runs, so the code must run for each to be an error)."""
    out = []
    for i in range(n):
        out.append("if undefined_%d:" % i)
        out.append("    pass")
    return "\n".join(out) + "\n"


def runaway_loop(n):
    """A constructor whose loop never ends (the statement budget stops it)."""
    return HEAD + """
class Loop(M.Module):
    def __init__(self):
        super().__init__()
        k = 0
        while k >= 0:
            k = k + 1
        self.fc = M.Linear(%d, 2)

    def forward(self, x):
        return self.fc(x)
""" % n + cfg("Loop")


CASES = {k: v for k, v in globals().items() if callable(v) and k not in ("cfg",)}

if __name__ == "__main__":
    sys.stdout.write(CASES[sys.argv[1]](int(sys.argv[2])))
