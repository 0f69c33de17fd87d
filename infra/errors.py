"""The one user-facing error (every room raises it), in a module of its own so the CLI can catch it without
loading the config schemas (pydantic, YAML) when a render reads a cached trace."""


class ConfigError(ValueError):
    """A config that cannot be used; str() is the one line a user sees."""
