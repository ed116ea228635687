"""Object masks: every form SoftLayer accepts, parsed once into a tree.

A parsed mask is a dict from property name to the mask of that property
(an empty dict when the property is named without sub-properties):
`mask[id,transcodeJobs[history]]` -> {"id": {}, "transcodeJobs": {"history": {}}}.
"""

from __future__ import annotations

import re

from emulator.errors import SoftLayer_Exception_WebService_Mask

Mask = dict[str, "Mask"]

MAX_MASK_LENGTH = 10_000
MAX_MASK_DEPTH = 12
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

    if text.startswith(("mask", "filteredMask", "[")):
        return _MaskParser(text).parse()
    return _parse_legacy(text)


def _parse_legacy(text: str) -> Mask:
    """The old form: `id;name;transcodeJobs.history`."""
    tree: Mask = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        node = tree
        names = part.split(".")
        if len(names) > MAX_MASK_DEPTH:
            raise _too_deep()
        for name in names:
            if not _NAME.fullmatch(name):
                raise _unparseable(text)
            node = node.setdefault(name, {})
    return tree


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
            # Several roots may follow each other: `mask[id],mask.history`.
            self._expect(",")
            self._skip_spaces()

    def _parse_root(self, tree: Mask) -> None:
        if self.text.startswith("filteredMask", self.pos):
            self.pos += len("filteredMask")
        elif self.text.startswith("mask", self.pos):
            self.pos += len("mask")
            self._skip_type_cast()

        if self._peek() == "[":
            self.pos += 1
            self._parse_list(tree, depth=1)
            self._expect("]")
        elif self._peek() == ".":
            self.pos += 1
            self._parse_item(tree, depth=1)
        else:
            raise _unparseable(self.text)

    def _skip_type_cast(self) -> None:
        # `mask(SoftLayer_Type)[...]` narrows a mask to a subtype; all the
        # emulator's types are concrete, so the cast changes nothing.
        if self._peek() != "(":
            return
        end = self.text.find(")", self.pos)
        if end < 0:
            raise _unparseable(self.text)
        self.pos = end + 1

    def _parse_list(self, tree: Mask, depth: int) -> None:
        while True:
            self._skip_spaces()
            self._parse_item(tree, depth)
            self._skip_spaces()
            if self._peek() != ",":
                return
            self.pos += 1

    def _parse_item(self, tree: Mask, depth: int) -> None:
        if depth > MAX_MASK_DEPTH:
            raise _too_deep()
        name = self._name()
        node = tree.setdefault(name, {})
        self._skip_type_cast()
        if self._peek() == "[":
            self.pos += 1
            self._parse_list(node, depth + 1)
            self._skip_spaces()
            self._expect("]")
        elif self._peek() == ".":
            self.pos += 1
            self._parse_item(node, depth + 1)

    def _name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            raise _unparseable(self.text)
        self.pos = match.end()
        return match.group()

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise _unparseable(self.text)
        self.pos += 1

    def _skip_spaces(self) -> None:
        while self._peek().isspace():
            self.pos += 1


def _unparseable(text: str) -> SoftLayer_Exception_WebService_Mask:
    shown = text if len(text) <= 200 else text[:200] + "..."
    return SoftLayer_Exception_WebService_Mask(f"Unable to parse object mask: {shown}")


def _too_deep() -> SoftLayer_Exception_WebService_Mask:
    return SoftLayer_Exception_WebService_Mask(
        f"Object mask is nested deeper than {MAX_MASK_DEPTH} levels."
    )
