"""The ``sg`` connections handed to callbacks, and where ``shotgun_api3`` comes from.

Preference order, decided by Python's own import system:

1. the real ``shotgun_api3`` on ``sys.path`` (the studio's, from site-packages or
   ``[python] path``), exactly what shotgunEvents used;
2. sgeventd's stand-in (the project's C++ client as an extension module), found by a finder
   placed *last* on ``sys.meta_path``, so it is only consulted when every normal finder failed
   and a plugin's own ``import shotgun_api3`` gets it too;
3. neither: callbacks still run, but their ``sg`` is a ShotgunUnavailable that raises a clear
   error on first use. Loading does not fail, because plugins that never touch ``sg`` keep
   working and a plugin that does fails per event through the daemon's error policy (logged,
   stopOnError, dead letters that can be re-driven once the package is installed) instead of
   being silently inactive. The worker also logs a WARNING when the first such connection is
   made.

Connections are made once per ``registerCallback`` with that callback's script name and key, as
shotgunEvents does, but with ``connect=False`` so that a site that is down (or slow) does not
block or fail loading; the client connects on its first request.
"""

import importlib.machinery
import os
import sys

STANDIN_DIR_NAME = "standin"


class StandInFinder(object):
    """Finds ``shotgun_api3`` in sgeventd's stand-in folder; installed last on sys.meta_path."""

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "shotgun_api3" or not os.path.isdir(self.folder):
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self.folder])

    def invalidate_caches(self):
        pass


def install_stand_in(folder):
    """Make the stand-in importable as the last resort for ``import shotgun_api3``."""
    for finder in sys.meta_path:
        if isinstance(finder, StandInFinder):
            return
    sys.meta_path.append(StandInFinder(folder))


class ShotgunUnavailableError(RuntimeError):
    """Raised by a connection whose shotgun_api3 could not be imported."""


class ShotgunUnavailable(object):
    """What ``sg`` is when no shotgun_api3 can be imported: every use raises, with the reason."""

    def __init__(self, reason, base_url, script_name):
        self.__dict__["_reason"] = reason
        self.__dict__["base_url"] = base_url
        self.__dict__["_script_name"] = script_name

    def __getattr__(self, name):
        raise ShotgunUnavailableError(
            "cannot use sg.%s: %s (interpreter %s). Install shotgun_api3 for that interpreter, "
            "or add its folder to [python] path." % (name, self._reason, sys.executable)
        )

    def __setattr__(self, name, value):
        self.__getattr__(name)

    def __bool__(self):
        return True

    def __repr__(self):
        return "<ShotgunUnavailable %s as %s: %s>" % (
            self.base_url,
            self._script_name,
            self._reason,
        )


class Connections(object):
    """Makes each callback's connection from the daemon's site settings (``hello.site``)."""

    def __init__(self, url, proxy):
        self.url = url or ""
        self.proxy = proxy or None
        self._module = None
        self._failure = None

    def module(self):
        """The importable shotgun_api3 module, or None (``failure`` then says why)."""
        if self._module is None and self._failure is None:
            try:
                import shotgun_api3
            except Exception as e:  # ImportError, or a broken install raising anything
                self._failure = "shotgun_api3 could not be imported: %s: %s" % (
                    type(e).__name__,
                    e,
                )
            else:
                self._module = shotgun_api3
        return self._module

    @property
    def failure(self):
        return self._failure

    def connect(self, script_name, script_key):
        """A connection for one callback (raises what shotgun_api3 raises for bad arguments)."""
        api = self.module()
        if api is None:
            return ShotgunUnavailable(self._failure, self.url, script_name)
        return api.Shotgun(
            self.url, script_name, script_key, http_proxy=self.proxy, connect=False
        )
