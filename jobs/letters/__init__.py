"""PDF letters to agencies: top risk cells, emerging hot spots and the recommended focus."""
