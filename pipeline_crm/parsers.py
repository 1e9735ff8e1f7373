"""The API's parsers: DRF's JSON one with a nesting limit, so a deep body is a 400, not a crash;
its multipart one refusing a body it cannot read a single part from."""

import codecs
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, JSONParser, MultiPartParser
from rest_framework.utils import json

DEFAULT_MAX_DEPTH = 64
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def max_json_depth() -> int:
    """`JSON_MAX_DEPTH` from the settings, 64 by default."""
    return int(getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def json_depth(text: str) -> int:
    """How deep the arrays and objects in `text` nest (brackets inside strings not counted).

    Works on invalid JSON too (the parser judges that afterwards), in linear time.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = deepest = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """Refuses a body nested deeper than `JSON_MAX_DEPTH` with 400, before `json` recurses
    into it (Python's decoder raises `RecursionError` at about 1,000 levels)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc
        limit = max_json_depth()
        if json_depth(text) > limit:
            raise ParseError(f"JSON nested deeper than {limit} levels.")
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class StrictMultiPartParser(MultiPartParser):
    """A multipart body with no part Django can read (none with a `Content-Disposition`) is a
    400, where DRF's parser would hand the view an empty form: a PATCH of such a body would
    answer 200 having changed nothing. (An empty body is not parsed at all.)"""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> "DataAndFiles[Any, Any]":
        parsed = super().parse(stream, media_type, parser_context)
        if not parsed.data and not parsed.files:
            raise ParseError("Multipart form parse error - the body holds no readable part.")
        return parsed
