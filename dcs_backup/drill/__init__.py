"""Restore drills: the request, the verdict on a restored key count, and the report a drill answers with."""
