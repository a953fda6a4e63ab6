"""Development only, never zipped: what tests, benchmarks and the local runner share.

A FunctionGraph-like context, demo mode against the bundled emulator, the emulator seed's ids
and keys, and the probe that runs the packaged function in a fresh CPython 3.12.
"""
