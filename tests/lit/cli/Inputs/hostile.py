"""usage: hostile.py KIND OUT.bcl: writes a model file that is valid up to one hostile
compile-time computation (KIND), for the bclc CLI tests."""
import sys

HEAD = """import megengine.functional as F
import megengine.module as M
from basecls.utils import registers
"""
TAIL = """

@registers.models.register()
class Net(M.Module):
    def __init__(self):
        super().__init__()
        self.fc = M.Linear(3, 2)

    def forward(self, x):
        return self.fc(F.flatten(x, 1))


_cfg = dict(model=dict(name="Net"))
"""
BODY = {
    "recursion": "def f(n):\n    return f(n + 1)\n\n\nX = f(0)\n",
    "long-loop": "X = 0\nfor i in range(10**12):\n    X = X + 1\n",
    "huge-string": 'X = "a" * 10**12\n',
    "huge-list": "X = [0] * 10**12\n",
    "int-overflow": "X = 2**64 * 2**64\n",
    "div-zero": "X = 1 // 0\n",
    "deep-parens": "X = " + "(" * 50000 + "1" + ")" * 50000 + "\n",
    "module-recursion": "class A(M.Module):\n    def __init__(self):\n        super().__init__()\n        self.a = A()\n\n\nX = A()\n",
}
if len(sys.argv) != 3 or sys.argv[1] not in BODY:
    sys.exit(__doc__ + "kinds: " + ", ".join(BODY))
with open(sys.argv[2], "w") as f:
    f.write(HEAD + BODY[sys.argv[1]] + TAIL)
