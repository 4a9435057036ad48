"""Transform: extracted cells -> typed staging rows and file issues. No Prefect here."""
