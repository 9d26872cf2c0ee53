"""Small image files of every kind a photo folder holds, generated with OpenCV, PIL and
plain bytes (never third-party photos): JPEG (baseline, progressive, gray, subsampling,
CMYK, EXIF orientations), PNG (gray, gray+alpha, palette with transparency, 1/2/4 bits,
16 bits, RGBA, eXIf), BMP (1/4/8/16/24/32 bits, top-down, OS/2 header), PNM (P1-P6,
8 and 16 bits, text and binary), WebP (lossy, lossless, alpha), files whose extension
lies about their content, and truncated or corrupt files.

make(dir, photo) writes them into dir and returns [(label, path)]; photo (an HxWx3 BGR
array, e.g. one of skimage's photos) gives the JPEG and WebP files real content.
Used by tests/image/run_images.py (each file against cv2.imread) and by
tests/fuzz/make_seeds.py (seeds of the image fuzz target).
"""
import io
import os
import struct
import zlib

import cv2
import numpy as np
from PIL import Image


def tiff_ifd0(entries, bo="II"):
    """A TIFF block holding one IFD: entries are (tag, type, count, 4 value bytes)."""
    p = "<" if bo == "II" else ">"
    out = bo.encode() + struct.pack(p + "HI", 42, 8) + struct.pack(p + "H", len(entries))
    for tag, typ, count, value in entries:
        out += struct.pack(p + "HHI", tag, typ, count) + value
    return out + struct.pack(p + "I", 0)


def orientation_exif(o, bo="II", before=()):
    p = "<" if bo == "II" else ">"
    return tiff_ifd0(list(before) + [(0x112, 3, 1, struct.pack(p + "HH", o, 0))], bo)


def jpeg_with_segments(jpg, *segments):
    """Inserts APPn segments (marker byte, payload) right after SOI."""
    segs = b"".join(b"\xff" + bytes([m]) + struct.pack(">H", len(d) + 2) + d for m, d in segments)
    return jpg[:2] + segs + jpg[2:]


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png_insert(png, kind, data, after_idat=False):
    """Adds a chunk after IHDR, or just before IEND."""
    if after_idat:
        at = png.rindex(b"IEND") - 4
    else:
        at = 8 + 8 + 13 + 4
    return png[:at] + png_chunk(kind, data) + png[at:]


def bmp(width, height, bpp, pixels, palette=b"", compression=0, header=40, masks=b"", clrused=0):
    """A BMP from raw rows (already padded to 4 bytes, bottom-up unless height < 0)."""
    if header == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bpp)
    else:
        info = struct.pack("<IiiHHIIiiII", header, width, height, 1, bpp, compression, len(pixels), 2835, 2835,
                           clrused, 0)
        info += b"\0" * (header - 40)
    offset = 14 + len(info) + len(masks) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + masks + palette + pixels


def rle8(idx, absolute=False):
    """BMP RLE8 of rows of palette indices (bottom row first): runs of equal indices,
    absolute blocks for varied stretches when asked, an end-of-line per row, the
    end-of-bitmap code last."""
    out = b""
    for row in idx[::-1]:
        x, n = 0, len(row)
        while x < n:
            r = 1
            while x + r < n and row[x + r] == row[x] and r < 255:
                r += 1
            if absolute and r == 1 and n - x >= 3:
                k = 3
                while x + k < n and k < 8 and row[x + k] != row[x + k - 1]:
                    k += 1
                block = bytes(row[x:x + k].tolist())
                out += bytes([0, k]) + block + (b"\0" if k % 2 else b"")
                x += k
                continue
            out += bytes([r, row[x]])
            x += r
        out += b"\x00\x00"
    return out + b"\x00\x01"


def rle4(idx):
    """BMP RLE4: pairs of pixels as runs of two alternating indices, absolute blocks of
    4 pixels where they fit, an end-of-line per row, end-of-bitmap last."""
    out = b""
    for row in idx[::-1]:
        x, n = 0, len(row)
        while x < n:
            if n - x >= 4 and x % 8 == 0:
                b = bytes([(row[x] << 4) | row[x + 1], (row[x + 2] << 4) | row[x + 3]])
                out += bytes([0, 4]) + b
                x += 4
            else:
                k = 2 if n - x >= 2 else 1
                out += bytes([k, (row[x] << 4) | (row[x + 1] if k == 2 else 0)])
                x += k
        out += b"\x00\x00"
    return out + b"\x00\x01"


