# A model with integer and bool buffers, as BaseCls's Swin has (rel_pos_index from numpy
# int64, which MegEngine holds as int32): the index picks input columns, the mask zeroes
# some. Used by int_buffers.test.
import numpy as np

import megengine as mge
import megengine.module as M
from basecls.utils import registers


@registers.models.register()
class IdxNet(M.Module):
    def __init__(self):
        super().__init__()
        self.scale = mge.Parameter(np.full((4,), 2.0, dtype="float32"))
        self.index = mge.Tensor(np.arange(4)[::-1].copy())   # int64 in numpy
        self.keep = mge.Tensor(np.array([True, False, True, True]))

    def forward(self, x):
        y = x.flatten(1)[:, self.index] * self.scale
        return y * self.keep.astype("float32")


_cfg = dict(model=dict(name="IdxNet"), test=dict(img_size=2), preprocess=dict(img_mean=[0]))
