"""The district's own data: roadmap and campaign calendar, register of schools, workbook layout, label folding."""
