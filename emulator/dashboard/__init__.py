"""The web dashboard at /_emulator/: accounts, jobs, files, presets, notifications."""

from emulator.dashboard.routes import dashboard_router

__all__ = ["dashboard_router"]
