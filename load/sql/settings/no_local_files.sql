-- Setting (kokuho sql without --out-dir): no local file at all, not even inside the temp folder.
SET disabled_filesystems = 'LocalFileSystem';
