#!/bin/sh
# Doxygen input filter for the Markdown pages (see Doxyfile): gives each
# "## Heading" the anchor GitHub derives from it ({#heading}), so the
# pages' in-page links work in the HTML too, and turns links to files of
# the repository ([text](../path)) into plain text, since the HTML
# reference does not contain those files.
awk '
/^```/ { fence = !fence }
!fence && /^##+ / && !/\{#[^}]*\}[[:space:]]*$/ {
    title = $0; sub(/^#+ +/, "", title)
    slug = tolower(title)
    gsub(/[^a-z0-9 _-]/, "", slug)
    gsub(/ /, "-", slug)
    print $0 " {#" slug "}"
    next
}
!fence {
    line = $0
    out = ""
    while (match(line, /\[[^]]*\]\(\.\.\/[^)]*\)/)) {
        link = substr(line, RSTART, RLENGTH)
        text = link; sub(/\]\(.*$/, "", text); sub(/^\[/, "", text)
        out = out substr(line, 1, RSTART - 1) text
        line = substr(line, RSTART + RLENGTH)
    }
    print out line
    next
}
{ print }
' "$1"
