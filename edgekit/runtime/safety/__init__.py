"""Opening a file no one vouched for: bounds, format, hashes, metadata schema, the child-process probe."""
