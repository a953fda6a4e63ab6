"""Putting a backup back: the request, the guards that refuse a wrong target, the source, the DCS calls."""
