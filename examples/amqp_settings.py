"""Broker connection settings shared by producer.py and bot.py (pika 1.x).

The broker password never has to be on the command line (where `ps` shows it): it comes from --password-file,
else the AMQP_PASSWORD environment variable, else the password inside the AMQP_URL environment variable. A
password inside --url is refused. Nothing here prints a password: `redacted(url)` is what error messages show.
"""
import os
import ssl
import stat
import sys
import urllib.parse


DEFAULT_URL = "amqp://guest@127.0.0.1:5672/"


def require_pika():
    """pika, or exit with how to get it (imported late so that --help and --dry-run work without it)."""
    try:
        import pika
    except ImportError:
        sys.exit("needs pika 1.x: apt-get install python3-pika (Debian) or pip install pika "
                 "(where another python3 comes first on PATH, run these with /usr/bin/python3)")
    return pika


class SettingsError(Exception):
    """A usage problem with the connection settings (exit status 2)."""


def add_arguments(parser):
    group = parser.add_argument_group("broker")
    group.add_argument("--url", help="amqp[s]://user@host:port/vhost, without the password "
                       f"(default: $AMQP_URL, else {DEFAULT_URL})")
    group.add_argument("--password-file", help="file holding the broker password (default: $AMQP_PASSWORD)")
    group.add_argument("--ca-file", help="CA bundle (PEM) to verify an amqps:// broker")
    group.add_argument("--cert-file", help="client certificate (PEM) for amqps:// mutual TLS")
    group.add_argument("--key-file", help="client private key (PEM) for --cert-file")
    group.add_argument("--connect-timeout", type=float, default=15.0, metavar="SECONDS",
                       help="give up connecting after this long (default 15)")


def warn_if_shared(path, what):
    """Warns (stderr) when a secret file can be read by other users; it still works."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {what} {path} is readable by other users (chmod 600 it)", file=sys.stderr)


def read_secret_file(path, what):
    warn_if_shared(path, what)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read {what} {path}: {error.__class__.__name__}") from None
    text = text.rstrip("\r\n")
    if not text:
        raise SettingsError(f"{what} {path} is empty")
    return text


def redacted(url):
    """The URL without any password, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username is not None:
        netloc = f"{parts.username}@{netloc}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def connection_parameters(args, client_name):
    """pika.ConnectionParameters from the parsed arguments and the environment; raises SettingsError."""
    pika = require_pika()
    from_command_line = args.url is not None
    url = args.url if from_command_line else os.environ.get("AMQP_URL") or DEFAULT_URL
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise SettingsError(f"--url must be amqp:// or amqps://, got {redacted(url)}")
    try:
        port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    except ValueError:
        raise SettingsError("--url has an invalid port") from None
    if not parts.hostname:
        raise SettingsError("--url has no host")
    if parts.password is not None and from_command_line:
        raise SettingsError("put the broker password in --password-file or AMQP_PASSWORD, not in --url "
                            "(the command line is visible to every user of the machine)")
    if args.password_file:
        password = read_secret_file(args.password_file, "password file")
    elif os.environ.get("AMQP_PASSWORD"):
        password = os.environ["AMQP_PASSWORD"]
    elif parts.password is not None:
        password = urllib.parse.unquote(parts.password)
    else:
        raise SettingsError("no broker password: give --password-file FILE or set AMQP_PASSWORD")
    user = urllib.parse.unquote(parts.username) if parts.username else "guest"
    vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"

    ssl_options = None
    if parts.scheme == "amqps":
        context = ssl.create_default_context(cafile=args.ca_file)
        if args.cert_file:
            context.load_cert_chain(args.cert_file, args.key_file)
        ssl_options = pika.SSLOptions(context, server_hostname=parts.hostname)
    elif args.ca_file or args.cert_file:
        raise SettingsError("--ca-file and --cert-file need an amqps:// URL")

    return pika.ConnectionParameters(
        host=parts.hostname, port=port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user, password, erase_on_connect=True),
        ssl_options=ssl_options, heartbeat=30, connection_attempts=1,
        socket_timeout=args.connect_timeout, stack_timeout=args.connect_timeout,
        blocked_connection_timeout=max(30.0, args.connect_timeout),
        client_properties={"connection_name": client_name},
    )


def describe(error):
    """A one-line description of a pika or socket error, without secrets (pika's own texts carry none)."""
    name = error.__class__.__name__
    text = str(error).strip()
    if not text:
        text = repr(error)  # pika's AMQPConnectionError says what failed only in its repr
    return text if text.startswith(name) else f"{name}: {text}"
