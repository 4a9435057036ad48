"""The demo: a generator of realistic returned workbooks and the `kokuho demo` command that runs
the whole pipeline over them. A tool on top of the product, not part of it."""
