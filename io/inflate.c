/* DEFLATE decoder written from RFC 1951: canonical Huffman codes, decoded through a
 * 9-bit lookup table for the short codes and by walking the code lengths otherwise. */
#include "io/inflate.h"

#include <stdint.h>
#include <string.h>

enum { MAX_BITS = 15, MAX_LIT = 288, MAX_DIST = 32, FAST_BITS = 9 };

typedef struct Huff {
    uint16_t count[MAX_BITS + 1];   /* codes of each length */
    uint16_t sym[MAX_LIT];          /* symbols ordered by code */
    uint16_t fast[1 << FAST_BITS];  /* next FAST_BITS input bits -> sym | len << 12; 0: none */
} Huff;

typedef struct In {
    const unsigned char *p, *end;
    uint32_t bits;
    int nbits;
    unsigned char *out;
    size_t pos, len;
    const char *err;
} In;

static int need(In *s, int n)
{
    while (s->nbits < n) {
        if (s->p == s->end) {
            s->err = "compressed data ends early";
            return 0;
        }
        s->bits |= (uint32_t)*s->p++ << s->nbits;
        s->nbits += 8;
    }
    return 1;
}

/* n bits, least significant first; -1 at the end of input */
static int bits(In *s, int n)
{
    if (!need(s, n)) return -1;
    int v = (int)(s->bits & ((1u << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

/* Builds the decoding table; fails on an over-subscribed set of lengths. Incomplete
 * sets are allowed (a single distance code is legal); their unused codes fail when
 * met in decode(). */
static int build(Huff *h, const unsigned char *len, int n)
{
    uint16_t offs[MAX_BITS + 1];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[len[i]]++;
    int left = 1;
    for (int b = 1; b <= MAX_BITS; b++) {
        left = left * 2 - h->count[b];
        if (left < 0) return 0;
    }
    offs[1] = 0;
    for (int b = 1; b < MAX_BITS; b++) offs[b + 1] = (uint16_t)(offs[b] + h->count[b]);
    for (int i = 0; i < n; i++)
        if (len[i]) h->sym[offs[len[i]]++] = (uint16_t)i;

    /* Codes are sent most significant bit first, so the table is indexed by the
     * bit-reversed code, with every value of the bits that follow it. */
    memset(h->fast, 0, sizeof h->fast);
    int code = 0, k = 0;
    for (int b = 1; b <= FAST_BITS; b++) {
        for (int i = 0; i < h->count[b]; i++, code++, k++) {
            int rev = 0;
            for (int j = 0; j < b; j++) rev |= ((code >> j) & 1) << (b - 1 - j);
            for (int fill = rev; fill < 1 << FAST_BITS; fill += 1 << b)
                h->fast[fill] = (uint16_t)(h->sym[k] | b << 12);
        }
        code <<= 1;
    }
    return 1;
}

static int decode(In *s, const Huff *h)
{
    while (s->nbits < FAST_BITS && s->p < s->end) {
        s->bits |= (uint32_t)*s->p++ << s->nbits;
        s->nbits += 8;
    }
    /* Bits past the end of input read as 0; an entry is used only if it is shorter
     * than the bits actually present. */
    unsigned e = h->fast[s->bits & ((1u << FAST_BITS) - 1)];
    if (e && (int)(e >> 12) <= s->nbits) {
        s->bits >>= e >> 12;
        s->nbits -= (int)(e >> 12);
        return (int)(e & 0xfff);
    }
    int code = 0, first = 0, index = 0;
    for (int b = 1; b <= MAX_BITS; b++) {
        int bit = bits(s, 1);
        if (bit < 0) return -1;
        code |= bit;
        int count = h->count[b];
        if (code - first < count) return h->sym[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    s->err = "invalid Huffman code";
    return -1;
}

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                      35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
                                       193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                                       6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int codes(In *s, const Huff *lit, const Huff *dist)
{
    for (;;) {
        int sym = decode(s, lit);
        if (sym < 0) return 0;
        if (sym < 256) {
            if (s->pos == s->len) {
                s->err = "more data than declared";
                return 0;
            }
            s->out[s->pos++] = (unsigned char)sym;
        } else if (sym == 256) {
            return 1;
        } else {
            sym -= 257;
            if (sym >= 29) {
                s->err = "invalid length code";
                return 0;
            }
            int e = bits(s, len_extra[sym]);
            if (e < 0) return 0;
            size_t n = len_base[sym] + (size_t)e;
            int ds = decode(s, dist);
            if (ds < 0) return 0;
            if (ds >= 30) {
                s->err = "invalid distance code";
                return 0;
            }
            e = bits(s, dist_extra[ds]);
            if (e < 0) return 0;
            size_t d = dist_base[ds] + (size_t)e;
            if (d > s->pos) {
                s->err = "distance before the start of the data";
                return 0;
            }
            if (n > s->len - s->pos) {
                s->err = "more data than declared";
                return 0;
            }
            for (size_t i = 0; i < n; i++, s->pos++) s->out[s->pos] = s->out[s->pos - d];  /* may overlap */
        }
    }
}

static int stored(In *s)
{
    s->bits = 0;   /* skip to a byte boundary */
    s->nbits = 0;
    if (s->end - s->p < 4) {
        s->err = "compressed data ends early";
        return 0;
    }
    unsigned n = s->p[0] | s->p[1] << 8, nn = s->p[2] | s->p[3] << 8;
    s->p += 4;
    if (n != (~nn & 0xffffu)) {
        s->err = "corrupt stored block length";
        return 0;
    }
    if ((size_t)(s->end - s->p) < n) {
        s->err = "compressed data ends early";
        return 0;
    }
    if (n > s->len - s->pos) {
        s->err = "more data than declared";
        return 0;
    }
    memcpy(s->out + s->pos, s->p, n);
    s->p += n;
    s->pos += n;
    return 1;
}

static int fixed(In *s)
{
    /* Rebuilt per block: cheap next to the block, and no shared state between threads. */
    Huff lit, dist;
    unsigned char l[MAX_LIT];
    int i = 0;
    for (; i < 144; i++) l[i] = 8;
    for (; i < 256; i++) l[i] = 9;
    for (; i < 280; i++) l[i] = 7;
    for (; i < MAX_LIT; i++) l[i] = 8;
    build(&lit, l, MAX_LIT);
    memset(l, 5, MAX_DIST);
    build(&dist, l, MAX_DIST);
    return codes(s, &lit, &dist);
}

static int dynamic(In *s)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    int nlit = bits(s, 5), ndist = bits(s, 5), ncode = bits(s, 4);
    if (nlit < 0 || ndist < 0 || ncode < 0) return 0;
    nlit += 257;
    ndist += 1;
    ncode += 4;
    if (nlit > 286 || ndist > 30) {
        s->err = "too many length or distance codes";
        return 0;
    }
    unsigned char len[MAX_LIT + MAX_DIST] = {0};
    for (int i = 0; i < ncode; i++) {
        int v = bits(s, 3);
        if (v < 0) return 0;
        len[order[i]] = (unsigned char)v;
    }
    Huff lencode, lit, dist;
    if (!build(&lencode, len, 19)) {
        s->err = "invalid code-length code";
        return 0;
    }
    memset(len, 0, sizeof len);
    for (int i = 0; i < nlit + ndist;) {
        int sym = decode(s, &lencode);
        if (sym < 0) return 0;
        if (sym < 16) {
            len[i++] = (unsigned char)sym;
            continue;
        }
        int rep, val = 0;
        if (sym == 16) {
            if (i == 0) {
                s->err = "repeat with no previous length";
                return 0;
            }
            val = len[i - 1];
            rep = bits(s, 2);
            if (rep >= 0) rep += 3;
        } else if (sym == 17) {
            rep = bits(s, 3);
            if (rep >= 0) rep += 3;
        } else {
            rep = bits(s, 7);
            if (rep >= 0) rep += 11;
        }
        if (rep < 0) return 0;
        if (i + rep > nlit + ndist) {
            s->err = "too many code lengths";
            return 0;
        }
        while (rep--) len[i++] = (unsigned char)val;
    }
    if (len[256] == 0) {
        s->err = "no end-of-block code";
        return 0;
    }
    if (!build(&lit, len, nlit) || !build(&dist, len + nlit, ndist)) {
        s->err = "invalid Huffman code lengths";
        return 0;
    }
    return codes(s, &lit, &dist);
}

const char *bcl_inflate(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len)
{
    In s = {.p = in, .end = in + in_len, .out = out, .len = out_len};
    int last;
    do {
        last = bits(&s, 1);
        int type = bits(&s, 2);
        if (last < 0 || type < 0) return s.err;
        int ok = type == 0 ? stored(&s) : type == 1 ? fixed(&s) : type == 2 ? dynamic(&s) : 0;
        if (!ok) return s.err ? s.err : "invalid block type";
    } while (!last);
    if (s.pos != s.len) return "less data than declared";
    return NULL;
}
