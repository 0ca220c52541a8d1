#!/usr/bin/env python3
"""Every configuration key the parser accepts is documented.

The parser accepts exactly the keys listed in its TableReader constructors
(src/config/parse*.cpp: a TableReader rejects every key not in its list), so
those lists are read from the source. Each key must appear as a word inside a
`code span` of the schema (examples/README.md), and, when a generated
ferry.toml(5) is given, in that man page too.

Usage: check-config-docs.py REPO [MAN_PAGE]
"""
import re
import sys

repo = sys.argv[1]
import glob
src = "".join(open(f, encoding="utf-8").read() for f in sorted(glob.glob(f"{repo}/src/config/parse*.cpp")))
keys = set()
for m in re.finditer(r"TableReader\s*\w*\(\s*ctx\s*,[^;{]*\{([^}]*)\}", src, re.S):
    keys.update(re.findall(r'"([a-z0-9-]+)"', m.group(1)))
if len(keys) < 50:
    sys.exit(f"found only {len(keys)} keys in parse.cpp; has the TableReader pattern changed?")

readme = open(f"{repo}/examples/README.md", encoding="utf-8").read()
schema = readme[readme.index("## Schema"):]
spans = " ".join(re.findall(r"`([^`]+)`", schema))
words = set(re.findall(r"[a-z0-9-]+", spans))
missing = sorted(k for k in keys if k not in words)
if missing:
    sys.exit(f"keys accepted by the parser but not documented in examples/README.md: {missing}")

if len(sys.argv) > 2:
    man = open(sys.argv[2], encoding="utf-8").read().replace("\\-", "-")
    man_words = set(re.findall(r"[a-z0-9-]+", man))
    missing = sorted(k for k in keys if k not in man_words)
    if missing:
        sys.exit(f"keys missing from {sys.argv[2]}: {missing}")
print(f"{len(keys)} configuration keys, all documented")
