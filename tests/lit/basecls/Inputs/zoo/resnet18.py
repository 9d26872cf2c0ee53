#!/usr/bin/env python3
# A zoo configuration file in BaseCls's form (written for bclc's tests).
from basecls.configs import ResNetConfig

_cfg = dict(
    batch_size=128,
    model=dict(
        name="resnet18",
    ),
    solver=dict(
        basic_lr=0.1,
    ),
    model_ema=dict(
        enabled=True,
        momentum=0.99992,
    ),
)


class Cfg(ResNetConfig):
    def __init__(self, values_or_file=None, **kwargs):
        super().__init__(_cfg)
        self.merge(values_or_file, **kwargs)
