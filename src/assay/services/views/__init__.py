"""Read models that pages and endpoints compose from several capabilities: the Label Studio task
list, the data manager's task table, an annotator's My work, and the quality dashboard.

Each reads; none changes labels. They sit above the capabilities they combine (tasks, review,
quality, honeypots, jobs), so no capability imports a view.
"""
