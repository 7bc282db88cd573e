"""Test doubles: stand-ins for the systems Circolo talks to (Moodle as an LTI platform, ...)."""
