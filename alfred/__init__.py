"""alfred: hyperparameter searches from folders and FLAG-files, with no server and no database."""

__version__ = "0.1.0"
