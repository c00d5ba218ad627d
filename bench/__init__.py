"""`make bench`: measure (measure, lighthouse, suite), judge and render (report)."""
