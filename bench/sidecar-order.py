#!/usr/bin/env python3
"""Writes the sidecar's code layout files from a callgrind profile of the release sidecar (bench/sidecar-order.sh).

    sidecar-order.py BINARY LINK_MAP IDLE_PROFILE SERVICE_PROFILE ORDER_FILE SECTIONS_SCRIPT

The profiles are callgrind dumps made with --dump-instr=yes: every instruction address the sidecar executed, up to
idle (IDLE_PROFILE) and in service after that (SERVICE_PROFILE). The link map (lld -Map) of the same link says which
input section each address lies in. Every executed section is placed at the start of the code, those run up to idle
first, in one of two ways:
- ORDER_FILE (lld --symbol-ordering-file): the section's name through a symbol defined once in the binary;
- SECTIONS_SCRIPT (a linker script that adds to lld's default layout): sections no unique symbol names, by object
  file and section name, at the start of .text. These are private functions without symbols (.L__unnamed_1,
  .Lobjectdestroy) and local thunks that many object files define under the same name (objectdestroyTm). By name,
  lld would move every same-named section, among them whole toolchain libraries' code that is one section per
  object file; left out, each would stay among the cold code, and the kernel maps 64 KiB around every page touched
  there.
"""

import bisect
import collections
import re
import subprocess
import sys

binary, link_map, idle_profile, service_profile, order_out, script_out = sys.argv[1:7]

# --- the link map: code input sections (address, size, object, section name) and the symbols in each. Lines are
# "address lma size align" and then, more indented at each level: an output section; in sections a script made, the
# script's pattern; an input section ("object:(section)"); a symbol.
LINE = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(\S.*)$")
INPUT = re.compile(r"^(.*):\((.*)\)$")
sections = []  # [address, size, object, section, symbols]
in_code = False
with open(link_map) as lines:
    for line in lines:
        found = LINE.match(line)
        if not found:
            continue
        indent, text = found.group(3), found.group(4)
        if not indent:  # an output section
            in_code = text == ".text"
        elif not in_code or text.endswith('")'):  # outside the code, or a script's pattern
            continue
        elif input_section := INPUT.match(text):
            address, size = int(found.group(1), 16), int(found.group(2), 16)
            sections.append([address, size, input_section.group(1), input_section.group(2), []])
        elif sections:
            sections[-1][4].append(text)
sections.sort()
starts = [entry[0] for entry in sections]
if len(sections) < 10000:
    sys.exit(f"{link_map}: only {len(sections)} code sections: not an lld map of a link with -function-sections?")

# --- how often each code symbol is defined in the binary: a name is usable in the order file only if once
defined = collections.Counter()
nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
for line in nm.splitlines():
    fields = line.split()
    if len(fields) == 3 and fields[1] in "tTwW":
        defined[fields[2]] += 1


def executed_sections(profile):
    """Indexes into `sections` of the sections holding an instruction the profile counts, in address order."""
    hit, in_binary = set(), False
    name = binary.rsplit("/", 1)[-1]
    with open(profile, errors="replace") as lines:
        for line in lines:
            if line.startswith("ob="):
                in_binary = line.rstrip("\n").endswith("/" + name) or line.rstrip("\n") == "ob=" + name
            elif in_binary and line.startswith("0x"):
                address = int(line.split()[0], 16)
                index = bisect.bisect_right(starts, address) - 1
                if index >= 0 and address < sections[index][0] + sections[index][1]:
                    hit.add(index)
    return sorted(hit)


def file_pattern(path):
    """The object as a linker-script file pattern that does not depend on where the package was built."""
    member = re.match(r"^.*/([^/]+\.a)\((.+)\)$", path)
    if member:  # lld names an archive member "archive:member" in scripts
        return f"*/{member.group(1)}:{member.group(2)}"
    module = re.match(r"^.*?/([^/]+\.build/.+)$", path)  # from the module's directory: X.build/sub/dir/file.o
    return "*/" + (module.group(1) if module else path.rsplit("/", 1)[-1])


idle = executed_sections(idle_profile)
service = sorted(set(executed_sections(service_profile)) - set(idle))
if len(idle) < 1000:
    sys.exit(f"only {len(idle)} executed sections of {binary} in {idle_profile}: is it a profile of this binary?")

names = {"idle": [], "service": []}
by_object = {"idle": collections.defaultdict(set), "service": collections.defaultdict(set)}  # sections by pattern
for group, indices in (("idle", idle), ("service", service)):
    for index in indices:
        _, _, path, section, symbols = sections[index]
        unique = [symbol for symbol in symbols if defined[symbol] == 1]
        if unique:
            names[group].append(unique[0])
        else:
            by_object[group][file_pattern(path)].add(section)

with open(order_out, "w") as out:
    out.write("# Generated by bench/sidecar-order.sh: the code the release sidecar runs, placed first by the linker\n")
    out.write("# (--symbol-ordering-file, Package.swift); sections without a unique symbol are in hot-sections.ld.\n")
    out.write("# Run up to idle:\n")
    # Sorted within each group: the order within a group made no measurable difference, and a regenerated file then
    # differs only where the code does.
    out.write("".join(name + "\n" for name in sorted(names["idle"])))
    out.write("# Run in service, after idle:\n")
    out.write("".join(name + "\n" for name in sorted(names["service"])))

with open(script_out, "w") as out:
    out.write("/* Generated by bench/sidecar-order.sh: code the release sidecar runs that no unique symbol\n")
    out.write("   names, by object and section, placed first in .text (Package.swift). Up to idle first. The rest\n")
    out.write("   of the code follows in the same output section, ordered by hot-functions.order (a separate\n")
    out.write("   output section would be invisible to valgrind, and so to the next profile). */\n")
    out.write("SECTIONS {\n  .text : {\n")
    for group in ("idle", "service"):
        for pattern, in_object in sorted(by_object[group].items()):
            quoted = " ".join(f'"{section}"' for section in sorted(in_object))
            out.write(f"    {pattern}({quoted})\n")
    out.write("  }\n} INSERT BEFORE .init;\n")

hot = sum(len(v) for g in by_object.values() for v in g.values())
print(
    f"{order_out}: {len(names['idle'])} sections run up to idle, {len(names['service'])} more in service; "
    f"{script_out}: {hot} sections without a unique symbol",
    file=sys.stderr,
)
