"""emailtrack: lead emails per point of sale and portal, month by month."""

__version__ = "0.1.0"
