"""Collection: one pass over a drop folder (plan, judge, record), the feedback each school gets, the campaign status."""
