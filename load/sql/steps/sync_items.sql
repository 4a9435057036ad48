-- Load step (not an object): make items of the surveys in catalog_surveys equal catalog_items (list
-- columns arrive as text: year offsets and condition answers joined by ',').
DELETE FROM items
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, item_id) NOT IN (SELECT (survey_id, item_id) FROM catalog_items);
INSERT OR REPLACE INTO items (survey_id, item_id, position, table_id, section_no, subsection_no, item_no, label,
                              item_type, unit, multiple, minimum, maximum, year_offsets, year_label, applies_group,
                              applies_item, applies_answers, parent_id, published_form, breakdown, previous_item_id)
SELECT survey_id, item_id, position, table_id, section_no, subsection_no, item_no, label, item_type, unit, multiple,
       minimum, maximum, CAST(string_split(year_offsets, ',') AS INTEGER[]), year_label, applies_group,
       applies_item, CASE WHEN applies_answers IS NULL THEN NULL ELSE string_split(applies_answers, ',') END,
       parent_id, published_form, breakdown, previous_item_id
FROM catalog_items;
