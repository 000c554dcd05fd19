"""sgeventd's stand-in for shotgun_api3: the project's C++ api3 client under the official names.

The sgeventd worker imports it only when the real shotgun_api3 cannot be imported
(docs/python-plugins.md). It speaks the api3 protocol as shotgun_api3 3.10 does and offers its
reading, writing, schema and session methods; uploads, downloads and the other methods listed
in ``shotgun._UNSUPPORTED`` raise ShotgunError.
"""

from .errors import (
    AuthenticationFault,
    Error,
    Fault,
    MissingTwoFactorAuthenticationFault,
    ProtocolError,
    ResponseError,
    ShotgunError,
    ShotgunFileDownloadError,
    ShotgunThumbnailNotReady,
    UserCredentialsNotAllowedForOxygenAuthenticationFault,
    UserCredentialsNotAllowedForSSOAuthenticationFault,
)
from .sgtimezone import SG_TIMEZONE as sg_timezone
from .shotgun import Shotgun, ServerCapabilities, __version__

# Lets code (and tests) tell the stand-in from the real package.
SGEVENTD_STANDIN = True

__all__ = [
    "AuthenticationFault",
    "Error",
    "Fault",
    "MissingTwoFactorAuthenticationFault",
    "ProtocolError",
    "ResponseError",
    "ServerCapabilities",
    "Shotgun",
    "ShotgunError",
    "ShotgunFileDownloadError",
    "ShotgunThumbnailNotReady",
    "UserCredentialsNotAllowedForOxygenAuthenticationFault",
    "UserCredentialsNotAllowedForSSOAuthenticationFault",
    "sg_timezone",
    "__version__",
]
