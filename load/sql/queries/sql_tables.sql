-- Query (not an object): the tables and views `kokuho sql` lists for .tables, views first.
SELECT table_name AS name, CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END AS type
FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = 'main'
ORDER BY table_type DESC, table_name;
