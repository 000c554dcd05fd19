"""Time zones of returned datetimes: shotgun_api3's ``sg_timezone`` (``.utc``, ``.local``).

Datetimes the stand-in returns carry ``sg_timezone.local``, as shotgun_api3's do. The offset of
each datetime comes from the C library for that date, so arithmetic across a DST change gives
the right wall clock. Unlike shotgun_api3 (which lets mktime guess), the hour repeated when DST
ends is told apart with ``fold``, which the C++ module sets on the datetimes it builds.
"""

import time as _time
from datetime import datetime, timedelta, tzinfo

_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1)


class UTC(tzinfo):
    def utcoffset(self, dt):
        return _ZERO

    def dst(self, dt):
        return _ZERO

    def tzname(self, dt):
        return "UTC"

    def __repr__(self):
        return "UTC()"


def _gmtoff(stamp):
    return _time.localtime(stamp).tm_gmtoff


class LocalTimezone(tzinfo):
    def __init__(self):
        self._by_quarter = {}
        self._zone = None

    def _seconds(self, dt):
        # Offsets only change on quarter hours: cache per wall-clock quarter hour and fold,
        # for as long as the zone stays the one time.tzset() last read.
        zone = (_time.timezone, _time.altzone, _time.tzname)
        if zone != self._zone:
            self._by_quarter.clear()
            self._zone = zone
        key = (dt.year, dt.month, dt.day, dt.hour, dt.minute // 15, dt.fold)
        seconds = self._by_quarter.get(key)
        if seconds is None:
            seconds = self._find(dt)
            if len(self._by_quarter) >= 4096:
                self._by_quarter.clear()
            self._by_quarter[key] = seconds
        return seconds

    @staticmethod
    def _find(dt):
        wall = (dt.replace(tzinfo=None) - _EPOCH) // _SECOND  # the wall clock read as UTC
        # Every offset in force within a day of it, largest (earliest instant) first.
        offsets = sorted({_gmtoff(wall + d) for d in (-86400, 0, 86400)}, reverse=True)
        instants = [off for off in offsets if _gmtoff(wall - off) == off]
        if not instants:  # skipped when clocks went forward: fold 0 reads it as before
            before = _gmtoff(wall - 86400)
            after = _gmtoff(wall + 86400)
            return after if dt.fold else before
        return instants[-1] if dt.fold else instants[0]

    def utcoffset(self, dt):
        if dt is None:
            return timedelta(seconds=-_time.timezone)
        return timedelta(seconds=self._seconds(dt))

    def dst(self, dt):
        if dt is None:
            return _ZERO
        return max(_ZERO, timedelta(seconds=self._seconds(dt) + _time.timezone))

    def tzname(self, dt):
        return _time.tzname[1 if self.dst(dt) else 0]

    def fromutc(self, dt):
        stamp = (dt.replace(tzinfo=None) - _EPOCH) // _SECOND
        tm = _time.localtime(stamp)
        # The second pass through a repeated wall clock: an earlier instant, at the larger
        # offset in force two hours before, shows the same wall clock.
        before = _gmtoff(stamp - 7200)
        drop = before - tm.tm_gmtoff
        fold = 1 if drop > 0 and _gmtoff(stamp - drop) == before else 0
        return datetime(*tm[:6], microsecond=dt.microsecond, tzinfo=self, fold=fold)

    def __repr__(self):
        return "LocalTimezone()"

    def __reduce__(self):
        return (LocalTimezone, ())


class SgTimezone(object):
    """shotgun_api3's sg_timezone: ``utc`` and ``local`` instances."""

    def __init__(self):
        self.utc = UTC()
        self.local = LocalTimezone()

    @classmethod
    def UTC(cls):
        return UTC()

    @classmethod
    def LocalTimezone(cls):
        return LocalTimezone()


SG_TIMEZONE = SgTimezone()
