#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import RegNetConfig

_cfg = dict(
    batch_size=128,
    model=dict(
        name="regnety_002",
    ),
    augments=dict(
        rand_aug=dict(
            magnitude=3,
        ),
    ),
    solver=dict(
        basic_lr=0.1,
    ),
)


class Cfg(RegNetConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
