/* Raw DEFLATE (RFC 1951) decompression into a buffer of known size, for the
 * compressed entries of .npz archives (np.savez_compressed). */
#ifndef BCL_INFLATE_H
#define BCL_INFLATE_H
#include <stddef.h>

/* Decompresses in[0..in_len) into out, which must come out exactly out_len bytes
 * long. Returns NULL on success, else a short reason (corrupt stream, too much or too
 * little output). Never reads or writes outside the two buffers. */
const char *bcl_inflate(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len);

#endif
