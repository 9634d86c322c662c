// raft.h compiled as C++ gives raft_entry_t the same size, alignment and
// data offset as in C (layout_c.c), and an entry made by the library can be
// used from C++ through its data member. Built by check.sh for each C++
// standard and linked against the static library.
#include <cstddef>
#include <cstdio>
#include <cstring>
#include "raft.h"

extern "C" size_t c_entry_size(void);
extern "C" size_t c_entry_align(void);
extern "C" size_t c_entry_data_offset(void);

int main()
{
    int failed = 0;
    if (sizeof(raft_entry_t) != c_entry_size()) {
        std::printf("sizeof(raft_entry_t): C++ %zu, C %zu\n", sizeof(raft_entry_t), c_entry_size());
        failed = 1;
    }
    if (alignof(raft_entry_t) != c_entry_align()) {
        std::printf("alignof(raft_entry_t): C++ %zu, C %zu\n", alignof(raft_entry_t), c_entry_align());
        failed = 1;
    }
    if (offsetof(raft_entry_t, data) != c_entry_data_offset()) {
        std::printf("offsetof(raft_entry_t, data): C++ %zu, C %zu\n",
                    offsetof(raft_entry_t, data), c_entry_data_offset());
        failed = 1;
    }
    raft_entry_t *e = raft_entry_new(6);
    if (e == nullptr || e->data_len != 6 || e->refs != 1) {
        std::printf("raft_entry_new(6) from C++\n");
        return 1;
    }
    std::memcpy(e->data, "hello", 6);
    if (std::strcmp(e->data, "hello") != 0) {
        std::printf("entry data written from C++ reads back wrong\n");
        failed = 1;
    }
    raft_entry_release(e);
    return failed;
}
