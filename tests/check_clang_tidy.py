#!/usr/bin/python3
"""clang-tidy gate (STYLE.md §4): runs clang-tidy over the production sources (src/**/*.cpp
that are not *_test.cpp or *_fuzz.cpp, as listed in the build's compile_commands.json) with
only the checks named in WarningsAsErrors of .clang-tidy, and fails on any finding.

The broad Checks list in .clang-tidy is advisory (run clang-tidy by hand to see it); the gate
runs just the WarningsAsErrors set because each enabled check walks the whole AST of every
translation unit (Boost.Asio and Beast included), so the cost grows with the number of checks,
and clang-analyzer-* alone costs more than the rest together (see the comment in .clang-tidy).

Usage: check_clang_tidy.py <source dir> <build dir> [regex on file path]
Exit 0: clean; 1: a finding or a clang-tidy error; 77: clang-tidy is not installed (ctest
SKIP_RETURN_CODE). SG_TIDY_JOBS sets the parallelism (default: number of CPUs, at most 2).
"""
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

SKIP = 77

def gate_checks(config: pathlib.Path) -> str:
    """WarningsAsErrors of .clang-tidy: a YAML scalar, possibly folded over several lines."""
    block = []
    lines = config.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("WarningsAsErrors:"):
            rest = line.split(":", 1)[1].strip()
            if rest not in (">", ">-", "|", ""):
                block.append(rest.strip("'\""))
            for cont in lines[i + 1:]:
                if not cont.startswith((" ", "\t")):
                    break
                block.append(cont.strip())
            break
    checks = "".join(block).replace(" ", "")
    return checks.strip(",")


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    src = pathlib.Path(sys.argv[1]).resolve()
    build = pathlib.Path(sys.argv[2]).resolve()
    only = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None

    tidy = shutil.which("clang-tidy")
    if tidy is None:
        print("clang_tidy: SKIPPED: clang-tidy is not installed (scripts/bootstrap --test "
              "installs it)")
        return SKIP

    checks = gate_checks(src / ".clang-tidy")
    if not checks:
        print("clang_tidy: FAIL: .clang-tidy has an empty WarningsAsErrors: nothing is gated")
        return 1

    db = build / "compile_commands.json"
    if not db.exists():
        print(f"clang_tidy: FAIL: {db} is missing (CMAKE_EXPORT_COMPILE_COMMANDS)")
        return 1
    prod = re.compile(r"^src/.*(?<!_test)(?<!_fuzz)\.cpp$")
    files = sorted({
        str(pathlib.Path(e["directory"], e["file"]).resolve())
        for e in json.loads(db.read_text())
        if prod.match(os.path.relpath(pathlib.Path(e["directory"], e["file"]).resolve(), src))
    })
    if only:
        files = [f for f in files if only.search(f)]
    if not files:
        print("clang_tidy: FAIL: no production source in the compilation database")
        return 1

    jobs = int(os.environ.get("SG_TIDY_JOBS", min(2, os.cpu_count() or 1)))
    # -Wno-error: a CI build adds -Werror, and a warning only clang emits must not become a
    # compile error here; compiler warnings are the compiler's business, not this gate's.
    cmd = [tidy, f"-p={build}", "--quiet", f"--checks=-*,{checks}",
           f"--warnings-as-errors={checks}", "--extra-arg=-Wno-error",
           "--extra-arg=-Wno-unknown-warning-option"]
    finding = re.compile(r"^\S+:\d+:\d+: (warning|error): .*\[[\w.,-]+\]$", re.M)

    def run(path: str):
        t0 = time.monotonic()
        p = subprocess.run(cmd + [path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, check=False)
        return path, p.returncode, p.stdout, time.monotonic() - t0

    start = time.monotonic()
    failed = []
    findings = set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for path, rc, out, secs in pool.map(run, files):
            hits = {m.group(0) for m in finding.finditer(out)}
            if rc != 0 or hits or "error:" in out:
                failed.append(path)
                print(f"---- {os.path.relpath(path, src)} (clang-tidy exit {rc}, {secs:.0f} s)")
                print("\n".join(line for line in out.rstrip().splitlines()
                                if not line.endswith(" warnings generated.")))
            findings |= hits
    wall = time.monotonic() - start
    print(f"clang_tidy: {len(files)} files, {jobs} jobs, {wall:.0f} s, checks: {checks}")
    if failed:
        per_check = {}
        for f in findings:
            name = f.rsplit("[", 1)[1].rstrip("]").split(",")[0]
            per_check[name] = per_check.get(name, 0) + 1
        for name, n in sorted(per_check.items(), key=lambda kv: -kv[1]):
            print(f"  {n:4d} {name}")
        print(f"clang_tidy: FAIL: {len(findings)} findings in {len(failed)} files "
              "(fix them, or NOLINTNEXTLINE(<check>) with the reason)")
        return 1
    print("clang_tidy: no findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
