"""``proud ote``: read and write OTE (CS OTE / CDS) messages with the connector's codec, offline.

``parse FILE`` prints the decoded message as JSON (its ``type`` names the family); ``render TYPE FILE.json``
prints the XML of such a JSON document, after it has passed the family's XSD. An invalid message exits 1
with one line naming the element path (or JSON path) and the value; bad usage exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer

from connectors.ote.codec import MESSAGE_TYPES, XML_BYTES_MAX, decode, encode
from gateway.cli import EXIT_USAGE, fail, guarded
from gateway.errors import MalformedMessage, MessageTooLarge

ote_app = typer.Typer(
    help="OTE messages: decode XML to JSON, render JSON to validated XML.", no_args_is_help=True
)

InputFile = Annotated[
    Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, help="The file to read.")
]


def _read_bounded(path: Path) -> bytes:
    # Never read more than one byte past the limit: a huge file must not be loaded to be refused.
    with path.open("rb") as handle:
        data = handle.read(XML_BYTES_MAX + 1)
    if len(data) > XML_BYTES_MAX:
        raise MessageTooLarge(f"{path} is over XML_BYTES_MAX={XML_BYTES_MAX} bytes")
    return data


@ote_app.command("parse")
def parse_command(path: InputFile) -> None:
    """Decode an OTE XML message and print it as JSON."""
    with guarded():
        message = decode(_read_bounded(path))
    typer.echo(msgspec.json.format(msgspec.json.encode(message), indent=2).decode())


@ote_app.command("render")
def render_command(
    message_type: Annotated[
        str, typer.Argument(metavar="TYPE", help=f"The message family: {', '.join(MESSAGE_TYPES)}.")
    ],
    path: InputFile,
) -> None:
    """Render a JSON message (as `proud ote parse` prints it) to XML, validated against its XSD."""
    struct = MESSAGE_TYPES.get(message_type)
    if struct is None:
        fail(f"unknown message type {message_type!r}; one of: {', '.join(MESSAGE_TYPES)}", EXIT_USAGE)
    with guarded():
        data = _read_bounded(path)
        try:
            message = msgspec.json.decode(data, type=struct)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError; both name the JSON path
            raise MalformedMessage(f"{path}: {exc}") from exc
        xml = encode(message)
    typer.echo(xml, nl=False)


# Registered here, defined apart: the simulator's command pulls in the whole simulator, parse/render do not.
from gateway.cli.ote_simulator import simulator_command  # noqa: E402

ote_app.command("simulator")(simulator_command)
