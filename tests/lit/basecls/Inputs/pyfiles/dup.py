import megengine.module as M
from basecls.utils import registers


@registers.models.register()
class Tiny(M.Module):
    pass


@registers.models.register(name="Tiny")
class Tiny2(M.Module):
    pass
