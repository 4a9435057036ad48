-- The current answers of every item (check items from responses, typed items from item_responses), one
-- row per municipality with a current accepted file, item and fiscal year asked: the text as written,
-- the parsed value and qualifier, the normalised answer and its option labels (choice, status: joined
-- by '、' in catalog order), the period, 該当なし, the note, and whether the item applies to the
-- municipality (its named group, or its answer to the item the condition names, in the survey year).
CREATE OR REPLACE VIEW item_answers AS
SELECT * FROM item_answer_rows()
ORDER BY fiscal_year, prefecture_code, survey_id, municipality_code, position, value_year;
