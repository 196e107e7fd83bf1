"""Intake: find the files in a drop folder, inspect them before any parser, read them in isolated workers."""
