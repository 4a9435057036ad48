-- Template (Excel export's data): the rows of one view for a year and prefecture. <columns>, <view>
-- and <order> are quoted identifiers; <where> compares fiscal_year and prefecture_code with checked
-- literals (load.export_data._where).
SELECT {columns}
FROM {view}{where}{order};
