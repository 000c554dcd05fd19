"""The exception classes of shotgun_api3 3.10, with its hierarchy and messages.

``Error``, ``ProtocolError`` and ``ResponseError`` are ``xmlrpc.client``'s classes in
shotgun_api3 (not ShotgunError subclasses). They are defined here with the same attributes and
text instead, because importing ``xmlrpc.client`` alone costs about 50 ms.
"""


class ShotgunError(Exception):
    """Base of the errors the client raises itself."""


class ShotgunFileDownloadError(ShotgunError):
    """A download failed (downloads are not available in the stand-in)."""


class ShotgunThumbnailNotReady(ShotgunError):
    """A transient thumbnail was used (thumbnails are not available in the stand-in)."""


class Fault(ShotgunError):
    """The server refused the request."""


class AuthenticationFault(Fault):
    """The server refused the credentials (error_code 102)."""


class MissingTwoFactorAuthenticationFault(Fault):
    """Two-factor authentication is required and no auth_token was given (106)."""


class UserCredentialsNotAllowedForSSOAuthenticationFault(Fault):
    """The site uses SSO: login/password cannot be used (108)."""


class UserCredentialsNotAllowedForOxygenAuthenticationFault(Fault):
    """The site uses Autodesk Identity: login/password cannot be used (110)."""


class Error(Exception):
    """As xmlrpc.client.Error."""

    def __str__(self):
        return repr(self)


class ProtocolError(Error):
    """An HTTP status of 300 or more, as xmlrpc.client.ProtocolError.

    ``response_headers`` (a dict, lower-case names) is the stand-in's addition: the answer's
    headers, e.g. ``retry-after``. ``headers`` is what shotgun_api3 puts there.
    """

    def __init__(self, url, errcode, errmsg, headers, response_headers=None):
        Error.__init__(self)
        self.url = url
        self.errcode = errcode
        self.errmsg = errmsg
        self.headers = headers
        self.response_headers = response_headers or {}

    def __repr__(self):
        return "<%s for %s: %s %s>" % (self.__class__.__name__, self.url, self.errcode, self.errmsg)


class ResponseError(Error):
    """The answer breaks the protocol (not JSON, truncated, too large...)."""


_FAULTS = {
    "Fault": Fault,
    "AuthenticationFault": AuthenticationFault,
    "MissingTwoFactorAuthenticationFault": MissingTwoFactorAuthenticationFault,
    "UserCredentialsNotAllowedForSSOAuthenticationFault": (
        UserCredentialsNotAllowedForSSOAuthenticationFault
    ),
    "UserCredentialsNotAllowedForOxygenAuthenticationFault": (
        UserCredentialsNotAllowedForOxygenAuthenticationFault
    ),
}


def from_native(kind, message, error_code, http_status, server, headers):
    """The exception for one of the C++ client's errors (called by the C++ module)."""
    if kind in _FAULTS:
        return _FAULTS[kind](message)
    if kind == "ValueError":
        return ValueError(message)
    if kind == "ShotgunError":
        return ShotgunError(message)
    if kind == "ProtocolError":
        # The C++ text is "ProtocolError for <server>: <status> <reason>"; errmsg is the reason.
        prefix = "ProtocolError for %s: %d " % (server, http_status)
        errmsg = message[len(prefix):] if message.startswith(prefix) else message
        return ProtocolError(server, http_status, errmsg, "HTTP error from server", dict(headers))
    if kind == "ResponseError":
        return ResponseError(message)
    # Transport failures: what httplib2 lets through shotgun_api3.
    if kind == "Timeout":
        return TimeoutError(message)
    if kind == "TlsError":
        import ssl  # only now: ssl is a slow import and rarely needed

        return ssl.SSLError(message)
    return ConnectionError(message)
