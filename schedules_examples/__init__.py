"""Example schedules that run against the demo project (``python -m alfred.demo``)."""
