#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import EffNetConfig

_cfg = dict(
    preprocess=dict(
        img_size=240,
    ),
    test=dict(
        img_size=240,
        crop_pct=240 / 272,
    ),
    model=dict(
        name="effnet_b1",
    ),
)


class Cfg(EffNetConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
