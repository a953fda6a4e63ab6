"""Starting a backup per target: look (eligible? its records, this request's backup?), then start it once."""
