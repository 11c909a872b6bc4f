"""Analyses: each a function of the plan object (offline/plan/query.py) and its own data, returning a report object
or writing its own kind of file (manifests, graphs). None imports another analysis, a change tool or a command."""
