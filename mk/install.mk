# Installation (issue 15): make install into a temporary prefix, then a
# program links through pkg-config against the installed libraft.so
# (raft.pc) and libraft.a (raft-static.pc) and runs both ways.
#
#   make test-install   (part of make test)

.PHONY: test-install
TEST_EXTRA += test-install

test-install: lib
	@CC="$(CC)" MAKE="$(MAKE)" c_tests/install/check.sh $(or $(BUILD),build)
