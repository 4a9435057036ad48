-- An amount as budget tables print it (千円 and other units alike): thousands separators, △ for a
-- negative (seed 003: △148,507, 16,906,057), decimals only when there are any; NULL stays NULL.
CREATE OR REPLACE MACRO amount_text(amount) AS
    CASE
        WHEN amount IS NULL THEN NULL
        WHEN amount < 0 THEN '△' || amount_digits(-amount)
        ELSE amount_digits(amount)
    END;
