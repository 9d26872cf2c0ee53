#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import MBConfig

_cfg = dict(
    model=dict(
        name="mbnetv3_small_x100",
        head=dict(
            name="MBV3Head",
            dropout_prob=0.2,
        ),
    ),
    solver=dict(
        basic_lr=0.1,
    ),
)


class Cfg(MBConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
