"""Why a whole file could not be ingested. The message is shown to a person as it is."""


class UnreadableExport(ValueError):
    """The file cannot be turned into responses; it is quarantined with this message."""
