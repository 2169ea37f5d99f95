"""One error hierarchy: every failure a person should read derives from BriefingError."""


class BriefingError(Exception):
    """Base class: the message is one line a person can act on."""


class ConfigError(BriefingError):
    """A setting is missing, malformed or out of range."""


class StoreError(BriefingError):
    """The vector store cannot be opened or written."""


class StoreLockedError(StoreError):
    """Another process holds the writer lock on the data directory."""


class EmbeddingMismatchError(StoreError):
    """The collection was built with a different embedding model or dimension."""


class IngestError(BriefingError):
    """A document could not be ingested; the message is the reason recorded for it."""


class DocumentNotFoundError(BriefingError):
    """A document id or path names nothing in the store."""


class ReadOnlyStoreError(StoreError):
    """The data directory cannot be written: reading works, adding or removing does not."""


class DiskFullError(StoreError):
    """A write failed because the disk holding the data directory is full."""


class EarlierVersionError(IngestError):
    """An upload has the name of a document already in the library: replace it or keep both?"""

    def __init__(self, message: str, earlier: list[str]) -> None:
        super().__init__(message)
        #: doc_ids of the earlier documents
        self.earlier = earlier
