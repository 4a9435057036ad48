-- Setting (kokuho sql): no file outside allowed_directories, no extension, no ATTACH.
SET enable_external_access = false;
