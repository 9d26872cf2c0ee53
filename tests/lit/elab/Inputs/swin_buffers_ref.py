"""BaseCls's Swin buffers in NumPy (from the semantics of basecls/models/swin.py),
compared with bclc's output of tests/lit/elab/swin_buffers.bcl."""
import sys

import numpy as np


def rel_pos_index(wh, ww):
    coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww)))  # default indexing='xy'
    flat = coords.reshape(2, -1)
    rel = (flat[:, :, None] - flat[:, None, :]).transpose(1, 2, 0).copy()
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


def attn_mask(h, w, ws, shift):
    img = np.zeros((1, h, w, 1), np.float32)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    cnt = 0
    for hs in cuts:
        for wsl in cuts:
            img[:, hs, wsl, :] = cnt
            cnt += 1
    win = img.reshape(1, h // ws, ws, w // ws, ws, 1).transpose(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws)
    m = win[:, None, :] - win[:, :, None]
    return np.where(m != 0, -100.0, 0.0).astype(np.float32)


got = np.load(sys.argv[1])
want = np.concatenate([rel_pos_index(4, 4).ravel(), attn_mask(12, 8, 4, 2).ravel(),
                       rel_pos_index(3, 5).ravel()]).astype(np.float32)
assert got.shape == want.shape, (got.shape, want.shape)
assert (got == want).all(), np.argwhere(got != want)[:5]
assert (want[256:] == -100).any() and (want[256:] == 0).any()
print("swin buffers ok")
