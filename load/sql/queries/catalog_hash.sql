-- The fingerprint of the catalog last synced for a survey ($survey_id); no row for a new survey.
SELECT catalog_hash FROM surveys WHERE survey_id = $survey_id;
