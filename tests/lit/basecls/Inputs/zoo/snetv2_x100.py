#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import SNetConfig

_cfg = dict(
    batch_size=128,
    model=dict(
        name="snetv2_x100",
    ),
)


class Cfg(SNetConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
