-- Setting (kokuho sql): the only folders a query may read or write ($directories, each ending in a separator).
SET allowed_directories = $directories;
