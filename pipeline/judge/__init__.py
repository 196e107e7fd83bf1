"""Judging: raw sheets to typed values, the pandera schemas and the rules, and the verdict on each submission."""
