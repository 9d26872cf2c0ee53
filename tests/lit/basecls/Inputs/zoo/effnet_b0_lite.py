#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import EffNetLiteConfig

_cfg = dict(
    model=dict(
        name="effnet_b0_lite",
    ),
)


class Cfg(EffNetLiteConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
