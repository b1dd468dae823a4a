"""The post connector: a ``Letter`` in, uploaded to the print shop over a swappable transport.

    connector = PostConnector(SftpTransport(...))   # or DirectoryTransport(Path("var/print"))
    where = await connector.send_letter(letter)      # or PrintShopUnavailable (retryable)
"""

from __future__ import annotations

from pathlib import Path

from connectors.common import TransportConnector
from connectors.post.letter import Letter, letter_files
from connectors.post.transport import DirectoryTransport, PrintTransport, SftpTransport


class PostConnector(TransportConnector[PrintTransport]):
    """Turns the letter into its files (``letter``) and uploads them; start/stop are the transport's."""

    async def send_letter(self, letter: Letter) -> str:
        """Upload the letter's PDF and manifest; where they went."""
        await self.start()  # a consumer built before the daemon's start opens its transport on first use
        return await self._transport.upload(letter_files(letter))


def post_connector(
    *, sftp_host: str | None, sftp_port: int, sftp_user: str | None, sftp_key: str | None,
    sftp_known_hosts: str | None, sftp_dir: str, timeout_s: float, print_dir: Path,
) -> PostConnector:
    """The print shop over SFTP when ``sftp_host`` is set (user, key and known hosts then required, as the
    settings check), else files in ``print_dir`` (the demo)."""
    if sftp_host is None:
        return PostConnector(DirectoryTransport(print_dir))
    assert sftp_user and sftp_key and sftp_known_hosts, "checked by the settings"
    return PostConnector(SftpTransport(
        host=sftp_host, port=sftp_port, user=sftp_user, key_path=Path(sftp_key),
        known_hosts=Path(sftp_known_hosts), remote_dir=sftp_dir, timeout_s=timeout_s,
    ))
