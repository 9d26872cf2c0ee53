/* Raw DEFLATE through zlib (the library every LLVM build links already): bclc's own
 * decoder was 2x slower. What stays here is the strict contract of inflate.h: the
 * stream must produce exactly out_len bytes and end, and every failure is a short
 * reason for the located diagnostic of the archive reader. */
#include "io/inflate.h"

#include <limits.h>
#include <stdbool.h>
#include <zlib.h>

/* zlib counts in uInt: feed large buffers in pieces it can describe. */
static uInt piece(size_t left) { return left > UINT_MAX ? UINT_MAX : (uInt)left; }

const char *bcl_inflate(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len)
{
    z_stream z = {0};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return "out of memory";   /* raw: no zlib header */
    size_t in_left = in_len, out_left = out_len;
    const char *err = NULL;
    z.next_in = (Bytef *)in;
    z.next_out = out;
    for (;;) {
        if (z.avail_in == 0) {
            z.avail_in = piece(in_left);
            in_left -= z.avail_in;
        }
        if (z.avail_out == 0) {
            z.avail_out = piece(out_left);
            out_left -= z.avail_out;
        }
        int r = inflate(&z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            if (z.avail_out != 0 || out_left != 0) err = "less data than declared";
            break;
        }
        if (r == Z_DATA_ERROR || r == Z_MEM_ERROR) {
            err = r == Z_MEM_ERROR ? "out of memory" : z.msg ? z.msg : "corrupt compressed data";
            break;
        }
        if (z.avail_out == 0 && out_left == 0) {
            /* the buffer is full and the stream has not ended: one byte more tells
             * "more data" (it decodes to something) from "ends early" (input gone) */
            unsigned char extra;
            z.next_out = &extra;
            z.avail_out = 1;
            if (z.avail_in == 0) {
                z.avail_in = piece(in_left);
                in_left -= z.avail_in;
            }
            r = inflate(&z, Z_NO_FLUSH);
            if (r == Z_STREAM_END && z.avail_out == 1) break;   /* only the end marker was left */
            if (r == Z_DATA_ERROR) err = z.msg ? z.msg : "corrupt compressed data";
            else if (z.avail_out == 0) err = "more data than declared";
            else err = "compressed data ends early";
            break;
        }
        if (z.avail_in == 0 && in_left == 0 && z.avail_out != 0) {
            err = "compressed data ends early";   /* all input read, room left, no end */
            break;
        }
    }
    inflateEnd(&z);
    return err;
}
