"""The WSGI entry point: `gunicorn wsgi:app`. The only module-level application."""

import sys

from middleware import create_app
from middleware.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # A configuration mistake is IT's to fix: say what is wrong, without a traceback.
    sys.stderr.write(f"circolo: configuration error: {error}\n")
    sys.exit(78)  # EX_CONFIG
