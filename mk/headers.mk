# Public headers (issue 15): every include/*.h compiles cleanly as C99 and
# C11 with -pedantic and as C++11 to C++20 with -pedantic, warnings as
# errors, and raft_entry_t has the same layout in C and C++.
#
#   make test-headers   (part of make test)

.PHONY: test-headers
TEST_EXTRA += test-headers

test-headers: $(or $(LIBRAFT_A),build/libraft.a)
	@CC="$(CC)" CXX="$(CXX)" c_tests/headers/check.sh $(or $(BUILD),build) \
	    $(or $(LIBRAFT_A),build/libraft.a) "$(NATIVE_LIBS)"
