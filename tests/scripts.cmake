# The Python tools (scripts/compare.py, plot.py, stores_report.py, make_results.py),
# tested on golden Google Benchmark JSON. Debian's pytest/scipy/matplotlib belong to
# /usr/bin/python3, hence the explicit interpreter; no cache is written into the tree.
add_test(NAME python_scripts
  COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${PROJECT_SOURCE_DIR}/scripts/tests)
set_tests_properties(python_scripts PROPERTIES LABELS scripts TIMEOUT 600)  # ~25 s of CPU; a busy CI machine stretches it
