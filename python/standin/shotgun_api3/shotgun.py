"""``Shotgun``: shotgun_api3 3.10's class, names and keyword arguments, on sgeventd's C++ client.

Arguments are checked here where shotgun_api3 checks them in Python (limit, page, the
deprecated filter_operator use); everything else (credentials, URLs, proxies, filters, paging,
retries, datetimes) is the C++ client's (docs/client.md), which the worker and the daemon share.
"""

import os

from . import errors
from .errors import ShotgunError
from .sgtimezone import SG_TIMEZONE

try:
    from . import _sgeventd as _native
except ImportError as e:
    import glob
    import sys

    _here = os.path.dirname(os.path.abspath(__file__))
    if not glob.glob(os.path.join(_here, "_sgeventd.*")):
        raise ImportError(
            "sgeventd's shotgun_api3 stand-in is not built in %s (build target "
            "sgeventd_standin, or install shotgun_api3)" % _here
        )
    raise ImportError(
        "sgeventd's shotgun_api3 stand-in does not load in %s (Python %d.%d): %s. It is built "
        "for the system Python only; install shotgun_api3 for this interpreter."
        % (sys.executable, sys.version_info[0], sys.version_info[1], e)
    )

_native._init(SG_TIMEZONE.local, errors.from_native)

__version__ = "3.10.0"  # the shotgun_api3 release whose protocol and API this mirrors

# Settings the C++ client holds: changing one on ``sg.config`` rebuilds the client (the next
# call opens a new connection), except session_uuid, which is set in place.
_NATIVE_SETTINGS = frozenset(
    [
        "api_key",
        "script_name",
        "user_login",
        "user_password",
        "auth_token",
        "session_token",
        "sudo_as_login",
        "convert_datetimes_to_utc",
        "timeout_secs",
        "rpc_attempt_interval",
        "localized",
        "extra_auth_params",
    ]
)
_SECRETS = frozenset(["api_key", "user_password", "session_token", "auth_token", "proxy_pass"])


class ServerCapabilities(object):
    """What the server's info call said (host, server_info, version, is_dev)."""

    def __init__(self, host, version, is_dev, records_per_page, server_info):
        self.host = host
        self.version = version
        self.is_dev = is_dev
        self.records_per_page = records_per_page
        self.server_info = server_info

    def __str__(self):
        return "ServerCapabilities: host %s, version %s, is_dev %s" % (
            self.host,
            self.version,
            self.is_dev,
        )


class _Config(object):
    """``sg.config``: the connection's settings, with shotgun_api3's attribute names."""

    def __init__(self, sg):
        object.__setattr__(self, "_sg", None)
        self.max_rpc_attempts = 3
        self.rpc_attempt_interval = 3000
        self.timeout_secs = None
        self.api_ver = "api3"
        self.convert_datetimes_to_utc = True
        self.api_key = None
        self.script_name = None
        self.user_login = None
        self.user_password = None
        self.auth_token = None
        self.sudo_as_login = None
        self.extra_auth_params = None
        self.session_uuid = None
        self.scheme = None
        self.server = None
        self.api_path = None
        self.raw_http_proxy = None
        self.proxy_server = None
        self.proxy_port = 8080
        self.proxy_user = None
        self.proxy_pass = None
        self.session_token = None
        self.authorization = None
        self.localized = False
        object.__setattr__(self, "_sg", sg)

    @property
    def records_per_page(self):
        return self._sg.server_caps.records_per_page

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        sg = self._sg
        if sg is None or "_client" not in sg.__dict__:
            return
        if name == "session_uuid":
            sg._client.set_session_uuid(value)
        elif name in _NATIVE_SETTINGS:
            sg._client.reconfigure(sg._settings())

    def __repr__(self):
        shown = []
        for name in sorted(self.__dict__):
            if name.startswith("_"):
                continue
            value = self.__dict__[name]
            if name in _SECRETS and value is not None:
                value = "<hidden>"
            shown.append("%s=%r" % (name, value))
        return "<shotgun_api3 config %s>" % ", ".join(shown)


