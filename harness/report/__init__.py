"""What halab tells people: a table on the terminal, the full record as JSON under reports/."""

from halab.report.record import write_record
from halab.report.table import fault_table

__all__ = ["fault_table", "write_record"]
