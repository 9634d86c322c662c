/* Entries: allocation, reference counting, free_func, hand-built entries. */
#include <stdint.h>
#include "raft.h"
#include "test.h"

static int freed_count;
static raft_entry_t *freed_last;

/* A free_func must free the block itself; it replaces raft_free. */
static void count_free(raft_entry_t *e)
{
    freed_count++;
    freed_last = e;
    free(e);
}

/* Counting heap hooks, so a test can tell raft_free was not used. */
static int heap_frees;
static void *h_malloc(size_t n) { return malloc(n); }
static void *h_calloc(size_t a, size_t b) { return calloc(a, b); }
static void *h_realloc(void *p, size_t n) { return realloc(p, n); }
static void h_free(void *p) { if (p) heap_frees++; free(p); }

TEST(entry_new_is_zero_filled_with_one_reference)
{
    raft_entry_t *e = raft_entry_new(64);
    ASSERT(e != NULL);
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, e->term);
    ASSERT_EQ(0, e->id);
    ASSERT_EQ(0, e->type);
    ASSERT_PTR_EQ(NULL, e->user_data);
    ASSERT(e->free_func == NULL);
    ASSERT_EQ(64, e->data_len);
    for (int i = 0; i < 64; i++)
        ASSERT_EQ(0, e->data[i]);
    raft_entry_release(e);
}

/* Entries of a page or more come from raft_calloc rather than being
 * cleared by the library: still zero, also in a block reused after a
 * release (filled first, so that a skipped clear would show). */
TEST(entry_new_big_entries_are_zero_filled_also_when_reused)
{
    unsigned sizes[] = {4000, 4096, 5000, 16384, 1u << 20};
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (int round = 0; round < 3; round++) {
            raft_entry_t *e = raft_entry_new(sizes[k]);
            ASSERT(e != NULL);
            ASSERT_EQ(1, e->refs);
            ASSERT_EQ(0, e->term);
            ASSERT_EQ(0, e->type);
            ASSERT(e->free_func == NULL);
            ASSERT_EQ(sizes[k], e->data_len);
            for (unsigned i = 0; i < sizes[k]; i++)
                if (e->data[i] != 0)
                    FAIL_AT("size %u round %d: data[%u] = %d", sizes[k], round, i, e->data[i]);
            memset(e->data, 0xff, sizes[k]);
            e->term = 5;
            raft_entry_release(e);
        }
    }
}

TEST(entry_new_with_no_data_is_valid)
{
    raft_entry_t *e = raft_entry_new(0);
    ASSERT(e != NULL);
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, e->data_len);
    raft_entry_release(e);
}

TEST(entry_data_is_writable_up_to_its_length)
{
    raft_entry_t *e = raft_entry_new(5);
    ASSERT(e != NULL);
    memcpy(e->data, "hello", 5);
    e->term = 3;
    e->id = 42;
    e->type = RAFT_LOGTYPE_NORMAL;
    ASSERT_EQ(0, memcmp(e->data, "hello", 5));
    ASSERT_EQ(3, e->term);
    ASSERT_EQ(42, e->id);
    raft_entry_release(e);
}

TEST(entry_hold_and_release_count_references)
{
    raft_entry_t *e = raft_entry_new(1);
    e->free_func = count_free;
    raft_entry_hold(e);
    ASSERT_EQ(2, e->refs);
    raft_entry_hold(e);
    ASSERT_EQ(3, e->refs);
    raft_entry_release(e);
    ASSERT_EQ(2, e->refs);
    raft_entry_release(e);
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, freed_count);
    raft_entry_release(e);
    ASSERT_EQ(1, freed_count);
    ASSERT_PTR_EQ(e, freed_last);
}

/* A count at its maximum stays there (the entry leaks rather than being
 * freed while in use), and a release of a count already at zero is ignored:
 * neither frees. */
TEST(entry_release_never_frees_a_saturated_or_released_entry)
{
    raft_entry_t *e = raft_entry_new(4);
    e->free_func = count_free;
    e->refs = 65535;
    raft_entry_release(e);
    ASSERT_EQ(65535, e->refs);
    raft_entry_hold(e);
    ASSERT_EQ(65535, e->refs);
    e->refs = 0;
    raft_entry_release(e);
    ASSERT_EQ(0, e->refs);
    ASSERT_EQ(0, freed_count);
    e->refs = 2;
    raft_entry_release(e);
    ASSERT_EQ(1, e->refs);
    ASSERT_EQ(0, freed_count);
    raft_entry_release(e);
    ASSERT_EQ(1, freed_count);
}

TEST(entry_is_freed_when_the_last_reference_goes)
{
    raft_entry_t *e = raft_entry_new(8);
    e->free_func = count_free;
    raft_entry_release(e);
    ASSERT_EQ(1, freed_count);
}

TEST(entry_free_func_is_called_instead_of_raft_free)
{
    raft_set_heap_functions(h_malloc, h_calloc, h_realloc, h_free);
    raft_entry_t *e = raft_entry_new(16);
    e->free_func = count_free;
    heap_frees = 0;
    raft_entry_release(e);
    ASSERT_EQ(1, freed_count);
    ASSERT_EQ(0, heap_frees);
}

