"""okx_cli: the ``okx-flows`` command, one module per command."""
