#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import RepVGGConfig

_cfg = dict(
    model=dict(
        name="repvgg_a0",
    ),
)


class Cfg(RepVGGConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
