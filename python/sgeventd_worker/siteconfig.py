"""The daemon's config file as plugins saw it in shotgunEvents (``logger.config``).

shotgunEvents attached its Config object, a ``configparser.ConfigParser`` seeded with the
environment, to every plugin and callback logger, and some plugins read their own settings
from it (``logger.config.get('myplugin', 'key')``). The daemon sends the file's sections as
strings in ``hello.config``, already interpolated, so this rebuilds an equivalent parser
without interpolating again, with the original's getters.
"""

import configparser
import os


class SiteConfig(configparser.ConfigParser):
    """The config sections from ``hello``, with shotgunEvents' Config accessors."""

    def __init__(self, sections):
        configparser.ConfigParser.__init__(self, defaults=_environment(), interpolation=None)
        for section, values in (sections or {}).items():
            if not isinstance(values, dict):
                continue
            if section == configparser.DEFAULTSECT:
                for key, value in values.items():
                    self.set(section, key, _text(value))
                continue
            if not self.has_section(section):
                self.add_section(section)
            for key, value in values.items():
                self.set(section, key, _text(value))

    def _get(self, section, key, fallback=None):
        try:
            return self.get(section, key)
        except (configparser.NoSectionError, configparser.NoOptionError):
            return fallback

    def getShotgunURL(self):
        return self.get("shotgun", "server")

    def getEngineScriptName(self):
        return self.get("shotgun", "name")

    def getEngineScriptKey(self):
        return self.get("shotgun", "key")

    def getEngineProxyServer(self):
        proxy = (self._get("shotgun", "proxy_server") or "").strip()
        return proxy or None

    def getEventIdFile(self):
        return self.get("daemon", "eventIdFile")

    def getEnginePIDFile(self):
        return self.get("daemon", "pidFile")

    def getPluginPaths(self):
        return [s.strip() for s in self.get("plugins", "paths").split(",")]

    def getSMTPEnabled(self):
        return self.getboolean("emails", "enabled")

    def getSMTPServer(self):
        return self.get("emails", "server")

    def getSMTPPort(self):
        if self.has_option("emails", "port"):
            return self.getint("emails", "port")
        return 25

    def getFromAddr(self):
        return self.get("emails", "from")

    def getToAddrs(self):
        return [s.strip() for s in self.get("emails", "to").split(",")]

    def getEmailSubject(self):
        return self.get("emails", "subject")

    def getEmailUsername(self):
        return self._get("emails", "username")

    def getEmailPassword(self):
        return self._get("emails", "password")

    def getSecureSMTP(self):
        if self.has_option("emails", "useTLS"):
            return self.getboolean("emails", "useTLS") or False
        return False

    def getLogMode(self):
        return self.getint("daemon", "logMode")

    def getLogLevel(self):
        return self.getint("daemon", "logging")

    def getMaxEventBatchSize(self):
        if self.has_option("daemon", "max_event_batch_size"):
            return self.getint("daemon", "max_event_batch_size")
        return 500


def _text(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    return value if isinstance(value, str) else str(value)


def _environment():
    # Like the original (ConfigParser(os.environ)): environment variables answer lookups that
    # no section defines. '%' needs no escaping because interpolation is off.
    return dict(os.environ)
