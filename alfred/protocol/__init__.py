"""The search protocol: how workers, cleaners and readers coordinate through files alone.

Internal to alfred (training code imports alfred.utils): the layout of names
(``layout``), listing folders (``listing``), storage names and ids (``storage_names``),
a seed's state (``seed_state``) and the liveness of its holder (``liveness``, ``slurm_jobs``),
the seed's FLAG-file transitions (``flags``), the locks (``locks``), fencing a run
(``fencing``) and the file operations they share (``fsio``). See docs/design.md.
"""
