"""Execution environments: the processes that run function code."""
