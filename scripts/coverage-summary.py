#!/usr/bin/env python3
"""Summarise a Cobertura report for one source tree: coverable and covered lines in total, per
directory and per file, sorted by path so that two runs line up row for row.

usage: coverage-summary.py REPORT.xml SOURCE_DIR   (SOURCE_DIR relative to the repository root)
"""
import os
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def line_hits(report, root_dir, source_dir):
    """{file relative to source_dir: {line number: hits}}, and the number of lines in generated
    files (obj/: the LibraryImport stubs), which are left out. A line that several classes list
    (nested types, lambdas, partial classes) counts once, covered if any of them ran it."""
    tree = ET.parse(report).getroot()
    sources = [s.text or "" for s in tree.iter("source")] or [""]
    wanted = os.path.realpath(os.path.join(root_dir, source_dir))
    files = defaultdict(dict)
    generated = set()
    for cls in tree.iter("class"):
        name = cls.get("filename", "")
        # Generated files are not on disk: they take the first source directory.
        path = next((os.path.join(s, name) for s in sources if os.path.exists(os.path.join(s, name))),
                    os.path.join(sources[0], name))
        path = os.path.realpath(path)
        if not path.startswith(wanted + os.sep):
            continue
        if os.path.relpath(path, wanted).split(os.sep)[0] in ("obj", "bin"):
            generated.update((path, line.get("number")) for line in cls.findall("lines/line"))
            continue
        lines = files[os.path.relpath(path, wanted)]
        for line in cls.findall("lines/line"):
            number, hits = int(line.get("number")), int(line.get("hits"))
            lines[number] = max(lines.get(number, 0), hits)
    return files, len(generated)


def percent(covered, coverable):
    return f"{100.0 * covered / coverable:5.1f} %" if coverable else "    - "


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report, source_dir = sys.argv[1], sys.argv[2]
    root_dir = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    files, generated = line_hits(report, root_dir, source_dir)
    if not files:
        sys.exit(f"coverage: {report} lists no file under {source_dir}")

    rows = sorted((path, sum(1 for h in lines.values() if h > 0), len(lines)) for path, lines in files.items())
    directories = defaultdict(lambda: [0, 0])
    for path, covered, coverable in rows:
        totals = directories[os.path.dirname(path) or "."]
        totals[0] += covered
        totals[1] += coverable
    covered = sum(r[1] for r in rows)
    coverable = sum(r[2] for r in rows)

    width = max(len(r[0]) for r in rows)
    print(f"{source_dir}: {covered} of {coverable} coverable lines covered ({percent(covered, coverable).strip()})"
          + (f"; {generated} lines of generated code under obj/ not counted" if generated else ""))
    print()
    print(f"{'directory':<{width}}  {'covered/coverable':>17}  {'':>7}")
    for directory, (c, n) in sorted(directories.items()):
        print(f"{directory + '/':<{width}}  {f'{c}/{n}':>17}  {percent(c, n)}")
    print()
    print(f"{'file':<{width}}  {'covered/coverable':>17}  {'':>7}")
    for path, c, n in rows:
        print(f"{path:<{width}}  {f'{c}/{n}':>17}  {percent(c, n)}")
    print(f"{'total':<{width}}  {f'{covered}/{coverable}':>17}  {percent(covered, coverable)}")


if __name__ == "__main__":
    main()
