"""Package data: survey catalogs (catalogs/), the municipality and prefecture masters, and the
published figures the demo imitates (demo/). Read through kokuho.config.data_dir()."""
