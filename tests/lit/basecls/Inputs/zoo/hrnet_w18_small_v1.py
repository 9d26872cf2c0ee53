#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import HRNetConfig

_cfg = dict(
    model=dict(
        name="hrnet_w18_small_v1",
    ),
)


class Cfg(HRNetConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
