"""Command-line tools of the course, as importable modules.

Each ``phase*/<tool>.py`` script is a few lines that call ``run_cli(main)`` of a module here; the
work is done by library functions that the tests call directly.
"""
