"""A fake shotgun_api3 for the tests: records how connections are made and used.

Put on sys.path (through hello's [python] path) it must win over sgeventd's stand-in, as the
real package would.
"""

FAKE = True


class ShotgunError(Exception):
    pass


class Fault(ShotgunError):
    pass


class Shotgun(object):
    def __init__(
        self,
        base_url,
        script_name=None,
        api_key=None,
        convert_datetimes_to_utc=True,
        http_proxy=None,
        connect=True,
        **kwargs
    ):
        if connect:
            raise AssertionError("the worker must not connect while loading plugins")
        self.base_url = base_url
        self.script_name = script_name
        self.api_key = api_key
        self.http_proxy = http_proxy
        self.session_uuid = None
        self.calls = []

    def set_session_uuid(self, session_uuid):
        self.session_uuid = session_uuid

    def update(self, entity_type, entity_id, data):
        self.calls.append(("update", entity_type, entity_id, data))
        return dict(data, type=entity_type, id=entity_id)

    def schema_field_read(self, entity_type, field_name=None, project_entity=None):
        raise Fault("the fake site has no schema")

    def find_one(self, *args, **kwargs):
        return None

    def find(self, *args, **kwargs):
        return []

    def describe(self):
        return "url=%s script=%s key=%s proxy=%s session=%s calls=%d" % (
            self.base_url,
            self.script_name,
            self.api_key,
            self.http_proxy,
            self.session_uuid,
            len(self.calls),
        )
