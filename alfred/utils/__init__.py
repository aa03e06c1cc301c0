"""Utilities for training code: ``from alfred.utils import *``."""
