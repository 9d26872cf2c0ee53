/* The restricted unpickler on hand-written pickles: numpy arrays in protocols 2 and 5,
 * torch-style views, and every way a hostile stream is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/checkpoint.h"
#include "io/pickle.h"
#include "tests/unit/test_support.h"

#define P(s) (const unsigned char *)(s), sizeof(s) - 1

/* {'a': np.array([1.5, -2], np.float32)} as pickle protocol 2 writes it (via
 * _codecs.encode of a latin-1 str) */
static const char proto2_array[] =
    "\200\002}q\000X\001\000\000\000aq\001cnumpy.core.multiarray\012_reconstruct\012q\002cnumpy\012ndarray\012q\003K\000\205q\004c_codecs\012encode\012q\005X\001\000\000\000bq\006X\006\000\000\000latin1q\007\206q\010Rq\011\207q\012Rq\013(K\001K\002\205q\014cnumpy\012dtype\012q\015X\002\000\000\000f4q\016\211\210\207q\017Rq\020(K\003X\001\000\000\000<q\021NNNJ\377\377\377\377J\377\377\377\377K\000tq\022b\211h\005X\012\000\000\000\000\000\303\200\077\000\000\000\303\200q\023h\007\206q\024Rq\025tq\026bs.";

static void test_numpy_protocol2(void **state)
{
    Cap c;
    cap_init(&c);
    StFile f;
    /* 1.5f = 00 00 c0 3f, -2.0f = 00 00 00 c0; bytes >= 0x80 are UTF-8 encoded in the str */
    int rc = ckpt_read_pickle("a.pkl", P(proto2_array), &f, &c.d);
    assert_int_equal(rc, 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.t[0].name, "a");
    assert_int_equal(f.t[0].shape.rank, 1);
    assert_int_equal(f.t[0].shape.d[0], 2);
    assert_true(f.t[0].data[0] == 1.5f && f.t[0].data[1] == -2.0f);
    st_free(&f);
    cap_free(&c);
}

static void refused(const unsigned char *buf, size_t len, const char *expect)
{
    Cap c;
    cap_init(&c);
    StFile f;
    assert_int_not_equal(ckpt_read_pickle("bad.pkl", buf, len, &f, &c.d), 0);
    assert_int_equal(f.n, 0);
    assert_contains(cap_text(&c), "bad.pkl: error: ");
    assert_contains(cap_text(&c), expect);
    cap_free(&c);
}

static void test_hostile(void **state)
{
    refused(P("\200\002cposix\012system\012X\002\000\000\000ls\205R."), "global 'posix.system' is not allowed");
    refused(P("\200\004\214\010builtins\214\004eval\223."), "global 'builtins.eval' is not allowed");
    refused(P("\200\002}r\377\377\377\377."), "memo index 4294967295 exceeds");
    refused(P("\200\002h\005."), "memo index 5 was never stored");
    refused(P("\200\004\215\000\000\000\000\000\000\000@ab"), "truncated");
    refused(P("\200\002(i__main__\012X\012."), "opcode INST");
    refused(P("\200\0020."), "stack underflow");
    refused(P("\200\001}."), "protocol 1 is not supported");
    refused(P("\200\002}"), "truncated");
    refused(P("\200\002]."), "a list, not a state dict");
    refused(P("\200\002}X\001\000\000\000aK\001s."), "holds no tensors");
    /* a reduce of an allowed global with the wrong arguments */
    refused(P("\200\002c_codecs\012encode\012K\001\205R."), "_codecs.encode: only (str, 'latin1')");
    /* a persistent id that is not a torch storage */
    refused(P("\200\002X\001\000\000\000xQ."), "persistent id");
}

static void test_storage_bounds(void **state)
{
    /* a torch tensor over a storage in a plain pickle (neither a zip archive nor the
     * legacy format): there is nowhere its data could come from */
    refused(P("\200\002}X\001\000\000\000wctorch._utils\012_rebuild_tensor_v2\012((X\007\000\000\000storagectorch\012FloatStorage\012X\001\000\000\0000X\003\000\000\000cpuK\004tQK\002K\003\205K\001\205\211}tRs."),
            "torch storages but no storage data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_protocol2),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_storage_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
