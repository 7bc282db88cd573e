"""Community analytics: the interaction network of a course, its health, and who could help whom.

Pure computation modules take a `CourseActivity` (plain data) and return plain data:
`activity` (input), `graph` (the interaction graph of a view), `metrics` (per person),
`health` (per course, week by week), `candidates` (ambassadors, isolated learners, unanswered
discussions, peers for a question, each with a reason), `analysis` (all views of a course).
`operations` loads the activity from the database and stores the results; `tasks` runs them in
the worker after each sync.
"""
