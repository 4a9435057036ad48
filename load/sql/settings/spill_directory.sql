-- Setting (kokuho sql): spills go to the command's private folder ($directory), not beside the warehouse.
SET temp_directory = $directory;
