-- A non-negative amount with thousands separators (148507 -> 148,507; 5.7 -> 5.7), for amount_text.
CREATE OR REPLACE MACRO amount_digits(amount) AS
    CASE
        WHEN CAST(amount AS DOUBLE) = round(CAST(amount AS DOUBLE)) THEN format('{:,}', CAST(round(amount) AS BIGINT))
        ELSE format('{:,}', round(CAST(amount AS DOUBLE), 6))
    END;
