"""Spreadsheets we write: the streaming .xlsx writer, annotated copies of school workbooks, blank templates."""
