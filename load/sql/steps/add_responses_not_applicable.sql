-- Schema step (not an object): a warehouse created before 該当なし was read gets the column
-- responses.not_applicable (NULL for the files already loaded).
ALTER TABLE responses ADD COLUMN IF NOT EXISTS not_applicable BOOLEAN;
