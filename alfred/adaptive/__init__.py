"""Adaptive search, the decisions: search spaces, successive halving (stop and promote), model-based sampling.

Pure functions of plain inputs (lists of records, lists of trials, explicit seeds): they read and
write no file, so the protocol layer can call them on a listing and get the same answer in every
process. Optuna is needed only by ``sampling`` (model-based samplers) and ``to_optuna_distributions``.
"""
