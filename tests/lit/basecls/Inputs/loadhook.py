# A module that overrides load_state_dict, as BaseCls's ViT does to resize pos_embed
# for another grid (with cv2, which bclc does not provide). Used by load_hook.test.
import cv2
import numpy as np

import megengine as mge
import megengine.functional as F
import megengine.module as M
from basecls.utils import registers


@registers.models.register()
class PosNet(M.Module):
    def __init__(self):
        super().__init__()
        self.pos_embed = mge.Parameter(F.zeros((1, 4)))

    def forward(self, x):
        return x.flatten(1) + self.pos_embed

    def load_state_dict(self, state_dict, strict=True):
        old = state_dict["pos_embed"]
        state_dict["pos_embed"] = cv2.resize(np.asarray(old), (4, 1))
        super().load_state_dict(state_dict, strict)


_cfg = dict(model=dict(name="PosNet"), test=dict(img_size=2), preprocess=dict(img_mean=[0]))
