"""``python -m allocator.cli``: the command line, as the ``allocator`` script."""

from allocator.cli import main

main()
