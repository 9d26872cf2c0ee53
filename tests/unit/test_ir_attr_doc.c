/* The attribute table in docs/internals/ir.md agrees with ops.def's ATTRS column:
 * every op the table names exists and lists exactly its attribute keys, in print
 * order, and every op with attributes is in the table. Runs from the source root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static char *trim(char *s)
{
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n')) s[--n] = '\0';
    return s;
}

/* The keys of an op's ATTRS bits in print (bit) order, joined by ", ". */
static void keys_of(unsigned attrs, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < IR_N_ATTR_KEYS; i++) {
        if (!(attrs >> i & 1u)) continue;
        if (buf[0]) strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, ir_attr_key(1u << i), n - strlen(buf) - 1);
    }
}

static void test_attr_keys_round_trip(void **st)
{
    (void)st;
    for (int i = 0; i < IR_N_ATTR_KEYS; i++) {
        const char *k = ir_attr_key(1u << i);
        assert_non_null(k);
        assert_int_equal(ir_attr_by_key(k), 1u << i);
    }
    assert_null(ir_attr_key(1u << IR_N_ATTR_KEYS));
    assert_int_equal(ir_attr_by_key("act"), 0);   /* any node's, not an op's column */
    for (int op = 0; op < IR_OP_COUNT; op++)
        assert_int_equal(ir_op_info[op].attrs >> IR_N_ATTR_KEYS, 0);
}

static void test_doc_table_matches_ops_def(void **st)
{
    (void)st;
    FILE *f = fopen("docs/internals/ir.md", "r");
    assert_non_null(f);
    char line[512];
    bool in_table = false, seen[IR_OP_COUNT] = {false};
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!in_table) {
            if (strcmp(s, "| op | attrs |") == 0) in_table = true;
            continue;
        }
        if (s[0] != '|') break;
        if (strncmp(s, "| ---", 5) == 0) continue;
        /* "| a, b | k1, k2 |" */
        char *ops = s + 1, *bar = strchr(ops, '|');
        if (!bar) fail_msg("table row without two cells: %s", s);
        *bar = '\0';
        char *keys = bar + 1, *end = strchr(keys, '|');
        if (!end) fail_msg("table row without two cells: %s", s);
        *end = '\0';
        keys = trim(keys);
        rows++;
        for (char *save = NULL, *name = strtok_r(ops, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
            name = trim(name);
            int op = ir_op_by_name(name);
            if (op < 0) fail_msg("docs/internals/ir.md names an unknown op '%s'", name);
            if (seen[op]) fail_msg("docs/internals/ir.md lists '%s' twice", name);
            seen[op] = true;
            char want[256];
            keys_of(ir_op_info[op].attrs, want, sizeof want);
            if (strcmp(want, keys) != 0)
                fail_msg("%s: docs/internals/ir.md says '%s', ops.def says '%s'", name, keys, want);
        }
    }
    fclose(f);
    assert_true(in_table);
    assert_true(rows > 0);
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (ir_op_info[op].attrs && !seen[op])
            fail_msg("%s has attributes in ops.def but no row in docs/internals/ir.md", ir_op_info[op].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr_keys_round_trip),
        cmocka_unit_test(test_doc_table_matches_ops_def),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
