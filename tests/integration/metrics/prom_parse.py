#!/usr/bin/env python3
"""An independent, strict parser of the Prometheus text exposition format 0.0.4.

Written from the format's description, not from ferry's code, so a bug in ferry's
exporter cannot hide behind the same bug here. Every line must be a HELP, a TYPE,
a sample or empty; label values must be correctly escaped; every sample must
belong to the family whose HELP/TYPE came last (families are contiguous); no
family is declared twice and no series (name + label set) appears twice.

Usage: prom_parse.py FILE [QUERY...]
  Parses FILE (exit 1 with "line N: ..." on the first error) and prints one JSON
  object: {"families": {name: {"type", "help", "samples": [[labels, value], ...]}}}
"""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"


class ParseError(Exception):
    pass


def unescape(s, allowed):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s):
                raise ParseError("dangling backslash")
            n = s[i + 1]
            if n not in allowed:
                raise ParseError(f"bad escape \\{n}")
            out.append({"\\": "\\", "n": "\n", '"': '"'}[n])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(s, pos):
    """s[pos] == '{'; returns (dict, index after '}')."""
    labels = {}
    i = pos + 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(LABEL).match(s, i)
        if not m:
            raise ParseError(f"bad label name at column {i + 1}")
        name = m.group(0)
        i = m.end()
        if s[i : i + 2] != '="':
            raise ParseError(f"expected =\" after label {name}")
        i += 2
        j = i
        while j < len(s) and s[j] != '"':
            if s[j] == "\n":
                raise ParseError("raw newline in label value")
            j += 2 if s[j] == "\\" else 1
        if j >= len(s):
            raise ParseError("unterminated label value")
        if name in labels:
            raise ParseError(f"label {name} repeated")
        labels[name] = unescape(s[i:j], '\\n"')
        i = j + 1
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            raise ParseError(f"expected , or }} at column {i + 1}")


def parse_value(v):
    if v in ("+Inf", "Inf"):
        return math.inf
    if v == "-Inf":
        return -math.inf
    if v == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v):
        raise ParseError(f"bad value {v!r}")
    return float(v)


def parse(text):
    if text and not text.endswith("\n"):
        raise ParseError("last line has no newline")
    fams, seen_series = {}, set()
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line == "":
                continue
            if line.startswith("#"):
                m = re.fullmatch(r"# (HELP|TYPE) (" + NAME + r") (.*)", line)
                if not m:
                    if line.startswith("# HELP") or line.startswith("# TYPE"):
                        raise ParseError("malformed HELP/TYPE line")
                    continue  # a plain comment
                kind, name, rest = m.groups()
                if name != current:
                    if name in fams:
                        raise ParseError(f"family {name} declared twice (not contiguous)")
                    fams[name] = {"type": None, "help": None, "samples": []}
                    current = name
                f = fams[name]
                if kind == "HELP":
                    if f["help"] is not None:
                        raise ParseError(f"second HELP for {name}")
                    f["help"] = unescape(rest, "\\n")
                else:
                    if f["type"] is not None or f["samples"]:
                        raise ParseError(f"TYPE for {name} after samples or repeated")
                    if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                        raise ParseError(f"bad type {rest}")
                    f["type"] = rest
                continue
            m = re.compile(NAME).match(line)
            if not m:
                raise ParseError("bad metric name")
            name, i = m.group(0), m.end()
            labels = {}
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line, i)
            if i >= len(line) or line[i] != " ":
                raise ParseError("expected a space before the value")
            parts = line[i + 1 :].split(" ")
            if len(parts) not in (1, 2):
                raise ParseError("trailing garbage")
            value = parse_value(parts[0])
            if len(parts) == 2 and not re.fullmatch(r"-?\d+", parts[1]):
                raise ParseError("bad timestamp")
            if name != current:
                raise ParseError(f"sample of {name} outside its family ({current})")
            f = fams[name]
            if f["type"] is None:
                raise ParseError(f"sample of {name} before its TYPE")
            if f["type"] == "counter" and not name.endswith("_total"):
                raise ParseError(f"counter {name} does not end in _total")
            if f["type"] == "counter" and (value < 0 or math.isnan(value)):
                raise ParseError(f"counter {name} has value {value}")
            key = (name, tuple(sorted(labels.items())))
            if key in seen_series:
                raise ParseError(f"series {key} repeated")
            seen_series.add(key)
            f["samples"].append([labels, value])
        except ParseError as e:
            raise ParseError(f"line {n}: {e}: {line!r}") from None
    for name, f in fams.items():
        if f["type"] is None or f["help"] is None:
            raise ParseError(f"family {name} lacks HELP or TYPE")
    return fams


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        text = fh.read()
    try:
        fams = parse(text)
    except ParseError as e:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump({"families": fams}, sys.stdout)


if __name__ == "__main__":
    main()
