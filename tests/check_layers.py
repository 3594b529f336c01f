#!/usr/bin/python3
"""Fails when a folder of src/ includes from a folder to its right in the layer order
(STYLE.md §2: core → config → store → events → serial → security → modes → port → app)."""
import pathlib
import re
import sys

ORDER = ["core", "config", "store", "events", "serial", "security", "modes", "port",
         "services", "maintenance", "client", "web", "app"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".") / "src"
bad = []
checked = 0
for f in sorted(root.rglob("*")):
    if f.suffix not in {".h", ".cpp"}:
        continue
    layer = f.relative_to(root).parts[0]
    if layer not in ORDER:
        bad.append(f"{f}: folder '{layer}' is not in the layer order")
        continue
    checked += 1
    for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
        m = INCLUDE.match(line)
        if not m or m.group(1) not in ORDER:
            continue
        dep = m.group(1)
        if ORDER.index(dep) > ORDER.index(layer):
            bad.append(f"{f}:{n}: '{layer}' must not include '{dep}/' (layer order, STYLE.md §2)")
for b in bad:
    print(b)
print(f"{checked} files checked, {len(bad)} layering violations")
sys.exit(1 if bad or checked == 0 else 0)
