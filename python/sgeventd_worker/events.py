"""Turning the daemon's JSON event into the dict shotgun_api3 would have returned.

shotgun_api3 converts, anywhere in a response, every string of exactly 20 characters that reads
``YYYY-MM-DDTHH:MM:SSZ`` into an aware datetime in the local time zone (its
``_transform_inbound``). Plugins compare and format ``event['created_at']`` and the datetimes
in ``meta``, so the worker does the same conversion with the same rules.

This runs once per event and is on the hot path, so it avoids walking the whole event when it
can: a datetime value always ends its JSON string with ``Z"``, so the raw line is counted for
that pair first. With none, nothing is converted; with exactly one and ``created_at`` being it,
only ``created_at`` is; otherwise every value is visited. Conversions are cached by string
(events come in bursts sharing the same second) and by UTC minute, which is safe because
datetimes are immutable.
"""

import re
import time as _time
from datetime import datetime, timedelta, tzinfo

_DATETIME_RE = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\Z"
)
_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1)


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

    The same rules as shotgun_api3's sgtimezone.LocalTimezone (each datetime's offset comes
    from the C library, so adding six months to a datetime moves across DST correctly), which
    is what plugins get when they read datetimes through shotgun_api3. Two differences, both
    in the plugins' favour: the hour repeated when DST ends is told apart with ``fold``
    (shotgun_api3 asks mktime to guess and gets either answer), and the offset is cached per
    wall-clock half hour, because every ``isoformat()``, ``strftime`` or comparison of an aware
    datetime asks for it and DST changes happen on the hour or half hour (and in a zone with
    one offset all year, ``utcoffset`` returns it at once).
    """

    _std = timedelta(seconds=-_time.timezone)
    _dst = timedelta(seconds=-_time.altzone) if _time.daylight else _std
    if _dst == _std:  # one offset all year (UTC servers): utcoffset answers at once
        _dst = _std

    def __init__(self):
        self._isdst_by_hour = {}

    def _isdst(self, dt):
        key = (dt.year, dt.month, dt.day, dt.hour, dt.minute >= 30, dt.fold)
        cached = self._isdst_by_hour.get(key)
        if cached is None:
            cached = self._find_isdst(dt)
            if len(self._isdst_by_hour) >= 10000:
                self._isdst_by_hour.clear()
            self._isdst_by_hour[key] = cached
        return cached

    def _find_isdst(self, dt):
        if self._dst == self._std:
            return False
        wall = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)
        naive = datetime(*wall)
        matches = []
        for offset in (self._dst, self._std):  # the earlier instant first
            stamp = (naive - offset - _EPOCH) // _SECOND
            tm = _time.localtime(stamp)
            if tuple(tm[:6]) == wall:
                matches.append(tm.tm_isdst > 0)
        if not matches:  # skipped by DST starting: read it with the offset before the change
            return False
        return matches[1] if dt.fold and len(matches) > 1 else matches[0]

    def utcoffset(self, dt):
        if self._dst is self._std:
            return self._std
        key = (dt.year, dt.month, dt.day, dt.hour, dt.minute >= 30, dt.fold)
        isdst = self._isdst_by_hour.get(key)
        if isdst is None:
            isdst = self._isdst(dt)
        return self._dst if isdst else self._std

    def dst(self, dt):
        return (self._dst - self._std) if self._isdst(dt) else _ZERO

    def tzname(self, dt):
        return _time.tzname[self._isdst(dt)]

    def fromutc(self, dt):
        stamp = (dt.replace(tzinfo=None) - _EPOCH) // _SECOND
        tm = _time.localtime(stamp)
        fold = 0
        if not tm.tm_isdst and self._dst != self._std:
            # The second time this wall-clock hour happens (DST just ended)?
            before = _time.localtime(stamp - (self._dst - self._std) // _SECOND)
            fold = 1 if before.tm_isdst > 0 and tuple(before[:6]) == tuple(tm[:6]) else 0
        return datetime(
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            dt.microsecond, self, fold=fold,
        )

    def __repr__(self):
        return "LocalTimezone()"

    def __reduce__(self):
        return (LocalTimezone, ())


UTC = Utc()
LOCAL = LocalTimezone()
_cache = {}  # datetime string -> aware datetime
_minutes = {}  # "YYYY-MM-DDTHH:MM:" (UTC) -> (the local aware datetime at :00, its fold)
# "SSZ" -> the seconds to add to the minute: validates and converts the end of the string.
_SECONDS = dict(("%02dZ" % n, timedelta(seconds=n)) for n in range(60))


def to_datetime(text):
    """The aware local datetime a shotgun_api3 datetime string means, or None if it is not one.

    Strings are cached, and so is the start of each UTC minute: the local offset (and fold) is
    the same for a whole minute (time zone changes happen on whole minutes), so a string not
    seen before costs two dictionary lookups and an addition once its minute is known.
    """
    value = _cache.get(text)
    if value is not None:
        return value
    minute = _minutes.get(text[:17])
    if minute is None:
        minute = _new_minute(text)
        if minute is None:
            return None
    seconds = _SECONDS.get(text[17:])
    if seconds is None:
        return None
    value = minute[0] + seconds  # wall-clock arithmetic: tzinfo kept, fold reset
    if minute[1]:
        value = value.replace(fold=1)
    if len(_cache) >= 4096:
        _cache.clear()
    _cache[text] = value
    return value


def _new_minute(text):
    if not _DATETIME_RE.match(text):
        return None
    try:
        naive = datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16])
        )
    except ValueError:  # 2024-02-30: shotgun_api3 leaves such a string alone too
        return None
    local = LOCAL.fromutc(naive.replace(tzinfo=LOCAL))
    minute = (local.replace(fold=0), local.fold)
    if len(_minutes) >= 4096:
        _minutes.clear()
    _minutes[text[:17]] = minute
    return minute


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
    if count:
        convert_counted(event, count)
    return event


def convert_counted(event, count):
    """Convert the datetimes of ``event``, whose JSON text has ``count`` (> 0) ``Z"`` pairs."""
    if count == 1:
        created = event.get("created_at")
        if created.__class__ is str and len(created) == 20:
            converted = _cache.get(created) or to_datetime(created)
            if converted is not None:
                event["created_at"] = converted
                return event
    _convert(event)
    return event
