"""Extract: read returned workbooks (untrusted) into plain cell data, in isolation. No Prefect here."""
