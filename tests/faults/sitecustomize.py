"""Installs the test faults in a process started with this folder on PYTHONPATH (see kokuho_faults)."""

import kokuho_faults

kokuho_faults.install()
