-- Template (kokuho export --view): every row of one view (<view>: a quoted schema.name), or of one
-- year (<where>: empty or WHERE fiscal_year = <int literal>).
SELECT * FROM {view}{where}