_UNSUPPORTED = (
    "upload",
    "upload_thumbnail",
    "upload_filmstrip_thumbnail",
    "share_thumbnail",
    "download_attachment",
    "get_attachment_download_url",
    "get_auth_cookie_handler",
    "authenticate_human_user",
    "activity_stream_read",
    "note_thread_read",
    "work_schedule_read",
    "work_schedule_update",
    "follow",
    "unfollow",
    "followers",
    "following",
    "preferences_read",
    "export_page",
    "nav_expand",
    "nav_search_string",
    "nav_search_entity",
    "update_project_last_accessed",
    "user_subscriptions_read",
    "user_subscriptions_create",
)


def _unsupported(name):
    def method(self, *args, **kwargs):
        raise ShotgunError(
            "%s() is not available in sgeventd's shotgun_api3 stand-in; install shotgun_api3 "
            "for this interpreter to use it" % name
        )

    method.__name__ = name
    return method


class Shotgun(object):
    """A connection to a ShotGrid site, as shotgun_api3.Shotgun (3.10 signature).

    ``ensure_ascii`` (shotgun_api3 before 3.9) is accepted by keyword only, and ignored:
    requests are UTF-8 JSON either way.
    """

    def __init__(
        self,
        base_url,
        script_name=None,
        api_key=None,
        convert_datetimes_to_utc=True,
        http_proxy=None,
        connect=True,
        ca_certs=None,
        login=None,
        password=None,
        sudo_as_login=None,
        session_token=None,
        auth_token=None,
        ensure_ascii=True,
    ):
        if connect and not any([session_token, script_name, api_key, login, password]):
            # shotgun_api3 checks the combinations first (the C++ client does, below); with
            # none of these given, only this one of them can fail.
            if auth_token is not None:
                raise ValueError("must provide a user login and password with an auth_token")
            raise ValueError("must provide login/password, session_token or script_name/api_key")
        self.config = _Config(self)
        self.config.api_key = api_key
        self.config.script_name = script_name
        self.config.user_login = login
        self.config.user_password = password
        self.config.auth_token = auth_token
        self.config.session_token = session_token
        self.config.sudo_as_login = sudo_as_login
        self.config.convert_datetimes_to_utc = convert_datetimes_to_utc
        self.config.raw_http_proxy = http_proxy
        # SHOTGUN_API_RETRY_INTERVAL is read and checked by the C++ client (with
        # shotgun_api3's ValueError); config shows the value once it is known good.
        interval = os.environ.get("SHOTGUN_API_RETRY_INTERVAL")
        self.config.rpc_attempt_interval = None if interval is not None else 3000
        self._raw_base_url = base_url
        self._ca_certs = ca_certs
        self._user_agents = []
        self.base_url = (base_url or "").lower()
        self._client = _native.Client(self._settings())
        if interval is not None:
            self.config.__dict__["rpc_attempt_interval"] = int(interval)
        self.config.server = self._client.server
        scheme, _, rest = self.base_url.partition("://")
        self.config.scheme = scheme
        self.config.api_path = "/" + "/".join(
            [p for p in rest.split("/")[1:-1] if p] + ["api3", "json"]
        )
        if http_proxy:
            proxy = http_proxy.rsplit("@", 1)
            if len(proxy) > 1:
                self.config.proxy_user, self.config.proxy_pass = proxy[0].split(":", 1)
            host, _, port = proxy[-1].partition(":")
            self.config.proxy_server = host
            self.config.proxy_port = int(port) if port else 8080
        self._server_caps = None
        if connect or auth_token is not None:
            # connect: shotgun_api3 reads server_caps now. auth_token: it exchanges the 2FA
            # code for a session token at once, as the code is short-lived.
            self._client.connect()

    def _settings(self):
        c = self.config
        return {
            "base_url": self._raw_base_url,
            "script_name": c.script_name,
            "api_key": c.api_key,
            "login": c.user_login,
            "password": c.user_password,
            "auth_token": c.auth_token,
            "session_token": c.session_token,
            "sudo_as_login": c.sudo_as_login,
            "session_uuid": c.session_uuid,
            "http_proxy": c.raw_http_proxy,
            "ca_certs": self._ca_certs,
            "convert_datetimes_to_utc": c.convert_datetimes_to_utc,
            "timeout_secs": c.timeout_secs,
            "rpc_attempt_interval": c.rpc_attempt_interval,
            "localized": c.localized,
            "extra_auth_params": c.extra_auth_params,
            "user_agent_extra": list(self._user_agents),
        }

    def __repr__(self):
        return "<shotgun_api3.Shotgun (sgeventd stand-in) %s>" % self.base_url

    # Server information ---------------------------------------------------------------------

    @property
    def server_caps(self):
        if self._server_caps is None:
            version, is_dev, per_page, info = self._client.server_caps()
            self._server_caps = ServerCapabilities(
                self.config.server, version, is_dev, per_page, info
            )
        return self._server_caps

    @property
    def server_info(self):
        return self.server_caps.server_info

    def connect(self):
        self._client.connect()

    def close(self):
        self._client.close()
        self._server_caps = None

    def info(self):
        return self._client.info()

    # Reading ----------------------------------------------------------------------------------

    def find(
        self,
        entity_type,
        filters,
        fields=None,
        order=None,
        filter_operator=None,
        limit=0,
        retired_only=False,
        page=0,
        include_archived_projects=True,
        additional_filter_presets=None,
    ):
        if not isinstance(limit, int) or limit < 0:
            raise ValueError("limit parameter must be a positive integer")
        if not isinstance(page, int) or page < 0:
            raise ValueError("page parameter must be a positive integer")
        _check_filters(filters, filter_operator)
        return self._client.find(
            entity_type,
            filters,
            fields,
            order,
            filter_operator,
            limit,
            bool(retired_only),
            page,
            bool(include_archived_projects),
            additional_filter_presets,
        )

    def find_one(
        self,
        entity_type,
        filters,
        fields=None,
        order=None,
        filter_operator=None,
        retired_only=False,
        include_archived_projects=True,
        additional_filter_presets=None,
    ):
        _check_filters(filters, filter_operator)
        return self._client.find_one(
            entity_type,
            filters,
            fields,
            order,
            filter_operator,
            bool(retired_only),
            bool(include_archived_projects),
            additional_filter_presets,
        )

    def summarize(
        self,
        entity_type,
        filters,
        summary_fields,
        filter_operator=None,
        grouping=None,
        include_archived_projects=True,
    ):
        _check_filters(filters, filter_operator)
        return self._client.summarize(
            entity_type,
            filters,
            summary_fields,
            filter_operator,
            grouping,
            bool(include_archived_projects),
        )

    def text_search(self, text, entity_types, project_ids=None, limit=None):
        return self._client.text_search(text, entity_types, project_ids, limit)

    # Writing ----------------------------------------------------------------------------------

    def create(self, entity_type, data, return_fields=None):
        return self._client.create(entity_type, data, return_fields)

    def update(self, entity_type, entity_id, data, multi_entity_update_modes=None):
        return self._client.update(entity_type, entity_id, data, multi_entity_update_modes)

    def delete(self, entity_type, entity_id):
        return self._client.delete(entity_type, entity_id)

    def revive(self, entity_type, entity_id):
        return self._client.revive(entity_type, entity_id)

    def batch(self, requests):
        return self._client.batch(requests)

    # Schema -----------------------------------------------------------------------------------

    def schema_read(self, project_entity=None):
        return self._client.schema_read(project_entity)

    def schema_field_read(self, entity_type, field_name=None, project_entity=None):
        return self._client.schema_field_read(entity_type, field_name, project_entity)

    def schema_entity_read(self, project_entity=None):
        return self._client.schema_entity_read(project_entity)

    def schema(self, entity_type):
        raise ShotgunError("Deprecated: use schema_field_read('type':'%s') instead" % entity_type)

    def entity_types(self):
        raise ShotgunError("Deprecated: use schema_entity_read() instead")

    # Session ----------------------------------------------------------------------------------

    def get_session_token(self):
        return self._client.get_session_token()

    def set_session_uuid(self, session_uuid):
        self.config.session_uuid = session_uuid

    def add_user_agent(self, agent):
        self._user_agents.append(agent)
        self._client.reconfigure(self._settings())

    def reset_user_agent(self):
        self._user_agents = []
        self._client.reconfigure(self._settings())

    # Everything else, for methods the stand-in does not wrap: params as shotgun_api3 would
    # send them (the auth dict is added).
    def _call_rpc(self, method, params, include_auth_params=True, first=False):
        return self._client.call(method, params)


for _name in _UNSUPPORTED:
    setattr(Shotgun, _name, _unsupported(_name))
del _name


def _check_filters(filters, filter_operator):
    if not isinstance(filters, (list, tuple)) and filter_operator:
        raise ShotgunError(
            "Deprecated: Use of filter_operator for find() is not valid any more. "
            "See the documentation on find()"
        )
