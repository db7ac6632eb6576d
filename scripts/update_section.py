"""Replaces one generated section of a Markdown file, between `<!-- NAME:start -->` and
`<!-- NAME:end -->`, with stdin; appends the section when the markers are missing.

    python3 scripts/update_section.py docs/performance.md emulator < section.md
"""

import sys

path, name = sys.argv[1], sys.argv[2]
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
body = sys.stdin.read().rstrip("\n")
try:
    text = open(path, encoding="utf-8").read()
except FileNotFoundError:
    text = "# Performance\n\nEach section is written by the script it names; rerun it to refresh the figures.\n"
block = f"{start}\n{body}\n{end}"
if start in text and end in text:
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    text = before + block + after
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w", encoding="utf-8").write(text)
