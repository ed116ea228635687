"""Object masks: every form SoftLayer accepts, parsed once into a tree.

A parsed mask is a dict from property name to the mask of that property
(an empty dict when the property is named without sub-properties):
`mask[id,transcodeJobs[history]]` -> {"id": {}, "transcodeJobs": {"history": {}}}.

Forms: `mask[...]`, `mask.a.b`, several roots joined by commas
(`mask.id,mask.history`), a bare property set `[id,name]` whose items may
repeat the root (`[mask.id,mask.history]`), `filteredMask[...]`, type casts
(`mask(SoftLayer_Type)[...]`), the old `a;b.c` form and a bare list
(`id,name`). A lone `mask` is the whole object, as if no mask were given.
"""

from __future__ import annotations

import re

from emulator.errors import SoftLayer_Exception_WebService_Mask

Mask = dict[str, "Mask"]

MAX_MASK_LENGTH = 10_000
MAX_MASK_DEPTH = 12
ROOTS = ("mask", "filteredMask")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_mask(text: str | None) -> Mask | None:
    """The tree of a mask string, None for no mask."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise SoftLayer_Exception_WebService_Mask("Object mask must be a string.")
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_MASK_LENGTH:
        raise SoftLayer_Exception_WebService_Mask(
            f"Object mask is longer than {MAX_MASK_LENGTH} characters."
        )

    if not text.startswith((*ROOTS, "[")):
        # The old form (`id;name;transcodeJobs.history`) and a bare list.
        items = [item.strip() for item in text.split(";")]
        text = "mask[" + ",".join(item for item in items if item) + "]"
    tree = _MaskParser(text).parse()
    return tree or None


class _MaskParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Mask:
        tree: Mask = {}
        while True:
            self._parse_root(tree)
            self._skip_spaces()
            if self.pos == len(self.text):
                return tree
            self._expect(",")

    def _parse_root(self, tree: Mask) -> None:
        self._skip_spaces()
        if self._peek() == "[":
            self.pos += 1
            self._parse_list(tree, depth=1, roots_allowed=True)
            self._expect("]")
            return
        if self._name() not in ROOTS:
            raise self._unparseable("expected 'mask', 'filteredMask' or '['")
        self._parse_after_root(tree)

    def _parse_after_root(self, tree: Mask) -> None:
        self._skip_type_cast()
        self._skip_spaces()
        if self._peek() == "[":
            self.pos += 1
            self._parse_list(tree, depth=1)
            self._expect("]")
        elif self._peek() == ".":
            self.pos += 1
            self._parse_item(tree, depth=1)

    def _parse_list(self, tree: Mask, depth: int, roots_allowed: bool = False) -> None:
        while True:
            self._skip_spaces()
            if roots_allowed and self._at_root():
                self._name()
                self._parse_after_root(tree)
            else:
                self._parse_item(tree, depth)
            self._skip_spaces()
            if self._peek() != ",":
                return
            self.pos += 1

    def _at_root(self) -> bool:
        match = _NAME.match(self.text, self.pos)
        return bool(match) and match.group() in ROOTS and self.text[match.end():][:1] in ".[("

    def _parse_item(self, tree: Mask, depth: int) -> None:
        if depth > MAX_MASK_DEPTH:
            raise SoftLayer_Exception_WebService_Mask(
                f"Object mask is nested deeper than {MAX_MASK_DEPTH} levels."
            )
        self._skip_spaces()
        node = tree.setdefault(self._name(), {})
        self._skip_type_cast()
        self._skip_spaces()
        if self._peek() == "[":
            self.pos += 1
            self._parse_list(node, depth + 1)
            self._skip_spaces()
            self._expect("]")
        elif self._peek() == ".":
            self.pos += 1
            self._parse_item(node, depth + 1)

    def _skip_type_cast(self) -> None:
        # `mask(SoftLayer_Type)[...]` narrows a mask to a subtype; all the
        # emulator's types are concrete, so the cast changes nothing.
        self._skip_spaces()
        if self._peek() != "(":
            return
        self.pos += 1
        self._skip_spaces()
        self._name()
        self._skip_spaces()
        self._expect(")")

    def _name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise self._unparseable("expected a property name")
        self.pos = match.end()
        return match.group()

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expect(self, char: str) -> None:
        self._skip_spaces()
        if self._peek() != char:
            raise self._unparseable(f"expected '{char}'")
        self.pos += 1

    def _skip_spaces(self) -> None:
        while self._peek().isspace():
            self.pos += 1

    def _unparseable(self, expected: str) -> SoftLayer_Exception_WebService_Mask:
        found = self._peek()
        found = f"'{found}'" if found else "the end"
        shown = self.text if len(self.text) <= 200 else self.text[:200] + "..."
        return SoftLayer_Exception_WebService_Mask(
            f"Unable to parse object mask at column {self.pos + 1}, {expected}, "
            f"got {found}: {shown}"
        )