TEST(entry_without_free_func_goes_to_raft_free)
{
    raft_set_heap_functions(h_malloc, h_calloc, h_realloc, h_free);
    raft_entry_t *e = raft_entry_new(16);
    heap_frees = 0;
    raft_entry_release(e);
    ASSERT_EQ(1, heap_frees);
}

TEST(entry_release_list_releases_each_element_but_not_the_array)
{
    raft_entry_t *list[3];
    for (int i = 0; i < 3; i++) {
        list[i] = raft_entry_new(4);
        list[i]->free_func = count_free;
        raft_entry_hold(list[i]);
    }
    raft_entry_release_list(list, 3);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(1, list[i]->refs);
    ASSERT_EQ(0, freed_count);
    raft_entry_release_list(list, 3);
    ASSERT_EQ(3, freed_count);
}

TEST(entry_release_list_of_zero_length_does_nothing)
{
    raft_entry_t *e = raft_entry_new(4);
    raft_entry_release_list(&e, 0);
    ASSERT_EQ(1, e->refs);
    raft_entry_release(e);
}

/* Built by hand in one malloc'd block, refs set by hand: the library must
 * accept it, and without a free_func free it through raft_free (libc's
 * free by default). Valgrind checks the pairing. */
static raft_entry_t *hand_entry(const char *s)
{
    size_t n = strlen(s);
    raft_entry_t *e = malloc(sizeof(*e) + n);
    memset(e, 0, sizeof(*e));
    e->refs = 1;
    e->data_len = (unsigned int)n;
    memcpy(e->data, s, n);
    return e;
}

TEST(entry_built_by_hand_with_malloc_is_freed_by_release)
{
    raft_entry_t *e = hand_entry("by hand");
    raft_entry_hold(e);
    ASSERT_EQ(2, e->refs);
    raft_entry_release(e);
    raft_entry_release(e);
}

TEST(entry_refs_set_directly_are_honoured)
{
    raft_entry_t *e = raft_entry_new(2);
    e->free_func = count_free;
    e->refs = 3;
    raft_entry_release(e);
    raft_entry_release(e);
    ASSERT_EQ(0, freed_count);
    raft_entry_release(e);
    ASSERT_EQ(1, freed_count);
}

TEST(entry_built_by_hand_can_be_appended_to_a_server_log)
{
    raft_server_t *r = raft_new();
    raft_entry_t *e = hand_entry("in the log");
    e->term = 1;
    ASSERT_EQ(0, raft_append_entry(r, e));
    raft_entry_release(e);
    ASSERT_EQ(1, raft_get_current_idx(r));
    raft_entry_t *got = raft_get_entry_from_idx(r, 1);
    ASSERT_PTR_EQ(e, got);
    ASSERT_EQ(0, memcmp(got->data, "in the log", 10));
    raft_entry_release(got);
    raft_destroy(r); /* frees e through raft_free == free */
}

TEST(entry_appended_to_a_log_is_held_by_the_log)
{
    raft_server_t *r = raft_new();
    raft_entry_t *e = raft_entry_new(0);
    e->term = 1;
    e->free_func = count_free;
    ASSERT_EQ(0, raft_append_entry(r, e));
    ASSERT(e->refs >= 2);
    raft_entry_release(e);
    ASSERT_EQ(0, freed_count);
    raft_destroy(r);
    ASSERT_EQ(1, freed_count);
}

TEST(entry_config_change_types_are_recognised)
{
    raft_entry_t *e = raft_entry_new(0);
    e->type = RAFT_LOGTYPE_NORMAL;
    ASSERT_EQ(0, raft_entry_is_cfg_change(e));
    ASSERT_EQ(0, raft_entry_is_voting_cfg_change(e));
    e->type = RAFT_LOGTYPE_NO_OP;
    ASSERT_EQ(0, raft_entry_is_cfg_change(e));
    ASSERT_EQ(0, raft_entry_is_voting_cfg_change(e));
    e->type = RAFT_LOGTYPE_ADD_NODE;
    ASSERT(raft_entry_is_cfg_change(e));
    ASSERT(raft_entry_is_voting_cfg_change(e));
    e->type = RAFT_LOGTYPE_REMOVE_NODE;
    ASSERT(raft_entry_is_cfg_change(e));
    ASSERT(raft_entry_is_voting_cfg_change(e));
    /* Adding a non-voting node changes the configuration but not the set
     * of voters. */
    e->type = RAFT_LOGTYPE_ADD_NONVOTING_NODE;
    ASSERT(raft_entry_is_cfg_change(e));
    ASSERT_EQ(0, raft_entry_is_voting_cfg_change(e));
    e->type = RAFT_LOGTYPE_NUM + 1;
    ASSERT_EQ(0, raft_entry_is_cfg_change(e));
    raft_entry_release(e);
}

TEST_MAIN()
