#!/usr/bin/env python3
"""Cheap documentation checks run by `make test` (no Doxygen needed).

- Every relative link in the repository's Markdown files (README.md,
  docs/, sim/, ...) points at a file or directory of the repository, and
  every in-page link (#anchor) at a heading of the target page.
- No Markdown file or public header names a path outside the repository.
- Every function and function-pointer type declared in include/*.h has a
  doc comment (/** ... */) right before it.

Prints one PASS/FAIL line per check; exits 1 if any failed.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
os.chdir(ROOT)
failures = []


def fail(msg):
    failures.append(msg)


def tracked(pattern_ext):
    try:
        out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [os.path.relpath(os.path.join(d, f), ROOT) for d, _, fs in os.walk(ROOT)
               if "/." not in d and "/target" not in d and "/build" not in d for f in fs]
    return sorted(f for f in out if f.endswith(pattern_ext) and os.path.exists(f))


def slug(title):
    s = title.strip().lower()
    s = re.sub(r"[^a-z0-9 _-]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    result, fence = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            m = re.match(r"^#+\s+(.*?)\s*(\{#([^}]+)\})?\s*$", line)
            if m:
                result.add(m.group(3) or slug(m.group(1)))
    return result


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
markdown = tracked(".md")
for md in markdown:
    text = open(md, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(md), path)) if path else md
        if os.path.isabs(path) or not (dest == "." or not dest.startswith("..")):
            fail(f"{md}: link {target} leaves the repository")
            continue
        if not os.path.exists(dest):
            fail(f"{md}: link {target}: {dest} does not exist")
            continue
        if frag and dest.endswith(".md") and frag not in anchors(dest):
            fail(f"{md}: link {target}: no heading #{frag} in {dest}")
print(("PASS" if not failures else "FAIL") + f" docs: relative links in {len(markdown)} Markdown files")
n_links = len(failures)

OUTSIDE = re.compile(r"(\.\./shared\b|/work/|seed-header|ABI\.md|DESIGN\.md)")
headers = sorted(os.path.join("include", h) for h in os.listdir("include") if h.endswith(".h"))
for f in markdown + headers:
    for no, line in enumerate(open(f, encoding="utf-8"), 1):
        if OUTSIDE.search(line):
            fail(f"{f}:{no}: names a file outside the repository: {line.strip()}")
print(("PASS" if len(failures) == n_links else "FAIL") + " docs: no document names a file outside the repository")
n_outside = len(failures)

DECL = re.compile(r"^(?!typedef\b|extern\b|#|\s|/|\*|\}|static\b)[A-Za-z_][\w\s\*]*?\b(\w+)\s*\([^;{]*\)\s*;")
TYPEDEF_FN = re.compile(r"^typedef\b[^;]*\(\s*\*\s*(\w+)\s*\)\s*\(")
count = 0
for h in headers:
    lines = open(h, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        m = DECL.match(line) or TYPEDEF_FN.match(line)
        if not m:
            continue
        count += 1
        j = i - 1
        while j >= 0 and lines[j].strip() == "":
            j -= 1
        if j < 0 or not lines[j].rstrip().endswith("*/"):
            fail(f"{h}:{i + 1}: {m.group(1)} has no doc comment")
            continue
        k = j
        while k >= 0 and "/*" not in lines[k]:
            k -= 1
        if k < 0 or "/**" not in lines[k]:
            fail(f"{h}:{i + 1}: {m.group(1)}: the comment before it is not a doc comment (/** */)")
print(("PASS" if len(failures) == n_outside else "FAIL") + f" docs: {count} declarations in include/*.h have doc comments")

for f in failures:
    print("    " + f)
print(f"docs: {len(failures)} problems")
sys.exit(1 if failures else 0)
