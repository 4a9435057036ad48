-- Setting (read-only connections): timestamps are shown in the prefecture's time zone ($timezone).
SET TimeZone = $timezone;
