"""What one uploaded file may cost to read, and FileProblem, the refusal that says which limit it broke.

Three rings, each bounding what the next one can cost:
1. the upload itself (MAX_BYTES), and for an .xlsx its zip directory, read before anything is inflated
   (entries, declared sizes, compression ratios, nested archives);
2. the streaming parse of the few XML parts we need, with hard limits on nesting, strings, rows and
   cells, checked as the XML arrives rather than after a whole part or row has been built;
3. the child process the reading runs in (crm.imports.budget): a memory and CPU limit set with
   `resource`, and a wall-clock limit kept by the parent, for whatever the first two rings missed.

The bench (`python -m bench.upload_bombs`) prints what each bomb costs under these limits.
"""

from crm.config import MB
from crm.core.transaction import Refusal


class FileProblem(Refusal):
    """The file cannot be read as a table; the message says why, in Chinese."""


# ---- The upload and the table read from it -------------------------------------------------------

# 20 000 rows of a database export (ten columns, 经营范围 included) are about 3 MB as .xlsx and
# 7 MB as CSV; the request itself may carry 20 MB (MAX_CONTENT_LENGTH), form fields included.
MAX_BYTES = 16 * MB
MAX_ROWS = 20_000
MAX_COLUMNS = 80
MAX_CELL = 5000
# The cells of all rows together. An .xlsx stores a repeated text once (shared strings), so a file
# far below MAX_BYTES can unfold into billions of characters: this bounds memory and the batch row.
MAX_TOTAL_CHARS = 10_000_000
# Lines read in all, blank ones included: blank rows do not count toward MAX_ROWS, but a sheet that
# claims a million (mostly empty) rows must not be walked to its end.
MAX_LINES = 100_000
HEADER_SEARCH = 10  # exports often start with a title line or two before the header
# One line of a CSV: 80 cells of MAX_CELL characters are 400 000. csv builds all the cells of a line
# before we keep the first MAX_COLUMNS: a 5 MB line of commas would be 5 million of them.
MAX_LINE_CHARS = 1_000_000

# ---- The .xlsx zip directory (checked before any entry is inflated) ------------------------------

# A workbook saved by Excel, WPS or LibreOffice has about ten entries, plus two or three per sheet and
# one per picture; a thousand leaves room for a few hundred sheets with pictures. Each entry costs
# about 1 KB of directory in memory, so this bounds time more than memory.
MAX_ENTRIES = 1000
# The central directory of MAX_ENTRIES entries with names of ordinary length is well under this.
# zipfile walks the directory by its stated byte size (not its entry count), so bounding the size
# before ZipFile() is what bounds the work of reading the directory.
MAX_DIRECTORY_BYTES = 1 * MB
# All entries together, as the directory declares them. Sheet XML of real data inflates 5–20 times,
# so a 5 MB upload of it stays below this; the bombs of the security finding declared GBs.
MAX_INFLATED = 100 * MB
# Any one part we parse (workbook, styles, shared strings, the sheet). 5 000 rows of 80 columns are
# 23 MB of sheet XML as openpyxl writes it (texts inline), less as Excel does; 20 000 rows of the
# dozen columns an export has, about 10 MB.
MAX_PART = 50 * MB
# Inflated / compressed size of one entry. Deflate tops out near 1 032 : 1, which is what bombs use;
# real files reach several hundred: openpyxl and pandas write repeated texts inline (the 4 000-
# character text repeated 3 120 times of tests/test_imports.py is 632 : 1). So the ratio refuses only
# near-perfect repetition; the declared sizes and the streaming limits bound the rest. Entries under
# RATIO_FLOOR are exempt: they cannot cost much whatever their ratio.
MAX_RATIO = 1000
RATIO_FLOOR = 1 * MB
# We never open nested archives, but a file that carries one is refused rather than half-read (the
# "zip of zips" bomb). Named by suffix, or recognised by the first bytes of the entry.
NESTED_SUFFIXES = (".zip", ".xlsx", ".xlsm", ".xlsb", ".docx", ".pptx", ".jar", ".7z", ".rar", ".gz",
                   ".tgz", ".bz2", ".xz", ".tar", ".cab")  # fmt: skip
NESTED_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")

# ---- The XML, checked as it streams --------------------------------------------------------------

# Sheet XML is about 7 levels deep (worksheet/sheetData/row/c/is/r/t); extensions add a few more.
# Deep nesting costs memory in the parser's stack before any end tag arrives.
MAX_DEPTH = 64
# The longest tag, comment or declaration. expat (2.5, as Python 3.11 bundles it) scans an unfinished
# tag again from its start each time more of it arrives: a 40 MB attribute fed 64 KB at a time kept
# the parse busy past the wall clock. Real tags are well under 1 KB (a long data-validation range
# list a few KB).
MAX_TOKEN = 1 * MB
MAX_SHEETS = 1000
MAX_STYLES = 65_536  # Excel allows 64 000 cell formats
# The shared strings are the workbook's: every sheet's texts, kept in memory while the sheet is read.
# 20 000 rows of 25 columns of distinct texts need 500 000 of them (an export's dozen columns, half
# that); a workbook with more (a wider file, another big sheet beside the one imported) is asked to
# save the sheet on its own or to import in parts.
MAX_SHARED_STRINGS = 500_000
MAX_SHARED_CHARS = 10_000_000
# Excel's own limit for the text of one cell: anything longer was not written by a spreadsheet.
MAX_STRING = 32_767
# Excel's limits for one sheet: columns XFD = 16 384, rows 1 048 576.
MAX_ROW_CELLS = 16_384
MAX_ROW_NUMBER = 1_048_576
# Cells read in all, beyond MAX_COLUMNS included (they are counted, not kept): 20 000 rows of 50
# columns, or 5 000 rows of 80 columns two and a half times over.
MAX_CELLS = 1_000_000
# XML elements in any one part: this is what bounds the time of a parse (expat calls Python for each
# one). A full import written with inline strings (openpyxl, pandas: <c><is><t>) is 1.2 million.
MAX_ELEMENTS = 3_000_000

# ---- The child process that reads the file (crm.imports.budget) ----------------------------------

# Address space the child may add to what it inherits (RLIMIT_AS above its size at fork). 5 000 rows
# of 80 columns add about 32 MB, 20 000 rows of 13 columns 32 MB as .xlsx and 50 MB as a 7 MB CSV, the
# 600 000-shared-strings bomb 33 MB (refused at MAX_SHARED_STRINGS), the CSV bombs (5 MB of text,
# decoded and copied) about 30 MB, every other bomb of the corpus under 2 MB (the bench). By
# estimate the limits above keep any file within about 150 MB (shared strings and cells at their
# limits, a CSV of MAX_BYTES, and the result being sent back).
MEMORY_BUDGET = 256 * MB
# CPU seconds (RLIMIT_CPU) and wall-clock seconds (kept by the parent, which kills the child). On the
# slow, shared development VM 5 000 rows of 80 columns read in 4–6 s, 20 000 rows of 13 columns in
# 2.5 s (.xlsx) and 0.4 s (CSV); the slowest refusal the limits allow (MAX_ELEMENTS) takes about 5 s.
# gunicorn kills a sync worker after 30 s by default: the child is stopped well before.
CPU_SECONDS = 15
WALL_SECONDS = 20
# What the child may send back: at most MAX_TOTAL_CHARS characters of cells (3 bytes each in UTF-8)
# plus a few bytes per cell.
MAX_RESULT_BYTES = 64 * MB
