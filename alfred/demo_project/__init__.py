"""The demo project that ``python -m alfred.demo`` copies and runs (main.py is the template)."""
