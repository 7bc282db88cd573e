"""Peer mentoring: rules decide who to prompt, an outbox delivers once, outcomes prove it works."""