def png_adam7(rgb):
    """An interlaced (Adam7) 8-bit RGB PNG, which neither OpenCV nor PIL writes."""
    h, w = rgb.shape[:2]
    raw = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def pad4(rows):
    return b"".join(r + b"\0" * (-len(r) % 4) for r in rows)


def pil_bytes(im, fmt, **kw):
    f = io.BytesIO()
    im.save(f, fmt, **kw)
    return f.getvalue()


def make(d, photo):
    os.makedirs(d, exist_ok=True)
    files = []

    def put(label, name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        files.append((label, path))

    rng = np.random.default_rng(13)
    small = rng.integers(0, 256, (13, 17, 3), np.uint8)
    h, w = photo.shape[:2]
    crop = np.ascontiguousarray(photo[h // 4:h // 4 + 96, w // 4:w // 4 + 131])   # odd sizes, real content
    rgb = Image.fromarray(crop[..., ::-1].copy())

    # ---- JPEG
    jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    put("JPEG baseline", "base.jpg", jpg)
    put("JPEG progressive", "progressive.jpg",
        cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
    put("JPEG gray", "gray.jpg", cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))[1].tobytes())
    for sub in (0, 1, 2):   # 4:4:4, 4:2:2, 4:2:0
        put(f"JPEG subsampling {sub}", f"sub{sub}.jpg", pil_bytes(rgb, "JPEG", quality=85, subsampling=sub))
    put("JPEG optimized Huffman tables", "optimized.jpg", pil_bytes(rgb, "JPEG", quality=75, optimize=True))
    put("JPEG progressive (PIL)", "progressive_pil.jpg", pil_bytes(rgb, "JPEG", quality=80, progressive=True))
    put("JPEG CMYK (Adobe)", "cmyk.jpg", pil_bytes(rgb.convert("CMYK"), "JPEG", quality=90))
    put("JPEG tiny 1x1", "one.jpg", cv2.imencode(".jpg", small[:1, :1])[1].tobytes())
    for o in range(1, 9):
        put(f"JPEG EXIF orientation {o}", f"orient{o}.jpg", jpeg_with_segments(jpg, (0xe1, b"Exif\0\0" + orientation_exif(o))))
    put("JPEG EXIF orientation 6, big-endian", "orient6_mm.jpg",
        jpeg_with_segments(jpg, (0xe1, b"Exif\0\0" + orientation_exif(6, "MM"))))
    put("JPEG EXIF orientation 8 after a Make string", "orient8_make.jpg",
        jpeg_with_segments(jpg, (0xe1, b"Exif\0\0" + orientation_exif(8, before=[(0x10f, 2, 4, b"Cam\0")]))))
    put("JPEG XMP segment before the EXIF one (OpenCV reads only the first APP1)", "xmp_first.jpg",
        jpeg_with_segments(jpg, (0xe1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
                           (0xe1, b"Exif\0\0" + orientation_exif(6))))
    put("JPEG EXIF with an out-of-range IFD offset", "exif_bad_offset.jpg",
        jpeg_with_segments(jpg, (0xe1, b"Exif\0\0II*\0" + struct.pack("<I", 4000))))
    put("JPEG EXIF string past the block hides the orientation", "exif_bad_string.jpg",
        jpeg_with_segments(jpg, (0xe1, b"Exif\0\0" + orientation_exif(6, before=[(0x10f, 2, 400, struct.pack("<I", 26))]))))
    put("JPEG EXIF orientation 9 (invalid: ignored)", "orient9.jpg",
        jpeg_with_segments(jpg, (0xe1, b"Exif\0\0" + orientation_exif(9))))
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x011A], ex[0x011B], ex[0x0128] = "Canon", "EOS 5D", 72.0, 72.0, 2
    ex[0x0132], ex[0x0112], ex[0x0131] = "2021:06:01 12:00:00", 8, "a camera's firmware 1.0"
    put("JPEG with a camera's EXIF (PIL: strings, rationals, orientation 8)", "camera_exif.jpg",
        pil_bytes(rgb, "JPEG", quality=90, exif=ex.tobytes()))
    put("JPEG EXIF after the JFIF segment", "exif_after_jfif.jpg",
        jpg[:20] + b"\xff\xe1" + struct.pack(">H", len(b"Exif\0\0" + orientation_exif(5)) + 2)
        + b"Exif\0\0" + orientation_exif(5) + jpg[20:])
    put("WebP with EXIF orientation 6 (OpenCV 4.6 does not apply it)", "exif6.webp",
        pil_bytes(rgb, "WEBP", quality=80, exif=b"Exif\0\0" + orientation_exif(6)))
    put("JPEG truncated in the scan (decodes, grey below)", "truncated_scan.jpg", jpg[:len(jpg) * 2 // 3])
    put("JPEG cut inside its header", "truncated_header.jpg", jpg[:200])

    # ---- PNG
    put("PNG RGB", "rgb.png", cv2.imencode(".png", crop)[1].tobytes())
    put("PNG gray", "gray.png", cv2.imencode(".png", crop[..., 1])[1].tobytes())
    put("PNG RGBA", "rgba.png", pil_bytes(Image.fromarray(np.dstack([crop[..., ::-1], crop[..., 0]])), "PNG"))
    put("PNG gray+alpha", "la.png", pil_bytes(Image.fromarray(np.dstack([crop[..., 1], crop[..., 2]]), "LA"), "PNG"))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=200)
    put("PNG palette", "palette.png", pil_bytes(pal, "PNG"))
    put("PNG palette with transparency", "palette_trns.png", pil_bytes(pal, "PNG", transparency=3))
    put("PNG gray with tRNS", "gray_trns.png", pil_bytes(Image.fromarray(crop[..., 1]), "PNG", transparency=77))
    for bits in (1, 2, 4):
        g = Image.fromarray(crop[..., 2]).convert("P", palette=Image.ADAPTIVE, colors=1 << bits)
        put(f"PNG {bits}-bit palette", f"pal{bits}.png", pil_bytes(g, "PNG", bits=bits))
    put("PNG 1-bit gray", "bit1.png", pil_bytes(Image.fromarray(crop[..., 0] > 128), "PNG"))
    put("PNG 16-bit RGB", "rgb16.png", cv2.imencode(".png", crop.astype(np.uint16) * 257 + rng.integers(0, 257, crop.shape).astype(np.uint16))[1].tobytes())
    put("PNG 16-bit gray", "gray16.png", cv2.imencode(".png", (crop[..., 0].astype(np.uint16) * 251))[1].tobytes())
    put("PNG 16-bit RGBA", "rgba16.png", cv2.imencode(".png", np.dstack([crop, crop[..., :1]]).astype(np.uint16) * 255)[1].tobytes())
    put("PNG Adam7 interlaced", "interlaced.png", png_adam7(np.ascontiguousarray(crop[..., ::-1])))
    png = cv2.imencode(".png", crop)[1].tobytes()
    put("PNG eXIf orientation 6 before IDAT", "exif6.png", png_insert(png, b"eXIf", orientation_exif(6)))
    put("PNG eXIf orientation 3 after IDAT", "exif3_end.png", png_insert(png, b"eXIf", orientation_exif(3), after_idat=True))
    put("PNG truncated", "truncated.png", png[:len(png) // 2])
    bad_crc = bytearray(png)
    bad_crc[40] ^= 0xff   # inside IDAT's data
    put("PNG corrupt image data", "corrupt.png", bytes(bad_crc))

    # ---- BMP
    put("BMP 24-bit (cv2)", "rgb24.bmp", cv2.imencode(".bmp", crop)[1].tobytes())
    put("BMP 8-bit gray (cv2)", "gray8.bmp", cv2.imencode(".bmp", crop[..., 0])[1].tobytes())
    put("BMP 8-bit palette (PIL)", "pal8.bmp", pil_bytes(pal, "BMP"))
    put("BMP 1-bit (PIL)", "bit1.bmp", pil_bytes(Image.fromarray(crop[..., 0] > 100), "BMP"))
    put("BMP 32-bit (PIL RGBA)", "rgba32.bmp", pil_bytes(Image.fromarray(np.dstack([crop[..., ::-1], crop[..., 0]])), "BMP"))
    sm = small
    rows24 = [sm[y].tobytes() for y in range(sm.shape[0])]
    put("BMP 24-bit top-down", "topdown.bmp", bmp(17, -13, 24, pad4(rows24)))
    put("BMP 24-bit OS/2 header", "os2.bmp", bmp(17, 13, 24, pad4(rows24[::-1]), header=12))
    put("BMP 24-bit with a V5 header", "v5.bmp", bmp(17, 13, 24, pad4(rows24[::-1]), header=124))
    rows32 = [np.dstack([sm[y:y + 1], sm[y:y + 1, :, :1]]).tobytes() for y in range(13)]
    put("BMP 32-bit BITFIELDS", "bitfields32.bmp", bmp(17, 13, 32, pad4(rows32[::-1]), compression=3,
                                                     masks=struct.pack("<III", 0xff0000, 0xff00, 0xff)))
    v = rng.integers(0, 1 << 16, (13, 17)).astype("<u2")
    rows16 = [v[y].tobytes() for y in range(13)]
    put("BMP 16-bit 555", "rgb555.bmp", bmp(17, 13, 16, pad4(rows16)))
    put("BMP 16-bit 565 BITFIELDS", "rgb565.bmp", bmp(17, 13, 16, pad4(rows16), compression=3,
                                                      masks=struct.pack("<III", 0xf800, 0x7e0, 0x1f)))
    put("BMP 16-bit other masks (refused as by OpenCV)", "rgb444.bmp", bmp(17, 13, 16, pad4(rows16), compression=3,
                                                                        masks=struct.pack("<III", 0xf00, 0xf0, 0xf)))
    idx4 = rng.integers(0, 16, (13, 18)).astype(np.uint8)
    rows4 = [bytes((idx4[y, 2 * i] << 4) | idx4[y, 2 * i + 1] for i in range(9)) for y in range(13)]
    palette16 = rng.integers(0, 256, (16, 4), np.uint8).tobytes()
    put("BMP 4-bit palette", "pal4.bmp", bmp(17, 13, 4, pad4(rows4), palette=palette16))
    put("BMP 4-bit, 5 palette colors used (others black)", "pal4_clrused.bmp",
        bmp(17, 13, 4, pad4(rows4), palette=palette16[:20], clrused=5))
    put("BMP 8-bit OS/2 palette", "os2_pal8.bmp",
        bmp(17, 13, 8, pad4([bytes(r) for r in rng.integers(0, 256, (13, 17), np.uint8)]),
            palette=rng.integers(0, 256, 256 * 3, np.uint8).tobytes(), header=12))
    pal256 = rng.integers(0, 256, (256, 4), np.uint8).tobytes()
    idx = rng.integers(0, 6, (13, 17)).astype(np.uint8)
    put("BMP RLE8 runs and end-of-lines", "rle8.bmp", bmp(17, 13, 8, rle8(idx), palette=pal256, compression=1))
    put("BMP RLE8 absolute blocks", "rle8_abs.bmp", bmp(17, 13, 8, rle8(idx, absolute=True), palette=pal256, compression=1))
    put("BMP RLE8 top-down", "rle8_topdown.bmp", bmp(17, -13, 8, rle8(idx, absolute=True), palette=pal256, compression=1))
    put("BMP RLE8 delta and early end of bitmap", "rle8_delta.bmp",
        bmp(17, 13, 8, b"\x03\x05\x00\x02\x04\x02\x02\x07\x00\x00\x05\x01\x00\x01", palette=pal256, compression=1))
    put("BMP RLE8 without its end (refused, as by OpenCV)", "rle8_cut.bmp",
        bmp(17, 13, 8, rle8(idx)[:-30], palette=pal256, compression=1))
    put("BMP RLE8 run past the row (refused, as by OpenCV)", "rle8_long.bmp",
        bmp(4, 2, 8, b"\x06\x01\x00\x01", palette=pal256, compression=1))
    idx16 = rng.integers(0, 16, (13, 17)).astype(np.uint8)
    put("BMP RLE4 runs, absolute blocks, end-of-lines", "rle4.bmp", bmp(17, 13, 4, rle4(idx16), palette=palette16, compression=2))
    put("BMP RLE4 delta, early end of bitmap", "rle4_delta.bmp",
        bmp(17, 2, 4, b"\x04\x12\x00\x02\x03\x00\x00\x01\x05\x34\x00\x01", palette=palette16, compression=2))
    put("BMP truncated rows", "truncated.bmp", cv2.imencode(".bmp", crop)[1].tobytes()[:3000])

    # ---- PNM
    put("PGM binary (cv2)", "gray.pgm", cv2.imencode(".pgm", crop[..., 0])[1].tobytes())
    put("PPM binary (cv2)", "rgb.ppm", cv2.imencode(".ppm", crop)[1].tobytes())
    put("PPM 16-bit binary (cv2)", "rgb16.ppm", cv2.imencode(".ppm", crop.astype(np.uint16) * 250)[1].tobytes())
    put("PGM text (cv2)", "gray_text.pgm", cv2.imencode(".pgm", sm[..., 0], [cv2.IMWRITE_PXM_BINARY, 0])[1].tobytes())
    put("PPM text (cv2)", "rgb_text.ppm", cv2.imencode(".ppm", sm, [cv2.IMWRITE_PXM_BINARY, 0])[1].tobytes())
    put("PGM text maxval 7 (scaled)", "max7.pgm", b"P2\n# comment\n4 2\n7\n0 1 2 3\n4 5 6 9\n")
    put("PGM binary maxval 100 (not scaled)", "max100.pgm", b"P5\n3 1\n100\n" + bytes([0, 50, 200]))
    put("PGM text 16-bit", "text16.pgm", b"P2\n3 1\n1000\n4 500 999\n")
    put("PBM text", "bits.pbm", b"P1\n5 2\n1 0 1 1 0\n00101\n")
    put("PBM binary", "bits_bin.pbm", b"P4\n10 2\n" + bytes([0b10110011, 0b01000000, 0b01010101, 0b11000000]))
    put("PGM truncated", "truncated.pgm", b"P5\n4 4\n255\n" + bytes(10))
    put("PGM text with a letter", "letter.pgm", b"P2\n2 1\n255\n1 x\n")

    # ---- WebP
    put("WebP lossy", "lossy.webp", cv2.imencode(".webp", crop, [cv2.IMWRITE_WEBP_QUALITY, 80])[1].tobytes())
    put("WebP lossless", "lossless.webp", cv2.imencode(".webp", crop, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes())
    rgba = Image.fromarray(np.dstack([crop[..., ::-1], crop[..., 0]]))
    put("WebP lossy with alpha", "alpha.webp", pil_bytes(rgba, "WEBP", quality=70))
    put("WebP lossless with alpha", "alpha_lossless.webp", pil_bytes(rgba, "WEBP", lossless=True))
    webp = cv2.imencode(".webp", crop, [cv2.IMWRITE_WEBP_QUALITY, 80])[1].tobytes()
    put("WebP truncated", "truncated.webp", webp[:len(webp) // 2])

    # ---- content decides, not the extension
    put("a PNG named .jpg", "png_named.jpg", cv2.imencode(".png", crop)[1].tobytes())
    put("a JPEG named .png", "jpeg_named.png", jpg)
    put("a BMP named .webp", "bmp_named.webp", cv2.imencode(".bmp", sm)[1].tobytes())
    put("a text file named .jpg", "text.jpg", b"hello, world\n")
    put("an empty .png", "empty.png", b"")
    put("a GIF named .jpg", "gif_named.jpg", pil_bytes(pal, "GIF"))
    return files
