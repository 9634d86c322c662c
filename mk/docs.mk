# Documentation (issue 15).
#
#   make docs        the API reference with Doxygen (include/*.h, the front
#                    page docs/mainpage.md, the guide docs/guide.md and the
#                    store and wire formats) into build/docs/html; fails on
#                    any Doxygen warning
#                    (build/docs/warnings.log)
#   make test-docs   (part of make test, no Doxygen needed) relative links of
#                    every Markdown file resolve inside the repository, no
#                    document names a file outside it, and every function and
#                    callback type of include/*.h has a doc comment

DOXYGEN   ?= doxygen
DOCS_DIR  := $(or $(BUILD),build)/docs
PYTHON3   ?= python3

.PHONY: docs test-docs
TEST_EXTRA += test-docs

docs:
	@command -v $(DOXYGEN) >/dev/null 2>&1 || { \
	    echo "make docs needs Doxygen (e.g. apt-get install doxygen)"; exit 1; }
	@rm -rf $(DOCS_DIR) && mkdir -p $(DOCS_DIR)
	$(DOXYGEN) Doxyfile
	@if [ -s $(DOCS_DIR)/warnings.log ]; then \
	    cat $(DOCS_DIR)/warnings.log; echo "make docs: Doxygen warnings (above)"; exit 1; fi
	@echo "API reference: $(DOCS_DIR)/html/index.html"

test-docs:
	@$(PYTHON3) c_tests/docs/check_docs.py
