"""The application layer: the command line (and, beside it, flows.py with Prefect); the only code that knows Prefect."""
