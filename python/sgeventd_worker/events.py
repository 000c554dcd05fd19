"""Turning the daemon's JSON event into the dict shotgun_api3 would have returned.

shotgun_api3 converts, anywhere in a response, every string of exactly 20 characters that reads
``YYYY-MM-DDTHH:MM:SSZ`` into an aware datetime in the local time zone (its
``_transform_inbound``). Plugins compare and format ``event['created_at']`` and the datetimes
in ``meta``, so the worker does the same conversion with the same rules.

This runs once per event and is on the hot path, so it avoids walking the whole event when it
can: a datetime value always ends its JSON string with ``Z"``, so the raw line is counted for
that pair first. With none, nothing is converted; with exactly one and ``created_at`` being it,
only ``created_at`` is; otherwise every value is visited. Conversions are cached by string
(events come in bursts sharing the same second), which is safe because datetimes are immutable.
"""

import re
import sys
import time as _time
from datetime import datetime, timedelta, tzinfo

_DATETIME_RE = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z"
)
_ZERO = timedelta(0)


class Utc(tzinfo):
    """UTC, as shotgun_api3's sgtimezone.UTC."""

    def utcoffset(self, dt):
        return _ZERO

    def dst(self, dt):
        return _ZERO

    def tzname(self, dt):
        return "UTC"

    def __repr__(self):
        return "Utc()"


class LocalTimezone(tzinfo):
    """The machine's local time zone with its daylight saving rules.

    Behaves like shotgun_api3's sgtimezone.LocalTimezone (the offset of each datetime is found
    with mktime/localtime, so adding six months to a datetime moves across DST correctly),
    which is what plugins get when they read datetimes through shotgun_api3.
    """

    _std = timedelta(seconds=-_time.timezone)
    _dst = timedelta(seconds=-_time.altzone) if _time.daylight else _std

    def _isdst(self, dt):
        stamp = _time.mktime(
            (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.weekday(), 0, -1)
        )
        return _time.localtime(stamp).tm_isdst > 0

    def utcoffset(self, dt):
        return self._dst if self._isdst(dt) else self._std

    def dst(self, dt):
        return (self._dst - self._std) if self._isdst(dt) else _ZERO

    def tzname(self, dt):
        return _time.tzname[self._isdst(dt)]

    def __repr__(self):
        return "LocalTimezone()"


UTC = Utc()
_local = None
_cache = {}


def local_timezone():
    """The tzinfo events use: shotgun_api3's own when that package is loaded, else ours."""
    global _local
    if _local is None:
        module = sys.modules.get("shotgun_api3.lib.sgtimezone")
        sg_timezone = getattr(module, "SgTimezone", None)
        if sg_timezone is not None:
            try:
                _local = sg_timezone().local
            except Exception:  # an odd build of the package: ours behaves the same
                _local = None
        if _local is None:
            _local = LocalTimezone()
    return _local


def to_datetime(text):
    """The aware local datetime a shotgun_api3 datetime string means, or None if it is not one."""
    value = _cache.get(text)
    if value is not None:
        return value
    if not _DATETIME_RE.match(text):
        return None
    try:
        naive = datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    except ValueError:  # 2024-02-30: shotgun_api3 leaves such a string alone too
        return None
    value = naive.replace(tzinfo=UTC).astimezone(local_timezone())
    if len(_cache) >= 4096:
        _cache.clear()
    _cache[text] = value
    return value


def _convert(data):
    """Replace datetime strings in dict values and list items, in place."""
    if data.__class__ is dict:
        for key, value in data.items():
            cls = value.__class__
            if cls is str:
                if len(value) == 20:
                    converted = to_datetime(value)
                    if converted is not None:
                        data[key] = converted
            elif cls is dict or cls is list:
                _convert(value)
    else:
        for i, value in enumerate(data):
            cls = value.__class__
            if cls is str:
                if len(value) == 20:
                    converted = to_datetime(value)
                    if converted is not None:
                        data[i] = converted
            elif cls is dict or cls is list:
                _convert(value)


def convert_datetimes(event, line):
    """Convert the datetimes of ``event`` (decoded from ``line``, the raw JSON text)."""
    count = line.count('Z"')
    if not count:
        return event
    if count == 1:
        created = event.get("created_at")
        if created.__class__ is str and len(created) == 20:
            converted = to_datetime(created)
            if converted is not None:
                event["created_at"] = converted
                return event
    _convert(event)
    return event
