/* The layout of raft_entry_t as a C compiler sees it, for check.sh to
 * compare with a C++ compiler's view (layout_cxx.cpp). */
#include <stddef.h>
#include "raft.h"

size_t c_entry_size(void);
size_t c_entry_align(void);
size_t c_entry_data_offset(void);

size_t c_entry_size(void) { return sizeof(raft_entry_t); }
size_t c_entry_data_offset(void) { return offsetof(raft_entry_t, data); }
size_t c_entry_align(void) { return _Alignof(raft_entry_t); }
