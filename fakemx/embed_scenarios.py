#!/usr/bin/env python3
"""Embeds the scenario catalogue (fakemx/scenarios/*.yaml) into fakemx.

usage: embed_scenarios.py OUT.inc NAME.yaml...

Writes one C++ initializer per file, in the order given (that is the
`fakemx --list-scenarios` order): {name, summary, yaml}. The name is the
file's stem; the summary is the file's `description:` line, which must be a
double-quoted string without escapes (the parser reads the same value, and
scenario_test checks that both agree). Fails, and so fails the build, on
anything it cannot embed faithfully.
"""
import os
import re
import sys

DELIMITER = "mxkit_yaml"
DESCRIPTION = re.compile(r'^description: "([^"\\]*)"\s*$', re.MULTILINE)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_path, inputs = argv[1], argv[2:]
    entries = []
    for path in inputs:
        name = os.path.basename(path)
        if not name.endswith(".yaml"):
            sys.stderr.write(f"{path}: a catalogue entry is NAME.yaml\n")
            return 1
        name = name[: -len(".yaml")]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = DESCRIPTION.findall(text)
        if len(found) != 1:
            sys.stderr.write(f'{path}: needs exactly one line description: "..." '
                             "(double-quoted, no escapes)\n")
            return 1
        if f'){DELIMITER}"' in text:
            sys.stderr.write(f"{path}: contains the raw-string delimiter ){DELIMITER}\"\n")
            return 1
        if not re.fullmatch(r"[a-z0-9.-]+", name):
            sys.stderr.write(f"{path}: catalogue names are lower-case letters, digits, '.', '-'\n")
            return 1
        entries.append(
            f'    {{"{name}", "{found[0]}", R"{DELIMITER}({text}){DELIMITER}"}},\n')
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("// Generated from fakemx/scenarios/*.yaml by fakemx/embed_scenarios.py. "
                  "Do not edit.\n")
        out.writelines(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
