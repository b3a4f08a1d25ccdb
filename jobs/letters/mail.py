"""Send a letter PDF by e-mail through an SMTP server on the loopback interface."""

from __future__ import annotations

import ipaddress
import logging
import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

SMTP_URL_VARIABLE = "BOLJAM_SMTP_URL"
LOOPBACK_NAMES = {"localhost"}


class SmtpConfigError(ValueError):
    """The SMTP server setting is malformed or points outside the loopback interface."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int


def check_loopback(host: str) -> None:
    """Raise SmtpConfigError unless ``host`` is localhost or a loopback address."""
    if host in LOOPBACK_NAMES:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SmtpConfigError(
        f"SMTP host {host!r} is not a loopback address; letters are sent only to a relay "
        "on 127.0.0.1, ::1 or localhost"
    )


def parse_smtp_url(url: str) -> SmtpServer:
    """Parse ``smtp://host:port`` (port 25 when left out) into a loopback SmtpServer."""
    parts = urlsplit(url)
    if parts.scheme != "smtp" or not parts.hostname:
        raise SmtpConfigError(f"invalid SMTP URL {url!r}: use smtp://127.0.0.1:PORT")
    check_loopback(parts.hostname)
    return SmtpServer(parts.hostname, parts.port or 25)


def configured_server(conn_id: str | None) -> SmtpServer | None:
    """Return the SMTP server from $BOLJAM_SMTP_URL or the Airflow connection, or None."""
    url = os.environ.get(SMTP_URL_VARIABLE)
    if url:
        return parse_smtp_url(url)
    if not conn_id:
        return None
    try:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowRuntimeError
    except ImportError:
        return None
    # NOTE: only the environment variable path is tested; the connection lookup needs a
    # running Airflow task context.
    try:
        connection = Connection.get(conn_id)
    except (AirflowNotFoundException, AirflowRuntimeError) as error:
        logger.info("no SMTP connection %s (%s); letters stay in the outbox", conn_id, error)
        return None
    if not connection.host:
        raise SmtpConfigError(f"Airflow connection {conn_id!r} has no host")
    check_loopback(connection.host)
    return SmtpServer(connection.host, connection.port or 25)


def build_message(sender: str, recipient: str, subject: str, body: str, pdf: Path) -> EmailMessage:
    """Return a plain-text e-mail with ``pdf`` attached."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(
        pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name
    )
    return message


def send(server: SmtpServer, message: EmailMessage, timeout: float = 30.0) -> None:
    """Send ``message`` without TLS, which is acceptable only because the host is loopback."""
    check_loopback(server.host)
    with smtplib.SMTP(server.host, server.port, timeout=timeout) as client:
        client.send_message(message)
    logger.info(
        "sent %r to %s through %s:%s", message["Subject"], message["To"], server.host, server.port
    )
