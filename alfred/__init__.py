"""alfred: hyperparameter searches from folders and FLAG-files, with no server and no database."""

# After the released 0.2 and 0.3, whose projects run unchanged (docs/migrating.md).
__version__ = "0.4.0"
