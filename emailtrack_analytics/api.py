"""The analysts' entry point, kept at this short path for notebooks and scripts:

    from emailtrack_analytics.api import Analytics

The code lives in ``emailtrack_analytics.analytics.api`` (the analytics stage); this module only
re-exports it.
"""

from .analytics.api import Analytics

__all__ = ["Analytics"]
