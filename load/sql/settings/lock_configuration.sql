-- Setting (kokuho sql): no later SET can undo the ones before it.
SET lock_configuration = true;
