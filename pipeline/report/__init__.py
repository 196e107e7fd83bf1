"""The final report: aggregate a campaign, draw its charts, render the PDF/HTML and write svod.xlsx."""
