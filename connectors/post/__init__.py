"""Post connector: paper invoices through a print shop (``paper`` accounts).

``letter`` makes a letter's files (the PDF and a JSON manifest with the postal address, written last as the
"done" file); ``transport`` uploads them: ``SftpTransport`` (asyncssh, key login, host key checked) or
``DirectoryTransport`` (the one-box demo); ``PostConnector.send_letter`` ties them. Failures raise
``PrintShopUnavailable`` (retryable).
"""

from connectors.post.connector import PostConnector, post_connector
from connectors.post.letter import Letter, Manifest, PostalAddress, letter_files
from connectors.post.transport import (
    DirectoryTransport,
    PrintShopUnavailable,
    PrintTransport,
    SftpTransport,
)

__all__ = [
    "DirectoryTransport",
    "Letter",
    "Manifest",
    "PostConnector",
    "PostalAddress",
    "PrintShopUnavailable",
    "PrintTransport",
    "SftpTransport",
    "letter_files",
    "post_connector",
]
